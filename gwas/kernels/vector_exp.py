"""exp(x) over arrays in loops the compiler can vectorise (Numba here has no vector math library,
so ``math.exp`` runs one value at a time and dominated the GLM kernels' passes).

Method (Cody & Waite 1980 range reduction): x = k ln 2 + r with k = round(x / ln 2) and
|r| <= ln 2 / 2, ln 2 split into a short high part (k ln2_hi exact) and a low part; exp(r) by its
Taylor polynomial to degree 13 (truncation error below 1e-17 relative) in Horner form; 2^k built in
the exponent bits. k is read from the bits of x / ln 2 + 1.5 * 2^52, whose last mantissa bits hold
round(x / ln 2) in two's complement, so no float-to-integer conversion is needed (AVX2 has none
for 64-bit integers). Accuracy: within 2 ulp of the correctly rounded value (tested against
NumPy). Values with |x| > 708 (results near overflow or underflow) go through ``np.exp`` (one value at a time) instead.
"""

import math

import numba
import numpy as np

LOG2E = 1.4426950408889634
#: ln 2 = LN2_HI + LN2_LO, LN2_HI with its last 21 mantissa bits zero (k * LN2_HI exact for |k| < 2^21)
LN2_HI = 0.693145751953125
LN2_LO = 1.4286068203094173e-06
#: 1.5 * 2^52: adding it rounds to an integer held in the last mantissa bits
SHIFTER = 6755399441055744.0
LIMIT = 708.0
#: 1 / j! for j = 0, ..., 13 (module constants: Numba compiles them in, and the Horner form below,
#: written out, vectorises where a loop over a tuple of coefficients did not)
C0, C1, C2, C3, C4, C5, C6, C7, C8, C9, C10, C11, C12, C13 = (1.0 / math.factorial(j) for j in range(14))


@numba.njit(cache=True, fastmath={"contract"})
def exp_into(x, out, scratch):
    """out[i] = exp(x[i]) for i < len(x); ``scratch`` a float64 work array at least as long.
    ``out`` may be ``x`` but then runs 3-4x slower (the compiler cannot prove that the arrays do
    not overlap and keeps the loop scalar); ``scratch`` must be neither."""
    n = x.shape[0]
    bits = scratch[:n].view(np.int64)
    t = scratch[:n]
    extreme = False
    for i in range(n):
        v = x[i]
        extreme |= abs(v) > LIMIT
        shifted = v * LOG2E + SHIFTER
        t[i] = shifted
        k = shifted - SHIFTER
        r = (v - k * LN2_HI) - k * LN2_LO
        out[i] = (((((((((((((C13 * r + C12) * r + C11) * r + C10) * r + C9) * r + C8) * r + C7) * r + C6) * r + C5)
                       * r + C4) * r + C3) * r + C2) * r + C1) * r + C0)
    for i in range(n):
        bits[i] = (bits[i] + 1023) << 52  # 2^k: k + 1023 in the exponent bits
    for i in range(n):
        out[i] *= t[i]
    if extreme:
        for i in range(n):
            if abs(x[i]) > LIMIT or not math.isfinite(x[i]):
                out[i] = np.exp(x[i])
    return out
