"""Mean imputation of missing genotypes, with the allele statistics of the tested samples."""

import numba
import numpy as np


@numba.njit(cache=True, parallel=True, nogil=True)
def mean_impute(dosage, rows, filled):
    """Dosages of the samples ``rows`` (int64 indexes) into ``filled``, with missing values (NaN)
    replaced by the mean of the called ones, as Hail and REGENIE do (plink2 drops missing calls
    instead).

    dosage: float (variants, samples), ALT allele counts; filled: float64 (variants, len(rows)),
    written (a caller's reusable work array: its pages are touched once, not per call). Returns per
    variant: n_called (int64), alt_count (float64, the sum of the called dosages), and of the filled
    row its sum and sum of squares (float64) and whether its values are all equal (bool). A variant
    with no call in ``rows`` is filled with 0 and has n_called 0. One gather pass per variant; a
    second pass over the (cache-resident) row only when a call is missing.
    """
    n_var = dosage.shape[0]
    n = rows.shape[0]
    n_called = np.zeros(n_var, dtype=np.int64)
    alt_count = np.zeros(n_var, dtype=np.float64)
    filled_sum = np.zeros(n_var, dtype=np.float64)
    filled_sq = np.zeros(n_var, dtype=np.float64)
    constant = np.ones(n_var, dtype=np.bool_)
    for v in numba.prange(n_var):  # variants are independent: same result on any thread count
        source, out = dosage[v], filled[v]
        total = square = 0.0
        called = 0
        first = np.nan
        same = True
        for j in range(n):
            x = source[rows[j]]
            out[j] = x
            if x == x:
                if called == 0:
                    first = x
                same &= x == first
                total += x
                square += x * x
                called += 1
        mean = total / called if called > 0 else 0.0
        if called < n:
            for j in range(n):
                if out[j] != out[j]:
                    out[j] = mean
        n_called[v] = called
        alt_count[v] = total
        filled_sum[v] = total + (n - called) * mean
        filled_sq[v] = square + (n - called) * mean * mean
        constant[v] = same
    return n_called, alt_count, filled_sum, filled_sq, constant


def mean_impute_reference(dosage, rows):
    """NumPy version of :func:`mean_impute`: (filled, n_called, alt_count, filled_sum, filled_sq,
    constant)."""
    sub = np.asarray(dosage, dtype=np.float64)[:, rows]
    called = ~np.isnan(sub)
    n_called = called.sum(axis=1)
    alt_count = np.where(called, sub, 0.0).sum(axis=1)
    mean = np.divide(alt_count, n_called, out=np.zeros_like(alt_count), where=n_called > 0)
    filled = np.where(called, sub, mean[:, None])
    constant = np.ptp(filled, axis=1) == 0 if filled.shape[1] else np.ones(filled.shape[0], bool)
    return filled, n_called.astype(np.int64), alt_count, filled.sum(axis=1), (filled * filled).sum(axis=1), constant
