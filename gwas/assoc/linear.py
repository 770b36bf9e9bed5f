"""Linear regression of many quantitative traits on each variant, with covariates.

Model, per variant and trait: y = X c + g beta + e, e ~ N(0, sigma² I), over the samples where
the trait and every covariate are present (each trait its own samples: PheWAS-style masks).
Missing genotypes are mean-imputed within those samples (Hail's and REGENIE's convention). The
test is the t test of beta = 0 with n - k - 1 degrees of freedom (k covariates including the
intercept) — identical to R's ``lm`` and plink2 ``--glm``.

Computation (Frisch–Waugh–Lovell): for each distinct sample mask the covariates are
orthonormalised once (QR, basis Q zero outside the mask; with an intercept, Q's first column is
the mask / sqrt(n), implicit, and Q's others are the QR of the other covariates centred within the
mask) and its traits residualised (y_r). Then
one pass over the genotypes (:mod:`gwas.kernels.genotype_products`: float dosages, or straight from
.bed records or the store's uint16 codes; matrix products for many traits and masks) gives, for
every variant, the sums each mask needs: <g, y_r>, the called-dosage sums and counts, Q'g, and
the same with the missing-call indicator, so that mean imputation within each mask is exact without
copying the genotypes per mask:
<g_r, g_r> = sum over the mask of g² - |Q'g|² (with an intercept: the centred sum of squares of g
minus |Q'g|² over Q's other columns), beta = <g_r, y_r> / <g_r, g_r>,
sigma² = (<y_r, y_r> - beta <g_r, y_r>) / (n - k - 1), SE = sqrt(sigma² / <g_r, g_r>)
(:func:`gwas.kernels.linear.linear_statistics`). Effect allele: the counted allele of ``dosage`` (ALT).

REGENIE's step-2 form (``score_sigma=``, one value per trait, :mod:`gwas.wgr.step2`): the same
beta = <g_r, y_r> / <g_r, g_r>, but SE = score_sigma / sqrt(<g_r, g_r>) with a residual scale
fixed before the variant (REGENIE: |y - LOCO prediction| / sqrt(n - k)), statistic z = beta / SE
and p from N(0, 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gwas.assoc.design import as_dosage, check_traits, full_rank, mask_groups
from gwas.assoc.results import AssociationResult, ErrorCode, chi2_1df_p, t_test_p
from gwas.io.plink.bed import decode_dosage_kernel
from gwas.kernels.genotype_products import DOSAGE, PACKED, SCALED, TILE, genotype_products_threaded
from gwas.kernels.impute import COLLINEAR_TOLERANCE
from gwas.kernels.linear import linear_statistics
from gwas.store.variables import decode_dosage
from hubscan.errors import InputError


def linear_regression(dosage, traits, covariates=None, add_intercept: bool = True) -> AssociationResult:
    """Test every variant (rows of ``dosage``) against every trait (columns of ``traits``).

    dosage: (variants, samples) ALT dosages or hard calls (0/1/2), NaN = missing.
    traits: (samples, traits) or (samples,), NaN = not in this trait's analysis.
    covariates: (samples, k) or None; an intercept column is added first unless
    ``add_intercept=False``. Returns an :class:`AssociationResult` (statistic = t).
    To test many blocks of variants, prepare the traits once with :func:`linear_model` and call
    its ``test(dosage)`` per block (same results).
    """
    dosage = as_dosage(dosage)
    traits, design, cov_ok = check_traits(traits, covariates, add_intercept, dosage.shape[1])
    return _prepare(traits, design, cov_ok).test(dosage)


def linear_model(traits, covariates=None, add_intercept: bool = True, score_sigma=None) -> LinearModel:
    """The trait side of :func:`linear_regression` (masks, covariate bases, residualised traits),
    computed once; ``.test(dosage)`` then runs one block of variants. ``score_sigma`` (traits,):
    REGENIE's step-2 statistic instead of the t test (module docstring)."""
    model = _prepare(*check_traits(traits, covariates, add_intercept))
    if score_sigma is not None:
        model.score_sigma = np.broadcast_to(np.asarray(score_sigma, dtype=np.float64), (model.n_traits,)).copy()
    return model


@dataclass
class LinearModel:
    """Per distinct sample mask p (``patterns[p]`` = (sample rows, trait columns)): the mask
    (``masks[:, p]``), an orthonormal basis of the covariates on those samples (``bases``, ``kb``
    columns per mask, zero elsewhere; with an ``intercept`` the mask / sqrt(n) is the basis's
    implicit first column and ``bases`` holds the rest), whether it can be tested (``usable``, else
    ``mask_codes[p]``), and every trait residualised on its basis (``y_r``, zero outside its
    samples)."""

    n_traits: int
    k: int
    kb: int
    intercept: bool
    patterns: list
    masks: np.ndarray
    bases: np.ndarray
    y_r: np.ndarray
    usable: np.ndarray
    mask_codes: np.ndarray
    right_t: np.ndarray  # [y_r | masks | bases]' (columns, samples): what the genotypes are multiplied by
    full_masks: np.ndarray  # masks holding every sample
    partial_t: np.ndarray  # the other masks' columns, transposed (masks, samples)
    fused_rows: np.ndarray  # rows of right_t the fused kernel multiplies: all but the full masks'
    fused_t: np.ndarray  # right_t[fused_rows] (a full mask's products are the kernel's row sums)
    score_sigma: np.ndarray | None = None  # per trait: REGENIE's fixed residual scale (module docstring)

    def test(self, dosage) -> AssociationResult:
        """Results for the variants (rows) of ``dosage`` (variants, samples), NaN = missing."""
        return _statistics(self, *_sums(self, as_dosage(dosage, self.masks.shape[0]), DOSAGE))

    def test_bed(self, records) -> AssociationResult:
        """Results for a PLINK .bed block: uint8 (variants, ceil(samples / 4)) SNP-major records of
        the same samples in the same order (2-bit codes, A1 = ALT counted; :mod:`gwas.io.plink.bed`),
        read by the fused kernel without a float64 copy (up to :data:`FUSED_MAX_COLUMNS`). Same
        results as ``test`` of the decoded dosages."""
        return _statistics(self, *_sums(self, records, PACKED))

    def test_scaled(self, codes) -> AssociationResult:
        """Results for the store's ``call_dosage_scaled`` codes, uint16 (variants, samples): ALT
        dosage x 16383, 65535 = missing (:mod:`gwas.store.variables`); the same results as ``test``
        of ``decode_dosage(codes, np.float64)``, without a float copy up to :data:`FUSED_MAX_COLUMNS`."""
        return _statistics(self, *_sums(self, codes, SCALED))


def _prepare(traits, design, cov_ok) -> LinearModel:
    n_tr = traits.shape[1]
    patterns = mask_groups(traits, cov_ok)
    n_samples, k = design.shape
    first = design[cov_ok, 0] if k else np.empty(0)
    intercept = bool(len(first) and first[0] != 0 and (first == first[0]).all())
    kb = k - intercept  # stored basis columns per mask
    masks = np.zeros((n_samples, len(patterns)))
    bases = np.zeros((n_samples, len(patterns) * kb))
    y_r = np.zeros((n_samples, n_tr))
    usable = np.zeros(len(patterns), bool)
    codes = np.zeros(len(patterns), np.int8)
    for p, (rows, cols) in enumerate(patterns):
        masks[rows, p] = 1.0
        c = design[rows]
        if len(rows) - k - 1 <= 0:
            codes[p] = ErrorCode.TOO_FEW_SAMPLES
            continue
        if not full_rank(c):
            codes[p] = ErrorCode.COVARIATES_SINGULAR
            continue
        usable[p] = True
        y = traits[np.ix_(rows, cols)]
        if intercept:  # the basis's first column is the mask / sqrt(n): centre, then the rest
            y = y - y.mean(axis=0)
            c = c[:, 1:] - c[:, 1:].mean(axis=0)
        if kb:
            q = np.linalg.qr(c)[0]
            bases[rows, p * kb:(p + 1) * kb] = q
            y = y - q @ (q.T @ y)
        y_r[np.ix_(rows, cols)] = y
    right_t = np.ascontiguousarray(np.hstack([y_r, masks, bases]).T)
    full = masks.all(axis=0)
    partial_t = np.ascontiguousarray(masks[:, ~full].T)
    fused_rows = np.flatnonzero(np.concatenate([np.zeros(n_tr, bool), full, np.zeros(bases.shape[1], bool)]) == 0)
    return LinearModel(n_tr, k, kb, intercept, patterns, masks, bases, y_r, usable, codes, right_t, full, partial_t,
                       fused_rows, np.ascontiguousarray(right_t[fused_rows]))


#: above this many columns of ``right_t`` (traits + masks x (1 + kb)), BLAS on float64
#: dosages beats the fused kernel (measured crossover near 128 columns at 10,000 samples)
FUSED_MAX_COLUMNS = 128


def _sums(model: LinearModel, codes: np.ndarray, kind: int):
    """The sums of :func:`_statistics` from a block of genotype ``codes`` of ``kind`` (PACKED .bed
    records, SCALED store codes or float64 DOSAGE): in one pass by
    :func:`gwas.kernels.genotype_products.genotype_products_threaded`, or for many columns by matrix
    products on the float64 dosages."""
    n = model.masks.shape[0]
    codes = np.asarray(codes)
    if codes.ndim == 1:
        codes = codes[None, :]
    dtype, width = {PACKED: (np.uint8, (n + 3) // 4), SCALED: (np.uint16, n), DOSAGE: (np.float64, n)}[kind]
    if codes.dtype != dtype or codes.ndim != 2 or codes.shape[1] != width:
        raise InputError(f"expected {np.dtype(dtype).name} (variants, {width}) genotype codes for {n} samples, "
                         f"got {codes.dtype.name} {codes.shape}")
    codes = np.ascontiguousarray(codes)
    n_var, partial_t = codes.shape[0], model.partial_t
    fused = len(model.right_t) <= FUSED_MAX_COLUMNS
    # the kernel always sums the dosages and their squares and counts the missing calls; for many
    # columns, the products with right_t are matrix products on the decoded dosages instead
    kernel_t = model.fused_t if fused else np.empty((0, n))
    g_k, m_k = np.empty((n_var, len(kernel_t))), np.empty((n_var, len(kernel_t)))
    partial_sq, row_sum, row_sq = np.empty((n_var, len(partial_t))), np.empty(n_var), np.empty(n_var)
    n_missing = np.empty(n_var, np.int64)
    genotype_products_threaded(codes, kind, n, kernel_t, partial_t, TILE, g_k, m_k, partial_sq, row_sum, row_sq,
                               n_missing)
    if fused:  # a full mask's products with the dosages and the missing calls: the row sums and counts
        g_prod, m_prod = np.empty((n_var, len(model.right_t))), np.empty((n_var, len(model.right_t)))
        g_prod[:, model.fused_rows], m_prod[:, model.fused_rows] = g_k, m_k
        full_rows = model.n_traits + np.flatnonzero(model.full_masks)
        g_prod[:, full_rows] = row_sum[:, None]
        m_prod[:, full_rows] = n_missing[:, None]
    else:
        g_prod, m_prod = _matrix_products(model, _decoded(codes, kind, n), n_missing.any())
    full = model.full_masks
    sum_sq = np.empty((n_var, len(full)))  # sums of squared called dosages in each mask
    sum_sq[:, full] = row_sq[:, None]
    sum_sq[:, ~full] = partial_sq
    return g_prod, m_prod, sum_sq


def _decoded(codes: np.ndarray, kind: int, n: int) -> np.ndarray:
    """float64 (variants, n) ALT dosages, NaN missing, of ``codes`` (see :func:`_sums`)."""
    if kind == PACKED:
        out = np.empty((codes.shape[0], n))
        decode_dosage_kernel(codes, n, out)
        return out
    return decode_dosage(codes, np.float64) if kind == SCALED else codes


def _matrix_products(model: LinearModel, dosage: np.ndarray, any_missing: bool):
    """g_prod and m_prod of :func:`_statistics` as matrix products over all samples at once (the
    products with the missing-call indicator vanish when no call is missing)."""
    right = model.right_t.T
    if not any_missing:
        g_prod = dosage @ right
        return g_prod, np.zeros_like(g_prod)
    missing = np.isnan(dosage)
    return np.where(missing, 0.0, dosage) @ right, missing.astype(np.float64) @ right


def _statistics(model: LinearModel, g_prod: np.ndarray, m_prod: np.ndarray, sum_sq: np.ndarray) -> AssociationResult:
    """Results from the per-variant sums: g_prod and m_prod (variants, columns of ``right_t``), the
    products of the called dosages (0 where missing) and of the missing-call indicator with
    [y_r | masks | bases], and sum_sq (variants, masks)."""
    n_var, n_tr, k, kb, patterns = g_prod.shape[0], model.n_traits, model.k, model.kb, model.patterns
    masks, y_r, usable = model.masks, model.y_r, model.usable
    out = AssociationResult.empty("linear", n_var, n_tr)
    out.converged[:] = True
    for p, (rows, cols) in enumerate(patterns):
        out.n[:, cols] = len(rows)
        if not model.usable[p]:
            out.error_code[:, cols] = model.mask_codes[p]
    sum_called = g_prod[:, n_tr:n_tr + len(patterns)]  # sum of called dosages in each mask
    n_missing = m_prod[:, n_tr:n_tr + len(patterns)]
    for p, (rows, cols) in enumerate(patterns):
        n = len(rows)
        called = n - n_missing[:, p]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(called > 0, sum_called[:, p] / np.maximum(called, 1), 0.0)
            out.allele_count[:, cols] = sum_called[:, p, None]
            out.allele_frequency[:, cols] = (sum_called[:, p] / (2.0 * called))[:, None]
        if not usable[p]:
            continue
        # Missing calls take the mask's mean: g = g0 + mean * miss on the mask's samples.
        total_sq = sum_sq[:, p] + mean * mean * n_missing[:, p]
        centred_ss = total_sq - (mean * n) ** 2 / n
        basis = slice(n_tr + len(patterns) + p * kb, n_tr + len(patterns) + (p + 1) * kb)
        qtg = g_prod[:, basis] + mean[:, None] * m_prod[:, basis]
        gg = centred_ss if model.intercept else total_sq  # minus the implicit column's part: (sum g)² / n
        if kb:
            gg = gg - np.einsum("ij,ij->i", qtg, qtg)
        codes = np.zeros(n_var, dtype=np.int8)
        codes[gg <= COLLINEAR_TOLERANCE * np.maximum(centred_ss, 1e-300)] = ErrorCode.COLLINEAR
        codes[(centred_ss <= 1e-10 * np.maximum(total_sq, 1.0)) | (called == 0)] = ErrorCode.MONOMORPHIC
        gy = g_prod[:, cols] + mean[:, None] * m_prod[:, cols]
        yy = np.einsum("ij,ij->j", y_r[:, cols], y_r[:, cols])
        df = np.full(len(cols), float(n - k - 1))
        ok = np.repeat((codes == ErrorCode.OK)[:, None], len(cols), axis=1)
        beta, se, t = linear_statistics(gy, np.repeat(gg[:, None], len(cols), axis=1), yy, df, ok)
        if model.score_sigma is None:
            p_value, nlp = t_test_p(t, n - k - 1)
        else:  # REGENIE's step 2: the residual scale fixed before the variant, a z statistic
            with np.errstate(invalid="ignore", divide="ignore"):
                se = np.where(ok, model.score_sigma[cols][None, :] / np.sqrt(gg)[:, None], np.nan)
                t = beta / se
            p_value, nlp = chi2_1df_p(t * t)
        out.beta[:, cols], out.standard_error[:, cols], out.statistic[:, cols] = beta, se, t
        out.p_value[:, cols], out.neg_log10_p[:, cols] = p_value, nlp
        out.error_code[:, cols] = codes[:, None]
    return out
