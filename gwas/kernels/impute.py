"""Mean imputation of missing genotypes, with the allele statistics of the tested samples."""

import numba
import numpy as np


@numba.njit(cache=True, parallel=True, nogil=True)
def mean_impute(dosage, rows):
    """Dosages of the samples ``rows`` (int64 indexes) with missing values (NaN) replaced by the
    mean of the called ones, as Hail and REGENIE do (plink2 drops missing calls instead).

    dosage: float (variants, samples), ALT allele counts. Returns (filled (variants, len(rows))
    float64, n_called int64, alt_count float64 = sum of called dosages). A variant with no call
    in ``rows`` is filled with 0 and has n_called 0.
    """
    n_var = dosage.shape[0]
    n = rows.shape[0]
    filled = np.empty((n_var, n), dtype=np.float64)
    n_called = np.zeros(n_var, dtype=np.int64)
    alt_count = np.zeros(n_var, dtype=np.float64)
    for v in numba.prange(n_var):  # variants are independent: same result on any thread count
        total = 0.0
        called = 0
        for j in range(n):
            x = dosage[v, rows[j]]
            if not np.isnan(x):
                total += x
                called += 1
        mean = total / called if called > 0 else 0.0
        for j in range(n):
            x = dosage[v, rows[j]]
            filled[v, j] = mean if np.isnan(x) else x
        n_called[v] = called
        alt_count[v] = total
    return filled, n_called, alt_count


def mean_impute_reference(dosage, rows):
    """NumPy version of :func:`mean_impute`."""
    sub = np.asarray(dosage, dtype=np.float64)[:, rows]
    called = ~np.isnan(sub)
    n_called = called.sum(axis=1)
    alt_count = np.where(called, sub, 0.0).sum(axis=1)
    mean = np.divide(alt_count, n_called, out=np.zeros_like(alt_count), where=n_called > 0)
    return np.where(called, sub, mean[:, None]), n_called.astype(np.int64), alt_count

