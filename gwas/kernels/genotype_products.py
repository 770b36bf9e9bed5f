"""Products of genotype blocks with a cache-resident matrix, in one pass: the per-variant sums of
the linear regression (:mod:`gwas.assoc.linear`), read from compact codes without a float64 copy.

``codes`` (variants, ...) of one ``kind``: PACKED, a PLINK ``.bed`` block (uint8, one record of
``ceil(n_samples / 4)`` bytes per variant, 2-bit codes counting the A1 = ALT allele,
:mod:`gwas.io.plink.bed`); SCALED, the store's ``call_dosage_scaled`` (uint16, ALT dosage x
:data:`~gwas.store.variables.DOSAGE_SCALE`, :data:`~gwas.store.variables.DOSAGE_MISSING` = missing,
decoded as code / 16383 like :func:`~gwas.store.variables.decode_dosage`); DOSAGE, float64 ALT
dosages (NaN = missing). With g0 the ALT dosage, 0 where missing, and miss the missing-call
indicator, per variant v (sums over samples s):

* ``g_prod[v, c] = sum g0[s] right_t[c, s]``
* ``m_prod[v, c] = sum miss[s] right_t[c, s]``
* ``s_prod[v, p] = sum g0[s]² square_t[p, s]``
* ``row_sum[v] = sum g0[s]``, ``row_sq[v] = sum g0[s]²``, ``n_missing[v] = sum miss[s]``

Samples are taken a tile at a time (``tile`` samples, a multiple of 4; :data:`TILE`): each tile of
a chunk of variants is decoded to float64 once, then each column is a dot product over the tile,
four variants and two columns per pass (6 loads feed 8 multiply-adds). Missing calls are
rare: their products are summed only where a tile holds one. A variant's sums do not depend on
the other variants of the block nor on the thread count.
"""

import numba
import numpy as np

from gwas.io.plink.bed import CODE_DOSAGE
from gwas.store.variables import DOSAGE_MISSING, DOSAGE_SCALE
from hubscan.runtime.threads import map_in_threads, thread_slices

#: kinds of ``codes``
PACKED, SCALED, DOSAGE = 0, 1, 2
#: variants decoded together (each tile of ``right_t`` is reused for all of them)
CHUNK = 16
#: samples per tile (a multiple of 4, below 16,384 so that a .bed tile's packed sums fit in
#: STATS_BITS): the decoded tile of a chunk (80 KiB) stays in L2, and for a few columns the tile of
#: ``right_t`` too (measured: 512-640 best from 13 to 650 columns)
TILE = 640

#: per .bed byte (four samples, first in the lowest bits): their ALT dosages (0 where missing), from
#: the .bed decoder's table, and (BYTE_STATS) their sum, sum of squares and missing count packed in
#: one integer, bits 0-15, 16-31 and 32-47 (one load per byte; a tile's totals fit in 16 bits)
_CODES_OF_BYTE = (np.arange(256)[:, None] >> np.array([0, 2, 4, 6])) & 3
BYTE_DOSAGE = np.nan_to_num(CODE_DOSAGE[_CODES_OF_BYTE], nan=0.0)
STATS_BITS = 16
BYTE_STATS = (BYTE_DOSAGE.sum(axis=1).astype(np.int64) | (BYTE_DOSAGE ** 2).sum(axis=1).astype(np.int64) << STATS_BITS
              | np.isnan(CODE_DOSAGE[_CODES_OF_BYTE]).sum(axis=1).astype(np.int64) << 2 * STATS_BITS)


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _decode_tile(codes, kind, v0, nv, t0, width, buf, miss, sums, sq, n_miss):
    """Rows v0 .. v0+nv-1 of ``codes``, samples t0 .. t0+width-1 (t0 a multiple of 4) -> buf[:nv,
    :width] float64 ALT dosages (0 where missing) and, where a row has missing calls in the tile,
    miss[:nv, :width] (1 where missing); adds each row's sum and sum of squares of buf to sums and
    sq and its missing count to n_miss. Returns whether any call is missing. (Every branch types
    for every ``kind``: integer codes are cast with int().)"""
    any_missing = False
    low = (1 << STATS_BITS) - 1
    for j in range(nv):
        row = codes[v0 + j]
        b = buf[j]
        count = 0
        total = 0.0
        squared = 0.0
        if kind == PACKED:
            first = t0 >> 2
            n_bytes = (width + 3) >> 2
            stats = 0
            for i in range(n_bytes):
                byte = int(row[first + i])
                for q in range(4):
                    b[4 * i + q] = BYTE_DOSAGE[byte, q]
                stats += BYTE_STATS[byte]
            total = float(stats & low)
            squared = float((stats >> STATS_BITS) & low)
            count = stats >> 2 * STATS_BITS
            if 4 * n_bytes > width:  # the last byte's padding codes are not samples
                for s in range(width, 4 * n_bytes):
                    x = b[s]
                    total -= x
                    squared -= x * x
                    b[s] = 0.0
                    count -= (int(row[first + (s >> 2)]) >> ((s & 3) << 1)) & 3 == 1
        else:
            for s in range(width):
                c = row[t0 + s]
                nan = c == DOSAGE_MISSING if kind == SCALED else c != c
                x = 0.0 if nan else (c / DOSAGE_SCALE if kind == SCALED else float(c))
                b[s] = x
                total += x
                squared += x * x
                count += nan
        sums[j] += total
        sq[j] += squared
        n_miss[j] += count
        if count > 0:
            any_missing = True
            m = miss[j]
            for s in range(width):
                if kind == PACKED:
                    m[s] = (int(row[(t0 + s) >> 2]) >> (((t0 + s) & 3) << 1)) & 3 == 1
                elif kind == SCALED:
                    m[s] = row[t0 + s] == DOSAGE_MISSING
                else:
                    m[s] = row[t0 + s] != row[t0 + s]
        else:
            miss[j, :width] = 0
    return any_missing


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"}, inline="always")
def _add(out, v, c, a0, a1, a2, a3):
    """out[v + i, c] += a_i for the rows that exist."""
    n_rows = out.shape[0]
    out[v, c] += a0
    if v + 1 < n_rows:
        out[v + 1, c] += a1
    if v + 2 < n_rows:
        out[v + 2, c] += a2
    if v + 3 < n_rows:
        out[v + 3, c] += a3


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _four_dots(buf, j, cols, t0, width, out, v0):
    """out[v0 + j + i, c] += sum over the tile of buf[j + i, s] cols[c, t0 + s] for i < 4 and every
    c (two columns per pass: 6 loads feed 8 multiply-adds); rows past ``out`` are skipped."""
    b0, b1, b2, b3 = buf[j], buf[j + 1], buf[j + 2], buf[j + 3]
    n_cols = cols.shape[0]
    for c in range(0, n_cols - 1, 2):
        r = cols[c, t0:t0 + width]
        q = cols[c + 1, t0:t0 + width]
        a0 = a1 = a2 = a3 = e0 = e1 = e2 = e3 = 0.0
        for s in range(width):
            a0 += b0[s] * r[s]
            a1 += b1[s] * r[s]
            a2 += b2[s] * r[s]
            a3 += b3[s] * r[s]
            e0 += b0[s] * q[s]
            e1 += b1[s] * q[s]
            e2 += b2[s] * q[s]
            e3 += b3[s] * q[s]
        _add(out, v0 + j, c, a0, a1, a2, a3)
        _add(out, v0 + j, c + 1, e0, e1, e2, e3)
    if n_cols % 2:
        r = cols[n_cols - 1, t0:t0 + width]
        a0 = a1 = a2 = a3 = 0.0
        for s in range(width):
            a0 += b0[s] * r[s]
            a1 += b1[s] * r[s]
            a2 += b2[s] * r[s]
            a3 += b3[s] * r[s]
        _add(out, v0 + j, n_cols - 1, a0, a1, a2, a3)


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def genotype_products(codes, kind, n_samples, right_t, square_t, tile, g_prod, m_prod, s_prod, row_sum, row_sq,
                      n_missing):
    """Fill g_prod (V, C), m_prod (V, C), s_prod (V, P), row_sum, row_sq (V,) and n_missing (V,) from
    ``codes`` (V variants; see the module docstring), right_t (C, n_samples) and square_t
    (P, n_samples) float64, C-contiguous; ``tile`` samples at a time (a multiple of 4). One thread
    (the GIL released): :func:`genotype_products_threaded` spreads a block over threads."""
    n_var = codes.shape[0]
    g_prod[:] = 0.0
    m_prod[:] = 0.0
    s_prod[:] = 0.0
    buf = np.zeros((CHUNK, tile))
    squares = np.zeros((CHUNK, tile if len(square_t) else 0))
    miss = np.zeros((CHUNK, tile), dtype=np.uint8)
    sums = np.zeros(CHUNK)
    sq = np.zeros(CHUNK)
    n_miss = np.zeros(CHUNK, dtype=np.int64)
    for v0 in range(0, n_var, CHUNK):
        nv = min(CHUNK, n_var - v0)
        sums[:] = 0.0
        sq[:] = 0.0
        n_miss[:] = 0
        for t0 in range(0, n_samples, tile):
            width = min(tile, n_samples - t0)
            any_missing = _decode_tile(codes, kind, v0, nv, t0, width, buf, miss, sums, sq, n_miss)
            if len(square_t):  # squares of the tile for the masks without every sample
                for j in range(nv):
                    for s in range(width):
                        squares[j, s] = buf[j, s] * buf[j, s]
            for j in range(0, nv, 4):
                _four_dots(buf, j, right_t, t0, width, g_prod, v0)
                _four_dots(squares, j, square_t, t0, width, s_prod, v0)
            if any_missing:
                for j in range(nv):
                    m = miss[j]
                    for s in range(width):
                        if m[s]:
                            for c in range(right_t.shape[0]):
                                m_prod[v0 + j, c] += right_t[c, t0 + s]
        for j in range(nv):
            row_sum[v0 + j] = sums[j]
            row_sq[v0 + j] = sq[j]
            n_missing[v0 + j] = n_miss[j]


#: pieces per thread a block is cut into (each taken by the next free thread)
PIECES_PER_THREAD = 4


def genotype_products_threaded(codes, kind, n_samples, right_t, square_t, tile, g_prod, m_prod, s_prod, row_sum,
                               row_sq, n_missing) -> None:
    """:func:`genotype_products` (same arguments, same results) on Numba's thread count of Python
    threads: the variants are cut into :data:`PIECES_PER_THREAD` pieces per thread, whole chunks
    each, handed to whichever thread is free (on a shared machine, a thread that loses its core
    delays the block by its piece only, and idle threads block instead of spinning)."""
    def run(v):
        genotype_products(codes[v], kind, n_samples, right_t, square_t, tile, g_prod[v], m_prod[v], s_prod[v],
                          row_sum[v], row_sq[v], n_missing[v])

    map_in_threads(run, thread_slices(codes.shape[0], PIECES_PER_THREAD, CHUNK, CHUNK))


def genotype_products_reference(codes, kind, n_samples, right_t, square_t):
    """NumPy version of :func:`genotype_products`: (g_prod, m_prod, s_prod, row_sum, row_sq, n_missing)."""
    if kind == PACKED:
        from gwas.io.plink.bed import decode_reference

        a1 = decode_reference(codes, n_samples)
        dosage = np.where(a1 < 0, np.nan, a1.astype(np.float64))
    elif kind == SCALED:
        dosage = np.where(codes == DOSAGE_MISSING, np.nan, codes / DOSAGE_SCALE)
    else:
        dosage = codes
    miss = np.isnan(dosage)
    g0 = np.where(miss, 0.0, dosage)
    return (g0 @ right_t.T, miss.astype(np.float64) @ right_t.T, (g0 * g0) @ square_t.T, g0.sum(axis=1),
            (g0 * g0).sum(axis=1), miss.sum(axis=1))
