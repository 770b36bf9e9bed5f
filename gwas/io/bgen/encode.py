"""Numba kernels that encode BGEN probability data (callable as plain Python through ``.py_func``).

* :func:`round_rows` — the BGEN spec's probability rounding (largest remainder) for many rows.
* :func:`pack_bits` — consecutive B-bit integers, least-significant bits first.
* :func:`encode_probability_rows` — complete uncompressed layout-2 probability data of a block of
  biallelic, unphased variants with the same samples and ploidy.
"""

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def round_rows(probs, total, out):
    """Round each row of ``probs`` (R, k) to non-negative integers in ``out`` (R, k) summing to ``total``.

    The row is normalised to sum 1, scaled by ``total`` and floored; the shortfall is then given one
    unit at a time to the entries with the largest fractional parts (ties: the earlier entry).
    A row summing to 0 (or less) becomes all zeros.
    """
    rows, k = probs.shape
    frac = np.empty(k)
    for r in range(rows):
        s = 0.0
        for j in range(k):
            s += probs[r, j]
        if not s > 0.0:
            for j in range(k):
                out[r, j] = 0
            continue
        floor_sum = 0
        for j in range(k):
            x = probs[r, j] / s * total
            f = np.floor(x)
            out[r, j] = np.int64(f)
            frac[j] = x - f
            floor_sum += np.int64(f)
        deficit = total - floor_sum
        for _ in range(deficit):
            best = -1
            best_frac = -1.0
            for j in range(k):
                if frac[j] > best_frac:
                    best = j
                    best_frac = frac[j]
            out[r, best] += 1
            frac[best] = -2.0  # each entry is rounded up at most once
    return out


@numba.njit(cache=True, nogil=True)
def pack_bits(values, counts, bits, out):
    """Pack ``values`` (uint32 (n, 2); the first ``counts[i]`` of row i are used) as consecutive
    ``bits``-bit integers, least-significant bits first, into ``out`` (uint8); return bytes used."""
    acc = np.uint64(0)
    filled = 0
    n_out = 0
    mask = np.uint64((1 << bits) - 1)
    for i in range(values.shape[0]):
        for j in range(counts[i]):
            acc |= (np.uint64(values[i, j]) & mask) << np.uint64(filled)
            filled += bits
            while filled >= 8:
                out[n_out] = np.uint8(acc & np.uint64(0xFF))
                n_out += 1
                acc >>= np.uint64(8)
                filled -= 8
    if filled > 0:
        out[n_out] = np.uint8(acc & np.uint64(0xFF))
        n_out += 1
    return n_out


@numba.njit(cache=True, nogil=True)
def encode_probability_rows(stored, ploidy, missing, bits, out):
    """Uncompressed layout-2 probability data of B variants into ``out`` (B, L) uint8.

    stored: uint32 (B, N, 2) stored values (diploid: P(REF/REF), P(REF/ALT); haploid: P(REF)).
    ploidy: uint8 (N,) 1 or 2. missing: bool (B, N) (missing bit set, values written as 0).
    L = 10 + N + ceil(sum(ploidy) * bits / 8). Layout: N uint32, K=2 uint16, min/max ploidy,
    N ploidy bytes, phased=0, bits, packed values.
    """
    n_var, n = stored.shape[0], stored.shape[1]
    pmin = 63
    pmax = 0
    for i in range(n):
        pmin = min(pmin, ploidy[i])
        pmax = max(pmax, ploidy[i])
    counts = ploidy.astype(np.int64)
    zero = np.zeros((n, 2), dtype=np.uint32)
    for v in range(n_var):
        row = out[v]
        row[0] = n & 0xFF
        row[1] = (n >> 8) & 0xFF
        row[2] = (n >> 16) & 0xFF
        row[3] = (n >> 24) & 0xFF
        row[4] = 2
        row[5] = 0
        row[6] = pmin
        row[7] = pmax
        any_missing = False
        for i in range(n):
            if missing[v, i]:
                row[8 + i] = ploidy[i] | 0x80
                any_missing = True
            else:
                row[8 + i] = ploidy[i]
        row[8 + n] = 0
        row[9 + n] = bits
        values = stored[v]
        if any_missing:
            values = zero
            for i in range(n):
                if not missing[v, i]:
                    values[i, 0] = stored[v, i, 0]
                    values[i, 1] = stored[v, i, 1]
                else:
                    values[i, 0] = 0
                    values[i, 1] = 0
        pack_bits(values, counts, bits, row[10 + n:])
    return out
