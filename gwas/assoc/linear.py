"""Linear regression of many quantitative traits on each variant, with covariates.

Model, per variant and trait: y = X c + g beta + e, e ~ N(0, sigma² I), over the samples where
the trait and every covariate are present (each trait its own samples: PheWAS-style masks).
Missing genotypes are mean-imputed within those samples (Hail's and REGENIE's convention). The
test is the t test of beta = 0 with n - k - 1 degrees of freedom (k covariates including the
intercept) — identical to R's ``lm`` and plink2 ``--glm``.

Computation (Frisch–Waugh–Lovell): for each distinct sample mask the covariates are
orthonormalised once (QR), the traits and a block of genotypes are residualised by matrix
products, and beta = <g_r, y_r> / <g_r, g_r>, sigma² = (<y_r, y_r> - beta <g_r, y_r>) / (n - k - 1),
SE = sqrt(sigma² / <g_r, g_r>). Effect allele: the counted allele of ``dosage`` (ALT).
"""

from __future__ import annotations

import numpy as np

from gwas.assoc.design import check_inputs, full_rank, genotype_checks, mask_groups
from gwas.assoc.results import AssociationResult, ErrorCode, t_test_p
from gwas.kernels.impute import mean_impute


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
    for rows, cols in mask_groups(traits, cov_ok):
        _linear_group(dosage, traits, design, rows, cols, out)
    return out


def _linear_group(dosage, traits, design, rows, cols, out: AssociationResult) -> None:
    n, k = len(rows), design.shape[1]
    df = n - k - 1
    filled, n_called, alt_count = mean_impute(dosage, rows.astype(np.int64))
    out.n[:, cols] = n
    out.allele_count[:, cols] = alt_count[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        out.allele_frequency[:, cols] = (alt_count / (2.0 * n_called))[:, None]
    if n == 0 or df <= 0:
        out.error_code[:, cols] = ErrorCode.TOO_FEW_SAMPLES
        return
    c = design[rows]
    if not full_rank(c):
        out.error_code[:, cols] = ErrorCode.COVARIATES_SINGULAR
        return
    y = traits[np.ix_(rows, cols)]
    if k:
        q = np.linalg.qr(c)[0]
        y_r = y - q @ (q.T @ y)
        g_r = filled - (filled @ q) @ q.T
    else:
        y_r, g_r = y, filled
    gg = np.einsum("ij,ij->i", g_r, g_r)
    gy = g_r @ y_r
    yy = np.einsum("ij,ij->j", y_r, y_r)
    codes = genotype_checks(filled, gg)
    ok = codes == ErrorCode.OK
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = gy / gg[:, None]
        sigma2 = np.maximum(yy[None, :] - beta * gy, 0.0) / df
        se = np.sqrt(sigma2 / gg[:, None])
        t = beta / se
    p, nlp = t_test_p(t, df)
    bad = ~ok[:, None]
    for name, values in (("beta", beta), ("standard_error", se), ("statistic", t), ("p_value", p),
                         ("neg_log10_p", nlp)):
        getattr(out, name)[:, cols] = np.where(bad, np.nan, values)
    out.error_code[:, cols] = codes[:, None]
