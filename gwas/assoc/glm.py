"""Logistic and Poisson regression of traits on each variant, with covariates.

Models: logit P(y = 1) = X c + g beta (logistic) and log E[y] = X c + g beta (Poisson), fitted by
Newton–Raphson (max ``max_iter`` iterations, converged when every coefficient moves less than
``tol``: :mod:`gwas.kernels.glm`). Missing genotypes are mean-imputed within the trait's samples.

Tests (``test=``):

* ``"wald"``: z = beta / SE with SE from the inverse Fisher information; p from N(0, 1).
* ``"lrt"``: chi² = 2 (l_full - l_null), 1 df.
* ``"score"`` (Rao): chi² = U² / V at the null fit (no per-variant fit), U = g'(y - mu) the
  score and V = g'Wg - g'WC (C'WC)⁻¹ C'Wg its variance; beta = U / V (one Newton step from the
  null) and SE = 1 / sqrt(V), as REGENIE reports them for its score test.
* ``"firth"`` (logistic): Firth's penalized likelihood (Firth 1993; Heinze & Schemper 2002); p from
  the penalized LRT against the constrained null (as logistf and Hail), or with
  ``firth_p="wald"`` from beta / SE of the penalized fit (as plink2 reports).
* ``"firth-fallback"`` (logistic): a fast first test for every variant, then Firth where its p is
  below ``fallback_p`` or it failed; ``firth_used`` marks those rows. ``fallback_first="score"``
  (default, REGENIE's practice): the score test, no per-variant fit, with beta ≈ U/V and
  SE ≈ 1/sqrt(V) (U the score, V its variance at the null fit); ``"wald"`` (plink2's): the Wald test.

Offsets (``offset=``, (samples,) or (samples, traits)): a fixed term added to every linear
predictor, null fit and variant fits alike: logit P(y = 1) = X c + g beta + offset (REGENIE's
step 2 with the LOCO prediction of the variant's chromosome; log exposure in a Poisson model).

Every result carries converged / exploded / iterations and an :class:`ErrorCode` instead of a
silent NaN. Null models (covariates only) are fitted once per trait: :func:`logistic_model` /
:func:`poisson_model` keep them for every block of variants (``model.test(dosage)``). Firth fits
run in the Numba kernel :func:`gwas.kernels.firth.firth_block` (in parallel over variants, the
constrained null fit of the penalized LRT included; with ``firth_p="wald"`` that null fit is
skipped and the full fit starts from the covariates-only fit).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numba
import numpy as np

from gwas.assoc.design import as_dosage, check_traits, gram_inverse, mask_groups
from gwas.assoc.results import AssociationResult, ErrorCode, chi2_1df_p
from gwas.kernels.firth import firth_block
from gwas.kernels.glm import LOGISTIC, POISSON, newton_fit, score_sums, wald_lrt_mask
from gwas.kernels.impute import DOSAGE, SCALED, genotype_checks, mean_impute
from hubscan.errors import ConfigError, InputError
from hubscan.runtime.threads import map_in_threads, single_threaded_blas

LOGISTIC_TESTS = ("wald", "lrt", "score", "firth", "firth-fallback")
POISSON_TESTS = ("wald", "lrt", "score")


def logistic_regression(dosage, traits, covariates=None, test: str = "wald", add_intercept: bool = True,
                        firth_p: str = "lrt", fallback_p: float = 0.05, fallback_first: str = "score",
                        max_iter: int = 25, firth_max_iter: int = 100, tol: float = 1e-6,
                        offset=None) -> AssociationResult:
    """Logistic regression of binary traits (0/1, NaN missing) on each variant; see the module docstring.

    dosage (variants, samples); traits (samples, traits) or (samples,); covariates (samples, k) or
    None (intercept added unless ``add_intercept=False``). n_cases / n_controls count the tested samples.
    To test many blocks of variants, fit the null models once with :func:`logistic_model` and call
    its ``test(dosage)`` per block (same results).
    """
    dosage = as_dosage(dosage)
    return logistic_model(traits, covariates, test, add_intercept, firth_p, fallback_p, fallback_first, max_iter,
                          firth_max_iter, tol, n_samples=dosage.shape[1], offset=offset).test(dosage)


def poisson_regression(dosage, traits, covariates=None, test: str = "wald", add_intercept: bool = True,
                       max_iter: int = 25, tol: float = 1e-6, offset=None) -> AssociationResult:
    """Poisson regression of count traits (non-negative, NaN missing) on each variant (blocks:
    :func:`poisson_model`)."""
    dosage = as_dosage(dosage)
    return poisson_model(traits, covariates, test, add_intercept, max_iter, tol, n_samples=dosage.shape[1],
                         offset=offset).test(dosage)


def logistic_model(traits, covariates=None, test: str = "wald", add_intercept: bool = True, firth_p: str = "lrt",
                   fallback_p: float = 0.05, fallback_first: str = "score", max_iter: int = 25,
                   firth_max_iter: int = 100, tol: float = 1e-6, n_samples: int | None = None,
                   offset=None) -> GlmModel:
    """The trait side of :func:`logistic_regression` (checks, masks, null fits), done once."""
    if test not in LOGISTIC_TESTS:
        raise ConfigError(f"logistic test must be one of {', '.join(LOGISTIC_TESTS)}, got {test!r}")
    if firth_p not in ("lrt", "wald"):
        raise ConfigError(f"firth_p must be 'lrt' or 'wald', got {firth_p!r}")
    if fallback_first not in ("score", "wald"):
        raise ConfigError(f"fallback_first must be 'score' or 'wald', got {fallback_first!r}")
    return _model(traits, covariates, add_intercept, LOGISTIC, test,
                  dict(firth_p=firth_p, fallback_p=fallback_p, fallback_first=fallback_first, max_iter=max_iter,
                       firth_max_iter=firth_max_iter, tol=tol), n_samples, offset)


def poisson_model(traits, covariates=None, test: str = "wald", add_intercept: bool = True, max_iter: int = 25,
                  tol: float = 1e-6, n_samples: int | None = None, offset=None) -> GlmModel:
    """The trait side of :func:`poisson_regression` (checks, masks, null fits), done once."""
    if test not in POISSON_TESTS:
        raise ConfigError(f"Poisson test must be one of {', '.join(POISSON_TESTS)}, got {test!r}")
    return _model(traits, covariates, add_intercept, POISSON, test, dict(max_iter=max_iter, tol=tol), n_samples,
                  offset)


#: below this many variants in a block, traits (sample masks) rather than variants run in parallel
VARIANTS_PER_THREAD = 64


@dataclass
class NullFit:
    """One trait on its samples: y, and either an error ``code`` for every variant or the null
    (covariates-only) fit: b_null, ll_null, mu and w = Var(y) at it, C'WC (the first pass of each
    variant's fit) and its inverse (the score test); cc_inv = (C'C)⁻¹ of the group's covariates C
    (shared by the group's traits); offset: the trait's offset on those samples, or None."""

    y: np.ndarray
    code: int = ErrorCode.OK
    n_cases: int = -1
    b_null: np.ndarray = None
    ll_null: float = np.nan
    mu: np.ndarray = None
    w: np.ndarray = None
    cc_inv: np.ndarray = None
    cwc: np.ndarray = None
    cwc_inv: np.ndarray = None
    offset: np.ndarray = None


@dataclass
class GlmModel:
    """Null models of every trait, grouped by sample mask (``groups``: sample rows, trait columns,
    their :class:`NullFit`); ``design`` (samples, k) the covariates with the intercept;
    ``.test(dosage)`` tests one block of variants. Memory: about 3 x 8 bytes per sample and trait."""

    family: int
    test_name: str
    options: dict
    n_samples: int
    n_traits: int
    design: np.ndarray
    groups: list = field(default_factory=list)

    def test(self, dosage) -> AssociationResult:
        """Results for the variants (rows) of ``dosage`` (variants, samples): float ALT dosages, NaN =
        missing, or the store's uint16 ``call_dosage_scaled`` codes, read as they are (the results
        of ``decode_dosage(codes, np.float64)``, without decoding the block first)."""
        codes, kind = as_codes(dosage, self.n_samples)
        n_var = codes.shape[0]
        out = AssociationResult.empty(f"{'logistic' if self.family == LOGISTIC else 'poisson'}-{self.test_name}",
                                      n_var, self.n_traits)
        few_variants = n_var < VARIANTS_PER_THREAD
        fits_first = self.test_name in ("wald", "lrt") or (
            self.test_name == "firth-fallback" and self.options["fallback_first"] == "wald")
        work = WorkArrays(n_var * max((len(g[0]) for g in self.groups), default=0))

        def run_group(group):
            rows, cols, fits = group
            fitted = [fit for fit in fits if not fit.code]
            c = np.ascontiguousarray(self.design[rows])
            imputed = None  # the mask's imputed block, (variants, len(rows)), where the tests need it
            checks = None  # the variants' checks, shared by the mask's traits (each with (C'C)⁻¹)
            if fitted and fits_first:  # imputation, checks and every trait's fits in one kernel
                n_called, alt_count, checks, *block = _variant_fits(codes, kind, rows, c, fitted, self.family,
                                                                    self.options, self.test_name == "lrt")
                per_trait = iter(zip(*(x.T for x in block)))  # the fitted traits' columns, in order
            else:
                imputed = work.get(n_var, len(rows))
                n_called, alt_count, total, total_sq, constant = mean_impute(codes, kind, rows, imputed)
                if fitted:
                    checks = genotype_checks(imputed, np.ascontiguousarray(c.T), fitted[0].cc_inv, total,
                                             total_sq, constant)
            out.n[:, cols] = len(rows)
            out.allele_count[:, cols] = alt_count[:, None]
            with np.errstate(invalid="ignore", divide="ignore"):
                out.allele_frequency[:, cols] = (alt_count / (2.0 * n_called))[:, None]

            def genotypes(where):  # imputed dosages of the variants ``where`` (indexes) of the mask
                if imputed is not None:
                    return imputed[where]
                rows_of = np.empty((len(where), len(rows)))
                mean_impute(codes[where], kind, rows, rows_of)
                return rows_of

            for t, fit in zip(cols, fits):
                _one_trait(genotypes, c, checks, fit, self.family, self.test_name, self.options, out, t,
                           next(per_trait) if imputed is None and not fit.code else None)

        # Few variants (a PheWAS): sample masks on parallel threads; many: variants in parallel
        # inside the kernels. Each trait's columns of ``out`` are written by one thread.
        with single_threaded_blas():
            map_in_threads(run_group, self.groups, parallel=few_variants)
        return out


def as_codes(dosage, n_samples: int) -> tuple[np.ndarray, int]:
    """(codes, kind) of a block for the imputation kernels (:mod:`gwas.kernels.impute`): the
    store's uint16 codes as they are (SCALED), anything else as float64 dosages (DOSAGE)."""
    if isinstance(dosage, np.ndarray) and dosage.dtype == np.uint16:
        if dosage.ndim != 2 or dosage.shape[1] != n_samples:
            raise InputError(f"dosage codes must be (variants, {n_samples} samples), got {dosage.shape}")
        return dosage, SCALED
    return as_dosage(dosage, n_samples), DOSAGE


def _variant_fits(codes, kind, rows, c, fitted, family, options, want_ll):
    """:func:`gwas.kernels.glm.wald_lrt_mask` for the fitted traits of one sample mask."""
    offsets = None if fitted[0].offset is None else np.stack([f.offset for f in fitted])
    return wald_lrt_mask(c, fitted[0].cc_inv, codes, kind, rows, np.stack([f.y for f in fitted]),
                         np.stack([f.b_null for f in fitted]), np.stack([f.mu for f in fitted]),
                         np.stack([f.w for f in fitted]), np.stack([f.cwc for f in fitted]), family,
                         options["max_iter"], options["tol"], want_ll, numba.get_num_threads(), offsets)


class WorkArrays:
    """One uninitialised float64 work array per thread for the imputed dosages of one ``test``
    call, ``size`` values (the call's largest mask x its variants), reused for every sample mask the
    thread tests: a fresh array per mask costs a page fault per 4 KiB, 3-4x the imputation itself
    (a PheWAS tests one block for hundreds of masks). Allocated on first use, freed with the call."""

    def __init__(self, size: int):
        self.size = size
        self.arrays: dict[int, np.ndarray] = {}

    def get(self, n_var: int, n: int) -> np.ndarray:
        """This thread's array as (n_var, n), n_var x n <= size."""
        thread = threading.get_ident()
        array = self.arrays.get(thread)
        if array is None:
            array = self.arrays[thread] = np.empty(self.size)
        return array[:n_var * n].reshape(n_var, n)


def _model(traits, covariates, add_intercept, family, test, options, n_samples, offset=None) -> GlmModel:
    traits, design, cov_ok = check_traits(traits, covariates, add_intercept, n_samples)
    _check_values(traits, family)
    offsets = _offsets(offset, traits)
    model = GlmModel(family, test, options, traits.shape[0], traits.shape[1], design)

    def fit_group(group):
        rows, cols = group
        rows = rows.astype(np.int64)
        c = np.ascontiguousarray(design[rows])
        cc_inv = gram_inverse(c)  # once per sample mask; _null_fit checks the sample count first
        return rows, cols, [_null_fit(traits[rows, t], c, cc_inv, family, options, add_intercept,
                                      None if offsets is None else np.ascontiguousarray(offsets[rows, t]))
                            for t in cols]

    with single_threaded_blas():  # sample masks' null fits on parallel threads
        model.groups = map_in_threads(fit_group, mask_groups(traits, cov_ok))
    return model


def _offsets(offset, traits: np.ndarray) -> np.ndarray | None:
    """``offset`` as (samples, traits) float64 (a (samples,) offset shared by every trait), or None;
    it must be finite wherever a trait is present."""
    if offset is None:
        return None
    off = np.asarray(offset, dtype=np.float64)
    if off.ndim == 1:
        off = np.repeat(off[:, None], traits.shape[1], axis=1)
    if off.shape != traits.shape:
        raise InputError(f"offset must be (samples,) or (samples, traits) = {traits.shape}, got {off.shape}")
    bad = ~np.isfinite(off) & ~np.isnan(traits)
    if bad.any():
        sample, trait = (int(x[0]) for x in np.nonzero(bad))
        raise InputError(f"offset of trait {trait} is missing or not finite at sample {sample}, where the trait is present")
    return off


def _check_values(traits: np.ndarray, family: int) -> None:
    present = traits[~np.isnan(traits)]
    if family == LOGISTIC and not np.isin(present, (0.0, 1.0)).all():
        col = int(np.flatnonzero([~np.isin(c[~np.isnan(c)], (0.0, 1.0)).all() for c in traits.T])[0])
        raise InputError(f"binary trait {col} has values other than 0 and 1 (and missing)")
    if family == POISSON and ((present < 0).any() or (present != np.round(present)).any()):
        raise InputError("count traits must hold non-negative integers (or missing)")


def _null_fit(y, c, cc_inv, family, options, intercept: bool, offset=None) -> NullFit:
    n, k = c.shape
    fit = NullFit(y, cc_inv=cc_inv, offset=offset)
    if family == LOGISTIC:
        fit.n_cases = int(y.sum())
        if fit.n_cases in (0, n):
            fit.code = ErrorCode.ONE_CLASS
            return fit
    if n <= k + 1:
        fit.code = ErrorCode.TOO_FEW_SAMPLES
    elif cc_inv is None:
        fit.code = ErrorCode.COVARIATES_SINGULAR
    if fit.code:
        return fit
    b0 = np.zeros(k)
    if intercept and k:
        mean = y.mean()
        b0[0] = np.log(mean / (1 - mean)) if family == LOGISTIC else np.log(mean)
        if offset is not None:  # start from the mean response less the mean offset (as REGENIE)
            b0[0] -= offset.mean()
    fit.b_null, fit.cwc_inv, fit.ll_null, _, converged, _, fit.mu, fit.w, fit.cwc = newton_fit(
        c, y, b0, family, options["max_iter"], options["tol"], offset)
    if not converged:
        fit.code = ErrorCode.NOT_CONVERGED
    return fit


def _one_trait(genotypes, c, codes, fit: NullFit, family, test, options, out: AssociationResult, t: int,
               variant_fits=None) -> None:
    """One trait's results into column t of ``out``: ``genotypes(where)`` gives the mask's imputed
    dosages of the variants ``where``; ``variant_fits`` the Wald/LRT fits of every variant
    (:func:`_variant_fits`: beta, se, log-likelihood, iterations, converged, exploded) when the
    test starts with them."""
    n = c.shape[0]
    if family == LOGISTIC:
        out.n_cases[:, t] = fit.n_cases
        out.n_controls[:, t] = n - fit.n_cases
    if fit.code:
        out.error_code[:, t] = fit.code
        return
    y, b_null = fit.y, fit.b_null
    first = options.get("fallback_first") if test == "firth-fallback" else None
    if test == "score" or first == "score":
        # Score U = g'(y - mu) at the null fit and its variance V = 1 / [F⁻¹]_gg
        # = g'Wg - (C'Wg)' (C'WC)⁻¹ (C'Wg); the Rao statistic is U² / V.
        g = genotypes(slice(None))
        wgg, u = score_sums(g, fit.w, y - fit.mu)
        gcw = g @ (c * fit.w[:, None])
        v = wgg - np.einsum("ij,jk,ik->i", gcw, fit.cwc_inv, gcw)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = u * u / v
            beta, se = u / v, 1 / np.sqrt(v)
        p, nlp = chi2_1df_p(stat)
        _store(out, t, beta, se, stat, p, nlp, True, False, 0, codes)
        if first:
            redo = (codes == ErrorCode.OK) & (p < options["fallback_p"])
            if redo.any():
                _firth(out, t, c, g[redo], y, b_null, options, codes[redo], np.flatnonzero(redo), fit.offset)
    elif test in ("wald", "lrt", "firth-fallback"):
        beta, se, ll, iters, conv, expl = variant_fits
        stat = (beta / se) if test != "lrt" else 2.0 * (ll - fit.ll_null)
        p, nlp = chi2_1df_p(stat ** 2 if test != "lrt" else stat)
        _store(out, t, beta, se, stat, p, nlp, conv, expl, iters, codes)
        if test == "firth-fallback":
            redo = (codes == ErrorCode.OK) & (~conv | (p < options["fallback_p"]))
            if redo.any():
                where = np.flatnonzero(redo)
                _firth(out, t, c, genotypes(where), y, b_null, options, codes[redo], where, fit.offset)
    else:
        g = genotypes(slice(None))
        _firth(out, t, c, g, y, b_null, options, codes, np.arange(g.shape[0]), fit.offset)


def _firth(out, t, c, g, y, b_null, options, codes, where, offset=None) -> None:
    beta, se, chi2, iters, conv, expl = firth_block(c, np.ascontiguousarray(g), y, b_null, options["firth_max_iter"],
                                                    options["tol"], options["firth_p"] == "lrt",
                                                    numba.get_num_threads(), offset)
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
