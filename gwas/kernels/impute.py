"""Mean imputation of missing genotypes, with the allele statistics of the tested samples."""

import numba
import numpy as np


@numba.njit(cache=True, parallel=True, nogil=True)
def mean_impute(dosage, rows, filled):
    """Dosages of the samples ``rows`` (int64 indexes) into ``filled``, with missing values (NaN)
    replaced by the mean of the called ones, as Hail and REGENIE do (plink2 drops missing calls
    instead).

    dosage: float (variants, samples), ALT allele counts; filled: float64 (variants, len(rows)),
    written (a caller's reusable work array: its pages are touched once, not per call). Returns
    (n_called int64, alt_count float64 = sum of called dosages) per variant. A variant with no call
    in ``rows`` is filled with 0 and has n_called 0. One gather pass per variant; a second pass over
    the (cache-resident) row only when a call is missing.
    """
    n_var = dosage.shape[0]
    n = rows.shape[0]
    n_called = np.zeros(n_var, dtype=np.int64)
    alt_count = np.zeros(n_var, dtype=np.float64)
    for v in numba.prange(n_var):  # variants are independent: same result on any thread count
        source, out = dosage[v], filled[v]
        total = 0.0
        called = 0
        for j in range(n):
            x = source[rows[j]]
            out[j] = x
            if x == x:
                total += x
                called += 1
        if called < n:
            mean = total / called if called > 0 else 0.0
            for j in range(n):
                if out[j] != out[j]:
                    out[j] = mean
        n_called[v] = called
        alt_count[v] = total
    return n_called, alt_count


def mean_impute_reference(dosage, rows):
    """NumPy version of :func:`mean_impute`: (filled, n_called, alt_count)."""
    sub = np.asarray(dosage, dtype=np.float64)[:, rows]
    called = ~np.isnan(sub)
    n_called = called.sum(axis=1)
    alt_count = np.where(called, sub, 0.0).sum(axis=1)
    mean = np.divide(alt_count, n_called, out=np.zeros_like(alt_count), where=n_called > 0)
    return np.where(called, sub, mean[:, None]), n_called.astype(np.int64), alt_count
