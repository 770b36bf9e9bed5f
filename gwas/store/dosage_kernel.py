"""Numba kernel for the store's dosage encoding; the NumPy definition and reference is
:func:`gwas.store.variables.encode_dosage` (``round(clip(dosage, 0, 4) x 16383)``, NaN -> 65535)."""

import numba
import numpy as np

from gwas.store.variables import DOSAGE_MISSING, DOSAGE_SCALE, HARD_CALL_DISTANCE, MAX_DOSAGE_PLOIDY


@numba.njit(cache=True, nogil=True)
def encode_one(d):
    """One float dosage (NaN = missing) -> its uint16 store code."""
    if np.isnan(d):
        return np.uint16(DOSAGE_MISSING)
    return np.uint16(np.rint(min(max(d, 0.0), float(MAX_DOSAGE_PLOIDY)) * DOSAGE_SCALE))


@numba.njit(cache=True, nogil=True)
def encode_dosage_kernel(dosage, out):
    """dosage float64 (v, s), NaN = missing -> fills out uint16 (v, s); one pass, no temporaries."""
    for v in range(dosage.shape[0]):
        for s in range(dosage.shape[1]):
            out[v, s] = encode_one(dosage[v, s])


def encode_dosage_fast(dosage: np.ndarray) -> np.ndarray:
    """(variants, samples) float dosages -> uint16 store encoding, equal to ``encode_dosage``."""
    d = np.ascontiguousarray(dosage, dtype=np.float64)
    out = np.empty(d.shape, dtype=np.uint16)
    encode_dosage_kernel(d, out)
    return out


#: largest distance of a dosage code from a genotype's code still giving a hard call (0.1 x 16383)
HARD_CALL_CODES = int(HARD_CALL_DISTANCE * DOSAGE_SCALE)


@numba.njit(cache=True, nogil=True)
def hard_call_kernel(codes, ploidy, gt, mask, phased):
    """Hard calls of dosage codes (uint16 (v, s)) with the samples' ploidies (int (v, s)): the
    nearest genotype k when the dosage is within ``HARD_CALL_DISTANCE`` of it, else missing
    (plink2's ``--hard-call-threshold``). Diploid: k ALT alleles last ([0, 0], [0, 1], [1, 1]);
    haploid: [k, -2]; missing: -1 in each called slot; ploidy above 2: missing. Fills gt int8
    (v, s, 2), mask (gt < 0) and phased (False)."""
    for v in range(codes.shape[0]):
        for s in range(codes.shape[1]):
            c = codes[v, s]
            z = ploidy[v, s]
            k = -1
            if c != DOSAGE_MISSING and z <= 2:
                k = (int(c) + DOSAGE_SCALE // 2) // DOSAGE_SCALE
                if abs(int(c) - k * DOSAGE_SCALE) > HARD_CALL_CODES or k > z:
                    k = -1
            if z == 1:
                gt[v, s, 0] = k
                gt[v, s, 1] = -2
            elif k < 0:
                gt[v, s, 0] = -1
                gt[v, s, 1] = -1
            else:
                gt[v, s, 0] = 1 if k == 2 else 0
                gt[v, s, 1] = 1 if k >= 1 else 0
            mask[v, s, 0] = gt[v, s, 0] < 0
            mask[v, s, 1] = gt[v, s, 1] < 0
            phased[v, s] = False


def hard_calls(codes: np.ndarray, ploidy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(call_genotype, call_genotype_mask, call_genotype_phased) of dosage codes (see
    :func:`hard_call_kernel`); ``ploidy`` broadcast to the codes' shape."""
    codes = np.ascontiguousarray(codes, dtype=np.uint16)
    ploidy = np.broadcast_to(np.asarray(ploidy, dtype=np.int8), codes.shape)
    gt = np.empty((*codes.shape, 2), np.int8)
    mask = np.empty((*codes.shape, 2), np.bool_)
    phased = np.empty(codes.shape, np.bool_)
    hard_call_kernel(codes, ploidy, gt, mask, phased)
    return gt, mask, phased
