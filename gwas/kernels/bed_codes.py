"""PLINK 1 ``.bed`` records read in place: the store's dosage codes and allele counts, straight
from the (memory-mapped) 2-bit codes.

A ``.bed`` record holds ``ceil(n_samples / 4)`` bytes, four samples per byte, the first in the two
lowest bits (:mod:`gwas.io.plink.bed`): 00 homozygous A1, 01 missing, 10 heterozygous, 11
homozygous A2. A1 is the ALT (tested) allele, as in the store and in plink2.

Ploidy as at ingest (:mod:`gwas.ingest.plink`): a row's ``mode`` is DIPLOID, HAPLOID_MALES (X, Y:
males' homozygous calls are haploid) or HAPLOID_ALL (MT). A haploid homozygous A1 call is one ALT
copy (dosage 1, ploidy 1); a heterozygous call stays diploid (dosage 1, ploidy 2); a missing call
stays missing. So the codes a scan reads equal the store's ``call_dosage_scaled`` of an ingested
``.bed`` exactly (0, 16383, 32766, 65535 missing), and :func:`bed_allele_sums` gives the exact
integer sums the store's ALT frequency and call rate are computed from (:mod:`gwas.store.stats`).

Kernels: :func:`bed_scaled_codes` (parallel over variants), :func:`bed_allele_sums`; NumPy
references :func:`bed_scaled_codes_reference`, :func:`bed_allele_sums_reference`.
"""

import numba
import numpy as np

from gwas.store.variables import DOSAGE_MISSING, DOSAGE_SCALE

DIPLOID, HAPLOID_MALES, HAPLOID_ALL = 0, 1, 2
#: code -> store dosage code, diploid and haploid calls
DIPLOID_CODES = np.array([2 * DOSAGE_SCALE, DOSAGE_MISSING, DOSAGE_SCALE, 0], dtype=np.uint16)
HAPLOID_CODES = np.array([DOSAGE_SCALE, DOSAGE_MISSING, DOSAGE_SCALE, 0], dtype=np.uint16)
#: code -> (ALT copies, ploidy) of a called diploid / haploid sample (missing: 0, 0)
_ALT = np.array([[2, 0, 1, 0], [1, 0, 1, 0]], dtype=np.int64)
_PLOIDY = np.array([[2, 0, 2, 2], [1, 0, 2, 1]], dtype=np.int64)
#: per byte value (four samples): A1 copies and missing calls of its four diploid samples
_CODES_OF_BYTE = (np.arange(256)[:, None] >> np.array([0, 2, 4, 6])) & 3
BYTE_ALT = _ALT[0][_CODES_OF_BYTE].sum(axis=1)
BYTE_MISSING = (_CODES_OF_BYTE == 1).sum(axis=1).astype(np.int64)


#: per byte value: the diploid dosage codes of its four samples
BYTE_DIPLOID_CODES = DIPLOID_CODES[_CODES_OF_BYTE]


@numba.njit(cache=True, nogil=True, parallel=True)
def bed_scaled_codes(raw, rows, cols, modes, male, out):
    """raw uint8 (variants, bytes per record); rows int64 (k,) records to read; cols int64 (m,)
    samples to keep; modes int8 (k,) ploidy mode per read row; male bool (m,) per kept sample ->
    out uint16 (k, m) store dosage codes (see the module docstring). Diploid rows of every sample
    in file order (cols = 0 .. m-1) are decoded a byte (four samples) at a time."""
    diploid = DIPLOID_CODES
    haploid = HAPLOID_CODES
    by_byte = BYTE_DIPLOID_CODES
    m = cols.shape[0]
    in_order = m > 0 and cols[0] == 0 and cols[m - 1] == m - 1
    if in_order:
        for j in range(m):
            if cols[j] != j:
                in_order = False
                break
    for i in numba.prange(rows.shape[0]):
        rec = raw[rows[i]]
        dst = out[i]
        mode = modes[i]
        if mode == DIPLOID and in_order:
            full = m // 4
            for b in range(full):
                codes = by_byte[rec[b]]
                dst[4 * b] = codes[0]
                dst[4 * b + 1] = codes[1]
                dst[4 * b + 2] = codes[2]
                dst[4 * b + 3] = codes[3]
            for s in range(4 * full, m):
                dst[s] = diploid[(rec[s >> 2] >> ((s & 3) << 1)) & 3]
        elif mode == DIPLOID:
            for j in range(cols.shape[0]):
                s = cols[j]
                dst[j] = diploid[(rec[s >> 2] >> ((s & 3) << 1)) & 3]
        else:
            for j in range(cols.shape[0]):
                s = cols[j]
                code = (rec[s >> 2] >> ((s & 3) << 1)) & 3
                dst[j] = haploid[code] if (mode == HAPLOID_ALL or male[j]) else diploid[code]


@numba.njit(cache=True, nogil=True, parallel=True)
def bed_allele_sums(raw, n_samples, modes, male, out):
    """raw uint8 (variants, bytes per record), every record; modes int8 (variants,); male bool
    (n_samples,) -> out int64 (variants, 3): ALT copies, ploidy sum and called samples over all
    samples (exact integers). Diploid rows are counted a byte (four samples) at a time."""
    byte_alt = BYTE_ALT
    byte_missing = BYTE_MISSING
    alt_of = _ALT
    ploidy_of = _PLOIDY
    full = n_samples // 4
    for v in numba.prange(raw.shape[0]):
        rec = raw[v]
        alt = 0
        ploidy = 0
        called = 0
        if modes[v] == DIPLOID:
            missing = 0
            for b in range(full):
                alt += byte_alt[rec[b]]
                missing += byte_missing[rec[b]]
            called = 4 * full - missing
            for s in range(4 * full, n_samples):
                code = (rec[s >> 2] >> ((s & 3) << 1)) & 3
                alt += alt_of[0, code]
                called += code != 1
            ploidy = 2 * called
        else:
            for s in range(n_samples):
                code = (rec[s >> 2] >> ((s & 3) << 1)) & 3
                h = 1 if (modes[v] == HAPLOID_ALL or male[s]) else 0
                alt += alt_of[h, code]
                ploidy += ploidy_of[h, code]
                called += code != 1
        out[v, 0] = alt
        out[v, 1] = ploidy
        out[v, 2] = called


def _codes(raw: np.ndarray, n_samples: int) -> np.ndarray:
    return ((raw[:, :, None] >> np.array([0, 2, 4, 6], dtype=np.uint8)) & 3).reshape(raw.shape[0], -1)[:, :n_samples]


def _haploid(modes: np.ndarray, male: np.ndarray) -> np.ndarray:
    return (modes[:, None] == HAPLOID_ALL) | ((modes[:, None] == HAPLOID_MALES) & male[None, :])


def bed_scaled_codes_reference(raw, rows, cols, modes, male) -> np.ndarray:
    """NumPy version of :func:`bed_scaled_codes` (``male`` per kept sample)."""
    codes = _codes(raw[rows], raw.shape[1] * 4)[:, cols]
    return np.where(_haploid(modes, male), HAPLOID_CODES[codes], DIPLOID_CODES[codes])


def bed_allele_sums_reference(raw, n_samples, modes, male) -> np.ndarray:
    """NumPy version of :func:`bed_allele_sums`."""
    codes = _codes(raw, n_samples)
    h = _haploid(modes, male).astype(np.int64)
    return np.stack([_ALT[h, codes].sum(1), _PLOIDY[h, codes].sum(1), (codes != 1).sum(1)], axis=1)
