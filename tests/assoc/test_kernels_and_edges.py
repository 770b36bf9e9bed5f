"""Kernels against NumPy references, per-trait masks against one-trait-at-a-time OLS (statsmodels),
tiny p-values in log space, and the edge cases that must give a flag instead of a number."""

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from gwas.assoc import ErrorCode, linear_regression, logistic_regression, poisson_regression
from gwas.assoc.results import chi2_1df_p, t_test_p
from gwas.kernels.impute import mean_impute, mean_impute_reference
from hubscan.errors import ConfigError, InputError


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 30), st.floats(0.0, 0.9), st.integers(0, 2**31 - 1))
def test_mean_impute_matches_numpy(n_var, n_samp, missing, seed):
    rng = np.random.default_rng(seed)
    d = rng.integers(0, 3, (n_var, n_samp)).astype(float)
    d[rng.random(d.shape) < missing] = np.nan
    rows = np.sort(rng.choice(n_samp, size=rng.integers(1, n_samp + 1), replace=False)).astype(np.int64)
    for got, want in zip(mean_impute.py_func(d, rows), mean_impute_reference(d, rows)):
        assert np.allclose(got, want)
    for got, want in zip(mean_impute(d, rows), mean_impute_reference(d, rows)):
        assert np.allclose(got, want)


def test_glm_kernels_run_as_plain_python():
    from gwas.kernels.glm import LOGISTIC, firth_fit, newton_fit

    rng = np.random.default_rng(1)
    X = np.column_stack([np.ones(200), rng.standard_normal(200)])
    y = (rng.random(200) < 1 / (1 + np.exp(-(0.3 + 0.8 * X[:, 1])))).astype(float)
    jit = newton_fit(X, y, np.zeros(2), LOGISTIC, 25, 1e-8)
    plain = newton_fit.py_func(X, y, np.zeros(2), LOGISTIC, 25, 1e-8)
    assert np.allclose(jit[0], plain[0], rtol=1e-12) and jit[3] == plain[3]
    ref = sm.Logit(y, X).fit(disp=0, tol=1e-12)
    assert np.allclose(jit[0], ref.params, rtol=1e-9) and np.allclose(np.sqrt(np.diag(jit[1])), ref.bse, rtol=1e-8)
    f_jit = firth_fit(X, y, np.zeros(2), 2, 100, 1e-8)
    f_plain = firth_fit.py_func(X, y, np.zeros(2), 2, 100, 1e-8)
    assert np.allclose(f_jit[0], f_plain[0], rtol=1e-12)


def test_each_trait_uses_its_own_samples():
    rng = np.random.default_rng(7)
    n, m = 300, 20
    g = rng.binomial(2, 0.3, (m, n)).astype(float)
    g[rng.random(g.shape) < 0.05] = np.nan
    cov = rng.standard_normal((n, 2))
    y = rng.standard_normal((n, 4)) + 0.2 * np.nan_to_num(g[0])[:, None]
    for t in range(4):  # different missingness per trait
        y[rng.random(n) < 0.1 * (t + 1), t] = np.nan
    r = linear_regression(g, y, cov)
    for t in range(4):
        ok = ~np.isnan(y[:, t])
        for v in (0, 5, 19):
            x = g[v, ok]
            x = np.where(np.isnan(x), np.nanmean(x), x)  # mean-imputed within the trait's samples
            ref = sm.OLS(y[ok, t], np.column_stack([np.ones(ok.sum()), cov[ok], x])).fit()
            assert np.allclose([r.beta[v, t], r.standard_error[v, t], r.p_value[v, t]],
                               [ref.params[-1], ref.bse[-1], ref.pvalues[-1]], rtol=1e-9)
            assert r.n[v, t] == ok.sum()


def test_tiny_p_values_stay_exact_in_log_space():
    p, nlp = chi2_1df_p(np.array([1500.0, 4000.0]))
    assert p[1] == 0.0 and np.isfinite(nlp).all()
    # Reference: log10 p = log10(2) + log10(Phi(-z)) by the Mills-ratio series at z = sqrt(chi2).
    z = np.sqrt(4000.0)
    mills = -z * z / 2 - np.log(z) - 0.5 * np.log(2 * np.pi) + np.log(1 - 1 / z**2 + 3 / z**4)
    assert abs(nlp[1] - (-(np.log(2) + mills) / np.log(10))) < 1e-8
    p, nlp = t_test_p(np.array([80.0, 500.0]), 1000)
    assert p[1] == 0.0 and nlp[1] > 300 and nlp[1] > nlp[0]
    # Continuity where the survival function still works: the tail formula joins it.
    assert abs(t_test_p(np.array([30.0]), 1000)[1][0] - (-np.log10(2 * __import__("scipy").stats.t.sf(30.0, 1000)))) < 1e-9


def test_separation_and_rare_variants_are_flagged():
    rng = np.random.default_rng(3)
    n = 400
    y = (rng.random(n) < 0.2).astype(float)
    complete = y * 2.0  # genotype 2 exactly in cases: complete separation
    quasi = np.where(y == 1, rng.integers(1, 3, n), 0).astype(float)
    rare = np.zeros(n)
    rare[:3] = 1  # MAC 3
    g = np.vstack([complete, quasi, rare])
    wald = logistic_regression(g, y, test="wald")
    assert wald.error_code[0, 0] in (ErrorCode.NOT_CONVERGED, ErrorCode.EXPLODED) and np.isnan(wald.p_value[0, 0])
    assert not wald.converged[0, 0]
    firth = logistic_regression(g, y, test="firth")
    assert firth.converged[:, 0].all() and np.isfinite(firth.p_value[:, 0]).all()
    assert firth.neg_log10_p[0, 0] > 20 and firth.allele_count[2, 0] == 3


def test_degenerate_designs():
    rng = np.random.default_rng(5)
    n = 100
    g = rng.binomial(2, 0.4, (3, n)).astype(float)
    g[1] = 1.0  # monomorphic
    cov = rng.standard_normal((n, 2))
    g[2] = cov[:, 0]  # collinear with a covariate
    y = rng.standard_normal(n)
    r = linear_regression(g, y, cov)
    assert list(r.error_code[:, 0]) == [ErrorCode.OK, ErrorCode.MONOMORPHIC, ErrorCode.COLLINEAR]
    constant = np.column_stack([cov, np.full(n, 3.0)])  # constant covariate beside the intercept
    assert (linear_regression(g, y, constant).error_code == ErrorCode.COVARIATES_SINGULAR).all()
    collinear = np.column_stack([cov, cov[:, 0] * 2])
    assert (logistic_regression(g, (y > 0).astype(float), collinear).error_code == ErrorCode.COVARIATES_SINGULAR).all()
    all_missing = np.column_stack([y, np.full(n, np.nan)])
    r = linear_regression(g, all_missing, cov)
    assert (r.error_code[:, 1] == ErrorCode.TOO_FEW_SAMPLES).all() and (r.n[:, 1] == 0).all()
    one_class = logistic_regression(g, np.ones(n), cov)
    assert (one_class.error_code == ErrorCode.ONE_CLASS).all() and one_class.n_cases[0, 0] == n


def test_bad_arguments():
    g = np.zeros((1, 10))
    with pytest.raises(InputError, match="values other than 0 and 1"):
        logistic_regression(g, np.arange(10.0))
    with pytest.raises(InputError, match="non-negative integers"):
        poisson_regression(g, -np.ones(10))
    with pytest.raises(ConfigError, match="logistic test must be one of"):
        logistic_regression(g, np.zeros(10), test="exact")
    with pytest.raises(InputError, match="traits have 9 samples"):
        linear_regression(g, np.zeros(9))


def test_results_as_a_table():
    rng = np.random.default_rng(0)
    r = linear_regression(rng.binomial(2, 0.3, (3, 50)).astype(float), rng.standard_normal((50, 2)))
    frame = r.to_frame(["a", "b", "c"], ["t1", "t2"])
    assert len(frame) == 6 and list(frame["variant"][:2]) == ["a", "a"] and "neg_log10_p" in frame


def test_linear_statistics_kernel_matches_numpy():
    from gwas.kernels.linear import linear_statistics, linear_statistics_reference

    rng = np.random.default_rng(4)
    gy, gg = rng.standard_normal((20, 3)), rng.uniform(0.5, 3, (20, 3))
    yy, df = rng.uniform(50, 80, 3), np.array([97.0, 90.0, 80.0])
    ok = rng.random((20, 3)) > 0.2
    for impl in (linear_statistics, linear_statistics.py_func):
        for got, want in zip(impl(gy, gg, yy, df, ok), linear_statistics_reference(gy, gg, yy, df, ok)):
            assert np.allclose(got, want, equal_nan=True, rtol=1e-13)
