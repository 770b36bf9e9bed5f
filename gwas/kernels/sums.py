"""Sums over samples that several kernels share."""

import numba

#: fastmath flags of the kernels' sums: reassociation lets a sum over samples use SIMD lanes
#: (deterministic for a given machine), contraction fuses multiply-adds; no other fast-math assumption
FAST = {"reassoc", "contract"}


@numba.njit(cache=True, fastmath=FAST)
def add_row_products(Xt, s, size, r, out, n_rows):
    """out[j] += sum_i X'[j, s + i] r[i] over a chunk of ``size`` samples from column s, for the
    first ``n_rows`` rows of X' (a score X' (y - mu) chunk by chunk); four rows per load of r."""
    j = 0
    while j + 4 <= n_rows:
        x0, x1, x2, x3 = Xt[j, s:s + size], Xt[j + 1, s:s + size], Xt[j + 2, s:s + size], Xt[j + 3, s:s + size]
        a0 = a1 = a2 = a3 = 0.0
        for i in range(size):
            v = r[i]
            a0 += x0[i] * v
            a1 += x1[i] * v
            a2 += x2[i] * v
            a3 += x3[i] * v
        out[j] += a0
        out[j + 1] += a1
        out[j + 2] += a2
        out[j + 3] += a3
        j += 4
    for m in range(j, n_rows):
        xm = Xt[m, s:s + size]
        acc = 0.0
        for i in range(size):
            acc += xm[i] * r[i]
        out[m] += acc
