"""Linear regression of many quantitative traits on each variant, with covariates.

Model, per variant and trait: y = X c + g beta + e, e ~ N(0, sigma² I), over the samples where
the trait and every covariate are present (each trait its own samples: PheWAS-style masks).
Missing genotypes are mean-imputed within those samples (Hail's and REGENIE's convention). The
test is the t test of beta = 0 with n - k - 1 degrees of freedom (k covariates including the
intercept) — identical to R's ``lm`` and plink2 ``--glm``.

Computation (Frisch–Waugh–Lovell): for each distinct sample mask the covariates are
orthonormalised once (QR, basis Q zero outside the mask) and its traits residualised (y_r). Then
one pass of matrix products over all samples gives, for every variant, the sums each mask needs:
<g, y_r>, the called-dosage sums and counts, Q'g, and the same with the missing-call indicator, so
that mean imputation within each mask is exact without copying the genotypes per mask:
<g_r, g_r> = sum over the mask of g² - |Q'g|², beta = <g_r, y_r> / <g_r, g_r>,
sigma² = (<y_r, y_r> - beta <g_r, y_r>) / (n - k - 1), SE = sqrt(sigma² / <g_r, g_r>)
(:func:`gwas.kernels.linear.linear_statistics`). Effect allele: the counted allele of ``dosage`` (ALT).
"""

from __future__ import annotations

import numpy as np

from gwas.assoc.design import COLLINEAR_TOLERANCE, check_inputs, full_rank, mask_groups
from gwas.assoc.results import AssociationResult, ErrorCode, t_test_p
from gwas.kernels.linear import linear_statistics


def linear_regression(dosage, traits, covariates=None, add_intercept: bool = True) -> AssociationResult:
    """Test every variant (rows of ``dosage``) against every trait (columns of ``traits``).

    dosage: (variants, samples) ALT dosages or hard calls (0/1/2), NaN = missing.
    traits: (samples, traits) or (samples,), NaN = not in this trait's analysis.
    covariates: (samples, k) or None; an intercept column is added first unless
    ``add_intercept=False``. Returns an :class:`AssociationResult` (statistic = t).
    """
    dosage, traits, design, cov_ok = check_inputs(dosage, traits, covariates, add_intercept)
    n_var, n_tr = dosage.shape[0], traits.shape[1]
    out = AssociationResult.empty("linear", n_var, n_tr)
    out.converged[:] = True
    patterns = mask_groups(traits, cov_ok)
    n_samples, k = design.shape
    # Per pattern p: its sample mask, an orthonormal basis Q_p of the covariates on those samples
    # (zero elsewhere), and each trait residualised on Q_p (zero outside its samples).
    masks = np.zeros((n_samples, len(patterns)))
    bases = np.zeros((n_samples, len(patterns) * k))
    y_r = np.zeros((n_samples, n_tr))
    usable = np.zeros(len(patterns), bool)
    for p, (rows, cols) in enumerate(patterns):
        masks[rows, p] = 1.0
        c = design[rows]
        out.n[:, cols] = len(rows)
        if len(rows) - k - 1 <= 0:
            out.error_code[:, cols] = ErrorCode.TOO_FEW_SAMPLES
            continue
        if not full_rank(c):
            out.error_code[:, cols] = ErrorCode.COVARIATES_SINGULAR
            continue
        usable[p] = True
        y = traits[np.ix_(rows, cols)]
        if k:
            q = np.linalg.qr(c)[0]
            bases[rows, p * k:(p + 1) * k] = q
            y = y - q @ (q.T @ y)
        y_r[np.ix_(rows, cols)] = y
    missing = np.isnan(dosage)
    any_missing = bool(missing.any())
    g0 = np.where(missing, 0.0, dosage) if any_missing else dosage
    # Every sum the statistics need, as matrix products over all samples at once (the products
    # with the missing-call indicator vanish when no call is missing).
    right = np.hstack([y_r, masks, bases])
    g_prod = g0 @ right
    m_prod = missing.astype(np.float64) @ right if any_missing else np.zeros_like(g_prod)
    sum_called = g_prod[:, n_tr:n_tr + len(patterns)]  # sum of called dosages in each mask
    n_missing = m_prod[:, n_tr:n_tr + len(patterns)]
    sum_sq = (g0 * g0) @ masks
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
        qtg = g_prod[:, n_tr + len(patterns) + p * k: n_tr + len(patterns) + (p + 1) * k] \
            + mean[:, None] * m_prod[:, n_tr + len(patterns) + p * k: n_tr + len(patterns) + (p + 1) * k]
        gg = total_sq - np.einsum("ij,ij->i", qtg, qtg) if k else total_sq
        codes = np.zeros(n_var, dtype=np.int8)
        codes[gg <= COLLINEAR_TOLERANCE * np.maximum(centred_ss, 1e-300)] = ErrorCode.COLLINEAR
        codes[(centred_ss <= 1e-10 * np.maximum(total_sq, 1.0)) | (called == 0)] = ErrorCode.MONOMORPHIC
        gy = g_prod[:, cols] + mean[:, None] * m_prod[:, cols]
        yy = np.einsum("ij,ij->j", y_r[:, cols], y_r[:, cols])
        df = np.full(len(cols), float(n - k - 1))
        ok = np.repeat((codes == ErrorCode.OK)[:, None], len(cols), axis=1)
        beta, se, t = linear_statistics(gy, np.repeat(gg[:, None], len(cols), axis=1), yy, df, ok)
        p_value, nlp = t_test_p(t, n - k - 1)
        out.beta[:, cols], out.standard_error[:, cols], out.statistic[:, cols] = beta, se, t
        out.p_value[:, cols], out.neg_log10_p[:, cols] = p_value, nlp
        out.error_code[:, cols] = codes[:, None]
    return out
