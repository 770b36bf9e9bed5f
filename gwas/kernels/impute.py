"""Mean imputation of missing genotypes, with the allele statistics of the tested samples and the
checks that decide whether a variant can be tested (monomorphic, collinear with the covariates).

Inputs are ``codes`` (variants, samples) of one kind (:mod:`gwas.kernels.genotype_products`):
DOSAGE, float ALT dosages with NaN = missing, or SCALED, the store's uint16 ``call_dosage_scaled``
(decoded as code / 16383 with 65535 = missing, the values of :func:`gwas.store.variables.decode_dosage`).
"""

import numba
import numpy as np

from gwas.kernels.genotype_products import DOSAGE, SCALED
from gwas.kernels.sums import add_row_products
from gwas.store.variables import DOSAGE_MISSING, DOSAGE_SCALE

#: Relative size below which a genotype's residual sum of squares on the covariates counts as zero.
COLLINEAR_TOLERANCE = 1e-8
#: the ErrorCode values the checks give (gwas.assoc.results.ErrorCode; not imported here, as
#: gwas.assoc imports the kernels)
MONOMORPHIC, COLLINEAR = 1, 2

__all__ = ["DOSAGE", "SCALED", "impute_row", "mean_impute", "genotype_check", "genotype_checks"]


@numba.njit(cache=True, nogil=True)
def impute_row(source, kind, rows, out):
    """One variant: its values at the samples ``rows`` (int64 indexes into ``source``, one row of
    codes of ``kind``) into ``out`` (float64, len(rows)), with missing calls replaced by the mean of
    the called ones, as Hail and REGENIE do (plink2 drops missing calls instead). Returns n_called
    (int), alt_count (the sum of the called dosages), the filled row's sum and sum of squares, and
    whether its values are all equal. No call: filled with 0, n_called 0. One gather pass; a second
    pass over the (cache-resident) row only when a call is missing."""
    n = rows.shape[0]
    total = square = 0.0
    called = 0
    first = np.nan
    same = True
    for j in range(n):
        c = source[rows[j]]
        if kind == SCALED:
            x = np.nan if c == DOSAGE_MISSING else c / DOSAGE_SCALE
        else:
            x = np.float64(c)
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
    return called, total, total + (n - called) * mean, square + (n - called) * mean * mean, same


@numba.njit(cache=True, parallel=True, nogil=True)
def mean_impute(codes, kind, rows, filled):
    """:func:`impute_row` for every variant (row of ``codes``) into ``filled`` (float64 (variants,
    len(rows)), written: a caller's reusable work array, its pages touched once, not per call).
    Returns per variant: n_called (int64), alt_count, filled_sum, filled_sq (float64), constant (bool)."""
    n_var = codes.shape[0]
    n_called = np.zeros(n_var, dtype=np.int64)
    alt_count = np.zeros(n_var, dtype=np.float64)
    filled_sum = np.zeros(n_var, dtype=np.float64)
    filled_sq = np.zeros(n_var, dtype=np.float64)
    constant = np.ones(n_var, dtype=np.bool_)
    for v in numba.prange(n_var):  # variants are independent: same result on any thread count
        n_called[v], alt_count[v], filled_sum[v], filled_sq[v], constant[v] = impute_row(codes[v], kind, rows,
                                                                                           filled[v])
    return n_called, alt_count, filled_sum, filled_sq, constant


@numba.njit(cache=True, nogil=True)
def genotype_check(total, total_sq, constant, residual_ss, n):
    """Error code of one variant from the sums over its ``n`` tested samples of the imputed
    genotype (``total``, ``total_sq``), whether it is ``constant``, and its residual sum of squares
    after projecting out the covariates: MONOMORPHIC, COLLINEAR (residual below
    COLLINEAR_TOLERANCE x the centred sum of squares) or 0 (OK)."""
    if constant:
        return MONOMORPHIC
    centred_ss = total_sq - total * total / max(n, 1)
    if residual_ss <= COLLINEAR_TOLERANCE * max(centred_ss, 1e-300):
        return COLLINEAR
    return 0


@numba.njit(cache=True, nogil=True)
def covariate_residual_ss(Ct, g, cc_inv, total_sq, gc):
    """Residual sum of squares of the genotype g (samples) on the covariates C, from C' (k,
    samples), (C'C)⁻¹ and g'g (``total_sq``): g'g - (C'g)' (C'C)⁻¹ (C'g); ``gc`` (k) receives C'g."""
    k, n = Ct.shape
    gc[:] = 0.0
    add_row_products(Ct, 0, n, g, gc, k)
    fitted = 0.0
    for j in range(k):
        s = 0.0
        for m in range(k):
            s += cc_inv[j, m] * gc[m]
        fitted += gc[j] * s
    return total_sq - fitted


@numba.njit(cache=True, parallel=True, nogil=True)
def genotype_checks(filled, Ct, cc_inv, total, total_sq, constant):
    """:func:`genotype_check` of every variant (row of ``filled``, imputed, (variants, samples)),
    its residual sum of squares from :func:`covariate_residual_ss`; int8 (variants)."""
    n_var, n = filled.shape
    codes = np.zeros(n_var, dtype=np.int8)
    for v in numba.prange(n_var):
        gc = np.empty(Ct.shape[0])
        residual = covariate_residual_ss(Ct, filled[v], cc_inv, total_sq[v], gc)
        codes[v] = genotype_check(total[v], total_sq[v], constant[v], residual, n)
    return codes


def mean_impute_reference(dosage, rows):
    """NumPy version of :func:`mean_impute` of DOSAGE codes: (filled, n_called, alt_count,
    filled_sum, filled_sq, constant)."""
    sub = np.asarray(dosage, dtype=np.float64)[:, rows]
    called = ~np.isnan(sub)
    n_called = called.sum(axis=1)
    alt_count = np.where(called, sub, 0.0).sum(axis=1)
    mean = np.divide(alt_count, n_called, out=np.zeros_like(alt_count), where=n_called > 0)
    filled = np.where(called, sub, mean[:, None])
    constant = np.ptp(filled, axis=1) == 0 if filled.shape[1] else np.ones(filled.shape[0], bool)
    return filled, n_called.astype(np.int64), alt_count, filled.sum(axis=1), (filled * filled).sum(axis=1), constant
