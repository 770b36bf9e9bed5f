"""Numba kernel for the store's dosage encoding; the NumPy definition and reference is
:func:`gwas.store.variables.encode_dosage` (``round(clip(dosage, 0, 4) x 16383)``, NaN -> 65535)."""

import numba
import numpy as np

from gwas.store.variables import DOSAGE_MISSING, DOSAGE_SCALE, MAX_DOSAGE_PLOIDY


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
