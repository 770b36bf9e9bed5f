"""REGENIE step 2: association tests that use step 1's LOCO predictions (Mbatchou et al. 2021).

For a variant on chromosome c, each trait's prediction p_c from the step-1 file of that chromosome
(:mod:`gwas.wgr.predictions`) enters the test; ``prediction=None`` is REGENIE's ``--ignore-pred``.
Each trait is tested on its own samples (trait and every covariate present); missing genotypes
take the mean of those samples. Effect allele: the counted allele of the dosages (ALT; for a
PLINK .bed, A1 = REGENIE's ALLELE1).

Quantitative traits (REGENIE's linear score test, ``compute_score_qt``): r the trait's residual on
the covariates C (k columns with the intercept, n samples), s_y = |r| / sqrt(n - k); REGENIE's
predictions are on the scale of r / s_y, so e = r - s_y p_c; s_e = |e| / sqrt(n - k). With g_r
the variant's residual on C: beta = <g_r, e> / <g_r, g_r>, SE = s_e / |g_r|, z = beta / SE,
p from N(0, 1) (:func:`gwas.assoc.linear_model` with ``score_sigma``).

Binary traits (``compute_score_bt``): the logistic null model logit P(y = 1) = C c + p_c (the
prediction as an offset), fitted per chromosome; score U = g'(y - mu), V = g'Wg - g'WC (C'WC)⁻¹
C'Wg; z = U / sqrt(V), beta = U / V, SE = 1 / sqrt(V) (REGENIE prints these for its score test).
Where the score test's p is below ``threshold`` (REGENIE's ``--pThresh``, 0.05), a correction:

* ``"spa"`` (``--spa``): the saddle-point approximation of the score's distribution (Dey et al.
  2017) for g~ = g - C (C'WC)⁻¹ C'W g: K(t) = sum log(1 - mu + mu exp(t g~)) - t sum g~ mu, each
  tail P(S <= -|U|) and P(S >= |U|) by Lugannani–Rice at the root of K'(t) = -|U|; p their sum,
  chi² its 1-df quantile, beta = sign(U) sqrt(chi²) SE, SE = 1 / sqrt(V). REGENIE's "fast" SPA
  (the samples whose genotype is 0 enter K by their normal approximation, centred, variance
  sum w g~², when at most half of the samples have a non-zero genotype) is used as REGENIE does.
* ``"firth-approx"`` (``--firth --approx``): a null Firth fit of y on C with offset p_c, once per
  chromosome, gives the offset o = C c_F + p_c; each variant is then a one-parameter Firth fit of
  y on g~ with offset o: chi² = 2 (l*(beta) - l*(0)) (penalized log-likelihoods), SE = 1 /
  sqrt(g~' W g~) at beta. For a rare variant (minor allele count below 50) g~ is kept on the
  carriers of the minor allele only and set to 0 elsewhere (REGENIE v4's
  ``fit_firth_logistic_snp_fast``).
* ``"firth"`` (``--firth``): the exact Firth fit of y on [C, g] with offset p_c, the penalized
  LRT against the constrained null (SE from the penalized information).

A correction that fails (SPA with no root, Firth not converged) leaves the score test's beta and SE
and no p-value (REGENIE's ``TEST_FAIL``): error_code NOT_CONVERGED. ``firth_used`` marks corrected
rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special

from gwas.assoc import linear_model, logistic_model
from gwas.assoc.glm import as_codes
from gwas.assoc.results import LN10, AssociationResult, ErrorCode, chi2_1df_p
from gwas.kernels.firth import firth_block, firth_fit
from gwas.kernels.impute import mean_impute
from hubscan.errors import ConfigError

BINARY_TESTS = ("score", "spa", "firth-approx", "firth")
#: REGENIE's --pThresh default: corrections below this score-test p
DEFAULT_THRESHOLD = 0.05
FIRTH_MAX_ITER, FIRTH_TOL = 100, 1e-8
#: REGENIE's approximate Firth keeps a rare variant's column on its carriers only below this minor
#: allele count (``fit_firth_logistic_snp_fast``)
FIRTH_RARE_MAC = 50
#: REGENIE's fast SPA: when at most this fraction of the samples have a non-zero genotype
FAST_SPA_FRACTION = 0.5


def quantitative_step2(dosage, traits, covariates=None, prediction=None) -> AssociationResult:
    """REGENIE's step-2 test of quantitative ``traits`` (samples, traits) for the variants of one
    chromosome, ``prediction`` (samples, traits) its LOCO predictions or None (module docstring)."""
    return quantitative_model(traits, covariates, prediction).test(dosage)


def quantitative_model(traits, covariates=None, prediction=None):
    """The trait side of :func:`quantitative_step2`: a :class:`gwas.assoc.linear.LinearModel` of
    e = r - s_y p (module docstring) with REGENIE's fixed residual scale; ``.test(dosage)``,
    ``.test_scaled(codes)``."""
    traits = np.asarray(traits, dtype=np.float64)
    if traits.ndim == 1:
        traits = traits[:, None]
    base = linear_model(traits, covariates)
    e = np.full(traits.shape, np.nan)
    sigma = np.full(traits.shape[1], np.nan)
    for p, (rows, cols) in enumerate(base.patterns):
        r = base.y_r[np.ix_(rows, cols)]
        df = len(rows) - base.k
        if df <= 0:
            continue
        s_y = np.linalg.norm(r, axis=0) / np.sqrt(df)
        if prediction is not None:
            pred = np.asarray(prediction, dtype=np.float64)
            pred = pred[:, None] if pred.ndim == 1 else pred
            r = r - s_y[None, :] * pred[np.ix_(rows, cols)]
        e[np.ix_(rows, cols)] = r
        sigma[cols] = np.linalg.norm(r, axis=0) / np.sqrt(df)
    return linear_model(e, covariates, score_sigma=sigma)


def binary_step2(dosage, traits, covariates=None, prediction=None, test: str = "score",
                 threshold: float = DEFAULT_THRESHOLD) -> AssociationResult:
    """REGENIE's step-2 test of binary ``traits`` (0/1, NaN missing) for the variants of one
    chromosome, ``prediction`` (samples, traits) the LOCO predictions (logit scale) or None."""
    model = binary_model(traits, covariates, prediction, test, threshold)
    return model.test(dosage)


def binary_model(traits, covariates=None, prediction=None, test: str = "score",
                 threshold: float = DEFAULT_THRESHOLD) -> BinaryStep2Model:
    """The trait side of :func:`binary_step2` (null fits with the offset), done once per chromosome."""
    if test not in BINARY_TESTS:
        raise ConfigError(f"step-2 binary test must be one of {', '.join(BINARY_TESTS)}, got {test!r}")
    if not 0 < threshold <= 1:
        raise ConfigError(f"the correction threshold must be in (0, 1], got {threshold}")
    score = logistic_model(traits, covariates, test="score", offset=prediction)
    model = BinaryStep2Model(score, test, threshold)
    if test == "firth-approx":
        for rows, cols, fits in score.groups:
            c = np.ascontiguousarray(score.design[rows])
            for t, fit in zip(cols, fits):
                model.firth_offsets[t] = _null_firth_offset(c, fit)
    return model


def _null_firth_offset(c, fit) -> np.ndarray | None:
    """REGENIE's approximate Firth: the null Firth fit of y on C (offset p), as the offset C c_F + p;
    None when it does not converge (or the trait has no null fit)."""
    if fit.code:
        return None
    offset = np.zeros(len(fit.y)) if fit.offset is None else fit.offset
    b, _, _, conv, _ = firth_fit(c, fit.y, fit.b_null, c.shape[1], FIRTH_MAX_ITER, FIRTH_TOL, offset)
    return c @ b + offset if conv else None


@dataclass
class BinaryStep2Model:
    """Null fits of every binary trait on one chromosome (``score``: a score-test
    :class:`gwas.assoc.glm.GlmModel` with the offsets), the correction ``test`` and its
    ``threshold``; ``firth_offsets[t]``: the approximate Firth's offsets."""

    score: object
    test_name: str
    threshold: float
    firth_offsets: dict = field(default_factory=dict)

    def test(self, dosage) -> AssociationResult:
        """Results for the variants (rows) of ``dosage`` (float ALT dosages, NaN missing, or the
        store's uint16 codes)."""
        out = self.score.test(dosage)
        out.test = f"regenie-{self.test_name}"
        if self.test_name == "score":
            return out
        codes, kind = as_codes(dosage, self.score.n_samples)
        for rows, cols, fits in self.score.groups:
            c = np.ascontiguousarray(self.score.design[rows])
            for t, fit in zip(cols, fits):
                if fit.code:
                    continue
                redo = np.flatnonzero((out.error_code[:, t] == ErrorCode.OK) & (out.p_value[:, t] < self.threshold))
                if not len(redo):
                    continue
                g = np.empty((len(redo), len(rows)))
                mean_impute(codes[redo], kind, rows, g)
                if self.test_name == "firth":
                    self._exact_firth(out, t, c, g, fit, redo)
                    continue
                # g~ = g - C (C'WC)⁻¹ C'W g for every variant at once
                g_t = g - (((g * fit.w[None, :]) @ c) @ fit.cwc_inv) @ c.T
                if self.test_name == "spa":
                    self._spa(out, t, g, g_t, fit, redo)
                else:
                    self._approximate_firth(out, t, g, g_t, fit, redo)
        return out

    def _spa(self, out, t, g, g_t, fit, redo) -> None:
        """SPA of the ``redo`` variants (:mod:`gwas.kernels.spa`; :func:`spa_test` one at a time)."""
        from gwas.kernels.spa import spa_block, spa_chi2

        status = np.empty((len(redo), 2), dtype=np.int8)
        z = np.empty((len(redo), 2))
        y, mu, w = (np.ascontiguousarray(a, dtype=np.float64) for a in (fit.y, fit.mu, fit.w))
        spa_block(np.ascontiguousarray(g_t), np.ascontiguousarray(g != 0), y, mu, w, status, z)
        chi2, nlp = spa_chi2(status, z)
        for j, v in enumerate(redo):
            se = out.standard_error[v, t]
            beta = np.sign(out.beta[v, t]) * np.sqrt(chi2[j]) * se if np.isfinite(chi2[j]) else out.beta[v, t]
            _correct(out, v, t, beta, se, chi2[j], nlp[j])

    def _approximate_firth(self, out, t, g, g_t, fit, redo) -> None:
        """Approximate Firth of the ``redo`` variants (:mod:`gwas.kernels.firth_approx`;
        :func:`approximate_firth` one at a time), rare variants on their carriers only."""
        from gwas.kernels.firth_approx import approximate_firth_block

        offset = self.firth_offsets.get(t)
        beta = np.full(len(redo), np.nan)
        se, chi2 = beta.copy(), beta.copy()
        if offset is not None:
            ac, af = out.allele_count[redo, t], out.allele_frequency[redo, t]
            with np.errstate(invalid="ignore", divide="ignore"):
                n_called = np.where(af > 0, np.round(ac / (2 * af)), g.shape[1])
            g_t = np.where(carrier_mask(g, n_called, ac), g_t, 0.0)
            y, offset = (np.ascontiguousarray(a, dtype=np.float64) for a in (fit.y, offset))
            approximate_firth_block(np.ascontiguousarray(g_t), y, offset, beta, se, chi2)
        nlp = chi2_1df_p(chi2)[1]
        for j, v in enumerate(redo):
            _correct(out, v, t, beta[j], se[j], chi2[j], nlp[j])

    def _exact_firth(self, out, t, c, g, fit, redo) -> None:
        beta, se, chi2, iters, conv, expl = firth_block(c, np.ascontiguousarray(g), fit.y, fit.b_null,
                                                        FIRTH_MAX_ITER, FIRTH_TOL, True, 1, fit.offset)
        for j, v in enumerate(redo):
            ok = conv[j] and chi2[j] >= 0
            _correct(out, v, t, beta[j] if ok else np.nan, se[j] if ok else np.nan, chi2[j] if ok else np.nan,
                     chi2_1df_p(chi2[j])[1] if ok else np.nan)


def _correct(out: AssociationResult, v: int, t: int, beta, se, chi2, nlp) -> None:
    """Store a corrected row; a failed correction keeps the score beta and SE, no p (TEST_FAIL)."""
    out.firth_used[v, t] = True
    if not (np.isfinite(chi2) and np.isfinite(nlp)):
        out.statistic[v, t] = out.p_value[v, t] = out.neg_log10_p[v, t] = np.nan
        out.error_code[v, t] = ErrorCode.NOT_CONVERGED
        out.converged[v, t] = False
        return
    out.beta[v, t], out.standard_error[v, t], out.statistic[v, t] = beta, se, chi2
    out.neg_log10_p[v, t] = nlp
    out.p_value[v, t] = 10.0 ** -nlp


def spa_test(g_t, nz, y, mu, w) -> tuple[float, float]:
    """(chi², -log10 p) of the score U = g~'(y - mu) by the saddle-point approximation (module
    docstring); g~ the covariate-adjusted genotype, ``nz`` the samples whose (mean-imputed)
    genotype is not 0: REGENIE's fast SPA when they are at most half of the samples (as REGENIE
    v4.1.2 decides, checked on its output); (NaN, NaN) when K'(t) = -|U| has no root or the tails
    exceed 1."""
    u = float(g_t @ (y - mu))
    fast = nz.sum() <= FAST_SPA_FRACTION * len(g_t)
    q = -abs(u)
    logs = []
    for sign in (1.0, -1.0):
        x = sign * g_t
        if fast:
            xs, ms = x[nz], mu[nz]
            lin = float(xs @ ms)
            var0 = float(w[~nz] @ (x[~nz] * x[~nz]))
        else:
            xs, ms, lin, var0 = x, mu, float(x @ mu), 0.0
        logit_m = np.log(ms) - np.log1p(-ms)

        def k0(s):
            return float(np.logaddexp(np.log1p(-ms), np.log(ms) + s * xs).sum()) - s * lin + 0.5 * s * s * var0

        def k1(s):
            return float(xs @ special.expit(logit_m + s * xs)) - lin + s * var0

        def k2(s):
            pr = special.expit(logit_m + s * xs)
            return float((xs * xs) @ (pr * (1 - pr))) + var0

        low_limit = float(xs[xs < 0].sum()) - lin if var0 == 0 else -np.inf
        if not q > low_limit:
            return np.nan, np.nan
        lo = -1.0
        while k1(lo) > q:
            lo *= 2
            if lo < -1e8:
                return np.nan, np.nan
        from scipy import optimize  # only the saddle-point tests need it (~0.3 s to import)

        root = optimize.brentq(lambda s: k1(s) - q, lo, 0.0, xtol=1e-14, rtol=1e-14, maxiter=500)
        kv, k2v = k0(root), k2(root)
        if root == 0:
            logs.append(np.log(0.5))
            continue
        wv = np.sign(root) * np.sqrt(max(2 * (root * q - kv), 0.0))
        vv = root * np.sqrt(k2v)
        if wv == 0 or vv / wv <= 0:
            return np.nan, np.nan
        logs.append(float(special.log_ndtr(wv + np.log(vv / wv) / wv)))
    log_p = float(np.logaddexp(*logs))
    if log_p > 0:
        return np.nan, np.nan
    nlp = -log_p / LN10
    chi2 = float(special.chdtri(1, np.exp(log_p))) if np.exp(log_p) > 0 else float(
        2 * special.erfcinv(np.exp(log_p)) ** 2)
    return chi2, nlp


def approximate_firth(g_t, y, offset) -> tuple[float, float, float]:
    """REGENIE's approximate Firth for one variant: the one-parameter Firth fit of y on g~ with the
    null Firth offset, from 0 (steps at most 5, halved until the penalized likelihood does not
    decrease beyond rounding; converged when the step is below 1e-10). Returns (beta, SE = 1 / sqrt(g~' W g~) at
    beta, chi² = 2 (l*(beta) - l*(0))); NaNs when it does not converge."""
    x2 = g_t * g_t

    def penalized(b):
        eta = offset + b * g_t
        ll = -float(np.logaddexp(0, -eta) @ y + np.logaddexp(0, eta) @ (1 - y))
        pr = special.expit(eta)
        info = float(x2 @ (pr * (1 - pr)))
        return ll + 0.5 * np.log(info), pr, info

    b = 0.0
    l0, pr, info = penalized(b)
    current = l0
    for _ in range(FIRTH_MAX_ITER):
        h = pr * (1 - pr) * x2 / info
        score = float(g_t @ (y - pr + h * (0.5 - pr)))
        step = float(np.clip(score / info, -5.0, 5.0))  # REGENIE's maximum step (--maxstep 5)
        if abs(step) < 1e-10:
            chi2 = 2 * (current - l0)
            return (b, 1 / np.sqrt(info), max(chi2, 0.0)) if chi2 > -1e-9 else (np.nan, np.nan, np.nan)
        for _ in range(60):  # step halving until the penalized likelihood increases
            nl, npr, ninfo = penalized(b + step)
            if nl >= current - 1e-12 * abs(current):  # no decrease beyond rounding
                break
            step /= 2
        else:
            return np.nan, np.nan, np.nan
        b, current, pr, info = b + step, nl, npr, ninfo
    return np.nan, np.nan, np.nan


def carrier_mask(g: np.ndarray, n_called: np.ndarray, alt_count: np.ndarray) -> np.ndarray:
    """:func:`rare_carriers` for the variants (rows) of ``g``: (variants, samples) bool, True on the
    minor-allele carriers of rare variants and everywhere for the others."""
    alt_count = np.asarray(alt_count, dtype=np.float64)[:, None]
    n_called = np.asarray(n_called, dtype=np.float64)[:, None]
    rare = np.minimum(alt_count, 2 * n_called - alt_count) < FIRTH_RARE_MAC
    counted = np.where(alt_count <= n_called, g, 2.0 - g)
    return ~rare | (counted > 1e-4)


def rare_carriers(g, n_called: int, alt_count: float) -> np.ndarray | None:
    """REGENIE's approximate Firth for rare variants (minor allele count below
    :data:`FIRTH_RARE_MAC`): the samples carrying the minor allele (mean-imputed genotype above
    1e-4, of 2 - g when ALT is the major allele), on which alone the variant's column is kept (the
    others' set to 0); None for a variant that is not rare."""
    minor = min(alt_count, 2 * n_called - alt_count)
    if not minor < FIRTH_RARE_MAC:
        return None
    counted = g if alt_count <= n_called else 2.0 - g
    return counted > 1e-4
