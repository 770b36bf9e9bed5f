"""Logistic and Poisson regression of traits on each variant, with covariates.

Models: logit P(y = 1) = X c + g beta (logistic) and log E[y] = X c + g beta (Poisson), fitted by
Newton–Raphson (max ``max_iter`` iterations, converged when every coefficient moves less than
``tol``: :mod:`gwas.kernels.glm`). Missing genotypes are mean-imputed within the trait's samples.

Tests (``test=``):

* ``"wald"``: z = beta / SE with SE from the inverse Fisher information; p from N(0, 1).
* ``"lrt"``: chi² = 2 (l_full - l_null), 1 df.
* ``"score"`` (Rao): chi² = U² / V at the null fit (no per-variant fit; beta and SE are NaN).
* ``"firth"`` (logistic): Firth's penalized likelihood (Firth 1993; Heinze & Schemper 2002); p from
  the penalized LRT against the constrained null (as logistf and Hail), or with
  ``firth_p="wald"`` from beta / SE of the penalized fit (as plink2 reports).
* ``"firth-fallback"`` (logistic): a fast first test for every variant, then Firth where its p is
  below ``fallback_p`` or it failed; ``firth_used`` marks those rows. ``fallback_first="score"``
  (default, REGENIE's practice): the score test, no per-variant fit, with beta ≈ U/V and
  SE ≈ 1/sqrt(V) (U the score, V its variance at the null fit); ``"wald"`` (plink2's): the Wald test.

Every result carries converged / exploded / iterations and an :class:`ErrorCode` instead of a
silent NaN. Null models (covariates only) are fitted once per trait.
"""

from __future__ import annotations

import numpy as np

from gwas.assoc.design import check_inputs, full_rank, genotype_checks, mask_groups
from gwas.assoc.results import AssociationResult, ErrorCode, chi2_1df_p
from gwas.kernels.glm import LOGISTIC, POISSON, firth_block, newton_fit, wald_lrt_block
from gwas.kernels.impute import mean_impute
from hubscan.errors import ConfigError, InputError

LOGISTIC_TESTS = ("wald", "lrt", "score", "firth", "firth-fallback")
POISSON_TESTS = ("wald", "lrt", "score")


def logistic_regression(dosage, traits, covariates=None, test: str = "wald", add_intercept: bool = True,
                        firth_p: str = "lrt", fallback_p: float = 0.05, fallback_first: str = "score",
                        max_iter: int = 25, firth_max_iter: int = 100, tol: float = 1e-6) -> AssociationResult:
    """Logistic regression of binary traits (0/1, NaN missing) on each variant; see the module docstring.

    dosage (variants, samples); traits (samples, traits) or (samples,); covariates (samples, k) or
    None (intercept added unless ``add_intercept=False``). n_cases / n_controls count the tested samples.
    """
    if test not in LOGISTIC_TESTS:
        raise ConfigError(f"logistic test must be one of {', '.join(LOGISTIC_TESTS)}, got {test!r}")
    if firth_p not in ("lrt", "wald"):
        raise ConfigError(f"firth_p must be 'lrt' or 'wald', got {firth_p!r}")
    if fallback_first not in ("score", "wald"):
        raise ConfigError(f"fallback_first must be 'score' or 'wald', got {fallback_first!r}")
    return _glm(dosage, traits, covariates, add_intercept, LOGISTIC, test,
                dict(firth_p=firth_p, fallback_p=fallback_p, fallback_first=fallback_first, max_iter=max_iter,
                     firth_max_iter=firth_max_iter, tol=tol))


def poisson_regression(dosage, traits, covariates=None, test: str = "wald", add_intercept: bool = True,
                       max_iter: int = 25, tol: float = 1e-6) -> AssociationResult:
    """Poisson regression of count traits (non-negative, NaN missing) on each variant."""
    if test not in POISSON_TESTS:
        raise ConfigError(f"Poisson test must be one of {', '.join(POISSON_TESTS)}, got {test!r}")
    return _glm(dosage, traits, covariates, add_intercept, POISSON, test, dict(max_iter=max_iter, tol=tol))


def _glm(dosage, traits, covariates, add_intercept, family, test, options) -> AssociationResult:
    dosage, traits, design, cov_ok = check_inputs(dosage, traits, covariates, add_intercept)
    _check_values(traits, family)
    out = AssociationResult.empty(f"{'logistic' if family == LOGISTIC else 'poisson'}-{test}",
                                  dosage.shape[0], traits.shape[1])
    for rows, cols in mask_groups(traits, cov_ok):
        filled, n_called, alt_count = mean_impute(dosage, rows.astype(np.int64))
        out.n[:, cols] = len(rows)
        out.allele_count[:, cols] = alt_count[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            out.allele_frequency[:, cols] = (alt_count / (2.0 * n_called))[:, None]
        for t in cols:
            _one_trait(filled, traits[rows, t], design[rows], family, test, options, out, t, add_intercept)
    return out


def _check_values(traits: np.ndarray, family: int) -> None:
    present = traits[~np.isnan(traits)]
    if family == LOGISTIC and not np.isin(present, (0.0, 1.0)).all():
        col = int(np.flatnonzero([~np.isin(c[~np.isnan(c)], (0.0, 1.0)).all() for c in traits.T])[0])
        raise InputError(f"binary trait {col} has values other than 0 and 1 (and missing)")
    if family == POISSON and ((present < 0).any() or (present != np.round(present)).any()):
        raise InputError("count traits must hold non-negative integers (or missing)")


def _one_trait(g, y, c, family, test, options, out: AssociationResult, t: int, intercept: bool) -> None:
    n, k = c.shape
    if family == LOGISTIC:
        out.n_cases[:, t] = int(y.sum())
        out.n_controls[:, t] = int(n - y.sum())
        if y.sum() == 0 or y.sum() == n:
            out.error_code[:, t] = ErrorCode.ONE_CLASS
            return
    if n <= k + 1:
        out.error_code[:, t] = ErrorCode.TOO_FEW_SAMPLES
        return
    if not full_rank(c):
        out.error_code[:, t] = ErrorCode.COVARIATES_SINGULAR
        return
    q = np.linalg.qr(c)[0] if k else np.empty((n, 0))
    residual = g - (g @ q) @ q.T
    codes = genotype_checks(g, np.einsum("ij,ij->i", residual, residual))
    b0 = np.zeros(k)
    if intercept and k:
        mean = y.mean()
        b0[0] = np.log(mean / (1 - mean)) if family == LOGISTIC else np.log(mean)
    b_null, _, ll_null, _, converged, _ = newton_fit(c, y, b0, family, options["max_iter"], options["tol"])
    if not converged:
        out.error_code[:, t] = ErrorCode.NOT_CONVERGED
        return
    first = options.get("fallback_first") if test == "firth-fallback" else None
    if test == "score" or first == "score":
        u, v = _score(c, g, y, b_null, family)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = u * u / v
            beta, se = (u / v, 1 / np.sqrt(v)) if first else (np.nan, np.nan)
        p, nlp = chi2_1df_p(stat)
        _store(out, t, beta, se, stat, p, nlp, True, False, 0, codes)
        if first:
            redo = (codes == ErrorCode.OK) & (p < options["fallback_p"])
            if redo.any():
                _firth(out, t, c, g[redo], y, b_null, options, codes[redo], np.flatnonzero(redo))
    elif test in ("wald", "lrt", "firth-fallback"):
        beta, se, ll, iters, conv, expl = wald_lrt_block(c, g, y, b_null, family, options["max_iter"], options["tol"])
        stat = (beta / se) if test != "lrt" else 2.0 * (ll - ll_null)
        p, nlp = chi2_1df_p(stat ** 2 if test != "lrt" else stat)
        _store(out, t, beta, se, stat, p, nlp, conv, expl, iters, codes)
        if test == "firth-fallback":
            redo = (codes == ErrorCode.OK) & (~conv | (p < options["fallback_p"]))
            if redo.any():
                _firth(out, t, c, g[redo], y, b_null, options, codes[redo], np.flatnonzero(redo))
    else:
        _firth(out, t, c, g, y, b_null, options, codes, np.arange(g.shape[0]))


def _firth(out, t, c, g, y, b_null, options, codes, where) -> None:
    beta, se, chi2, iters, conv, expl = firth_block(c, g, y, b_null, options["firth_max_iter"], options["tol"])
    if options["firth_p"] == "wald":
        stat = beta / se
        p, nlp = chi2_1df_p(stat ** 2)
    else:
        stat = chi2
        p, nlp = chi2_1df_p(chi2)
    _store(out, t, beta, se, stat, p, nlp, conv, expl, iters, codes, where)
    out.firth_used[where, t] = True


def _store(out, t, beta, se, stat, p, nlp, conv, expl, iters, codes, where=slice(None)) -> None:
    ok = codes == ErrorCode.OK
    conv = np.broadcast_to(conv, ok.shape)
    expl = np.broadcast_to(expl, ok.shape)
    fit_code = np.where(expl, ErrorCode.EXPLODED, np.where(conv, ErrorCode.OK, ErrorCode.NOT_CONVERGED))
    final = np.where(ok, fit_code, codes).astype(np.int8)
    good = final == ErrorCode.OK
    for name, values in (("beta", beta), ("standard_error", se), ("statistic", stat), ("p_value", p),
                         ("neg_log10_p", nlp)):
        getattr(out, name)[where, t] = np.where(good, np.broadcast_to(values, ok.shape), np.nan)
    out.error_code[where, t] = final
    out.converged[where, t] = conv & ok
    out.exploded[where, t] = expl & ok
    out.iterations[where, t] = np.broadcast_to(iters, ok.shape)


def _score(c, g, y, b_null, family) -> tuple[np.ndarray, np.ndarray]:
    """Score U of each variant at the null fit and its variance V = 1 / [F⁻¹]_gg (the Rao
    statistic is U² / V)."""
    eta = c @ b_null
    mu = 1 / (1 + np.exp(-eta)) if family == LOGISTIC else np.exp(eta)
    w = mu * (1 - mu) if family == LOGISTIC else mu
    u = g @ (y - mu)
    wg = g * w
    gwg = np.einsum("ij,ij->i", g, wg)
    cwg = wg @ c  # (variants, k)
    a = np.linalg.inv(c.T @ (c * w[:, None]))
    return u, gwg - np.einsum("ij,jk,ik->i", cwg, a, cwg)
