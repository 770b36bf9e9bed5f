"""Kernels against NumPy references, per-trait masks against one-trait-at-a-time OLS (statsmodels),
tiny p-values in log space, and the edge cases that must give a flag instead of a number."""

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gwas.assoc import ErrorCode, linear_regression, logistic_regression, poisson_regression
from gwas.assoc.results import chi2_1df_p, t_test_p
from gwas.kernels.impute import DOSAGE, SCALED, mean_impute, mean_impute_reference
from gwas.store.variables import decode_dosage, encode_dosage
from hubscan.errors import ConfigError, InputError


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 30), st.floats(0.0, 0.9), st.integers(0, 2**31 - 1))
@example(1, 25, 0.5, 26)  # a mean whose last bit depends on the order of the sum
def test_mean_impute_matches_numpy(n_var, n_samp, missing, seed):
    rng = np.random.default_rng(seed)
    d = rng.integers(0, 3, (n_var, n_samp)).astype(float)
    d[0] = 1.0  # constant, with missing calls
    d[rng.random(d.shape) < missing] = np.nan
    rows = np.sort(rng.choice(n_samp, size=rng.integers(1, n_samp + 1), replace=False)).astype(np.int64)
    d[rng.random(d.shape) < 0.3] += 0.1  # dosages, then as the store holds them
    codes = encode_dosage(d)
    d = decode_dosage(codes, np.float64)
    want = mean_impute_reference(d, rows)
    for kernel in (mean_impute.py_func, mean_impute):
        for source, kind in ((d, DOSAGE), (codes, SCALED)):
            filled = np.full((n_var, len(rows)), -1.0)  # every entry must be written
            got = (filled, *kernel(source, kind, rows, filled))
            called = ~np.isnan(d[:, rows])
            assert np.array_equal(got[0][called], want[0][called])  # the calls, as they are
            for i in (1, 5):  # n_called, constant
                assert np.array_equal(got[i], want[i])
            # the means filled in, alt_count, the filled row's sum and sum of squares: sums in another order
            for i in (0, 2, 3, 4):
                assert np.allclose(got[i], want[i], rtol=1e-12, atol=0)


def test_glm_kernels_run_as_plain_python():
    from gwas.kernels.firth import firth_fit
    from gwas.kernels.glm import LOGISTIC, newton_fit

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


@settings(max_examples=25, deadline=None)
@given(st.integers(20, 120), st.integers(0, 3), st.floats(0.05, 0.5), st.booleans(), st.integers(0, 2**31 - 1))
def test_firth_block_matches_numpy_qr_fits(n, k, prevalence, null_fit, seed):
    """The Numba Firth kernel (Cholesky, compiled and as plain Python) against the NumPy QR fits
    (firth_fit_reference): same coefficients, penalized LRT, SE, iterations and flags."""
    from gwas.kernels.firth import firth_block, firth_fit_reference

    rng = np.random.default_rng(seed)
    C = np.column_stack([np.ones(n), rng.standard_normal((n, k))])
    y = (rng.random(n) < prevalence).astype(float)
    if y.sum() in (0, n):
        y[0] = 1 - y[0]
    G = rng.binomial(2, rng.uniform(0.02, 0.5, 6)[:, None], (6, n)).astype(float)
    G[0] = 2 * y  # complete separation: the full fit runs far out or explodes
    b_null = np.zeros(k + 1)
    want = {name: [] for name in ("beta", "se", "chi2", "iters", "conv", "expl")}
    for g in G:
        X = np.column_stack([C, g])
        start, ll_null = np.r_[b_null, 0.0], np.nan
        if null_fit:
            start, ll_null, it, conv, expl = firth_fit_reference(X, y, start, k + 1, 60, 1e-6)
            if not conv:
                for name, value in zip(want, (np.nan, np.nan, np.nan, it, False, expl)):
                    want[name].append(value)
                continue
        b, ll, it, conv, expl = firth_fit_reference(X, y, start, k + 2, 60, 1e-6)
        with np.errstate(over="ignore"):
            mu = 1 / (1 + np.exp(-(X @ b)))
        se = np.sqrt(np.linalg.inv(X.T @ (X * (mu * (1 - mu))[:, None]))[-1, -1]) if conv else np.nan
        for name, value in zip(want, (b[-1] if conv else np.nan, se, 2 * (ll - ll_null) if conv else np.nan,
                                      it, conv, expl)):
            want[name].append(value)
    for impl, lanes in ((firth_block, 1), (firth_block, 2), (firth_block, 4), (firth_block.py_func, 2)):
        got = dict(zip(want, impl(C, G, y, b_null, 60, 1e-6, null_fit, lanes)))
        assert np.array_equal(got["conv"], want["conv"]) and np.array_equal(got["expl"], want["expl"])
        assert np.array_equal(got["iters"], want["iters"])
        for name in ("beta", "se", "chi2"):
            assert np.allclose(got[name], want[name], rtol=1e-7, atol=1e-9, equal_nan=True), name


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(0, 40), st.integers(0, 2**31 - 1))
def test_score_sums_kernel_matches_numpy(n_var, n_samp, seed):
    from gwas.kernels.glm import score_sums, score_sums_reference

    rng = np.random.default_rng(seed)
    G = rng.integers(0, 3, (n_var, n_samp)).astype(float)
    w, r = rng.uniform(0, 0.25, n_samp), rng.standard_normal(n_samp)
    want = score_sums_reference(G, w, r)
    for impl in (score_sums, score_sums.py_func):
        for got, ref in zip(impl(G, w, r), want):
            assert np.allclose(got, ref, rtol=1e-12, atol=1e-12) and got.shape == ref.shape


def test_prepared_models_give_the_same_results_block_by_block():
    """linear_model / logistic_model / poisson_model: the trait side once, then blocks of
    variants; the same as one call on all variants (to 1e-12 relative: BLAS sums a block's products
    in an order that depends on its shape), and identical on any thread count (Firth kernel)."""
    import numba

    from gwas.assoc.glm import logistic_model, poisson_model
    from gwas.assoc.linear import linear_model

    rng = np.random.default_rng(8)
    n, m = 400, 60
    g = rng.binomial(2, rng.uniform(0.05, 0.5, m)[:, None], (m, n)).astype(float)
    g[rng.random(g.shape) < 0.03] = np.nan
    cov = rng.standard_normal((n, 2))
    quant = rng.standard_normal((n, 3))
    quant[rng.random(n) < 0.1, 1] = np.nan
    binary = (rng.random(n) < 0.15).astype(float)
    counts = rng.poisson(1.2, n).astype(float)
    cases = [(linear_regression(g, quant, cov), linear_model(quant, cov)),
             (logistic_regression(g, binary, cov, test="firth-fallback"), logistic_model(binary, cov, test="firth-fallback")),
             (poisson_regression(g, counts, cov, test="score"), poisson_model(counts, cov, test="score"))]
    for whole, model in cases:
        parts = [model.test(g[s:s + 25]) for s in range(0, m, 25)]
        for name in ("beta", "standard_error", "p_value", "allele_frequency"):
            assert np.allclose(np.vstack([getattr(p, name) for p in parts]), getattr(whole, name), rtol=1e-12, atol=0,
                               equal_nan=True), name
        for name in ("error_code", "n", "firth_used", "converged"):
            assert np.array_equal(np.vstack([getattr(p, name) for p in parts]), getattr(whole, name)), name
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = logistic_regression(g, binary, cov, test="firth")
    finally:
        numba.set_num_threads(threads)
    two = logistic_regression(g, binary, cov, test="firth")
    assert np.array_equal(one.beta, two.beta, equal_nan=True) and np.array_equal(one.p_value, two.p_value, equal_nan=True)
    with pytest.raises(InputError, match="traits have 400 samples, dosages 399"):
        cases[0][1].test(g[:, :399])


@settings(max_examples=40, deadline=None)
@given(st.integers(5, 200), st.integers(1, 8), st.sampled_from(["none", "copy", "sum", "zero", "scaled"]),
       st.floats(1e-3, 1e4), st.integers(0, 2**31 - 1))
def test_gram_rank_check_agrees_with_svd_rank(n, k, dependence, scale, seed):
    """gram_inverse (the scaled Gram matrix's eigenvalues) finds the same dependent designs as the
    SVD rank (numpy.linalg.matrix_rank), whatever the columns' scales, and returns (C'C)⁻¹."""
    from gwas.assoc.design import full_rank, gram_inverse

    rng = np.random.default_rng(seed)
    c = np.column_stack([np.ones(n), rng.standard_normal((n, k)) * scale ** rng.uniform(-1, 1, k)])
    if dependence == "copy":
        c[:, -1] = c[:, 1]
    elif dependence == "sum":
        c[:, -1] = 2.5 * c[:, 0] - c[:, 1] * 3.0
    elif dependence == "zero":
        c[:, -1] = 0.0
    elif dependence == "scaled":
        c[:, -1] = c[:, 0] * 7.0
    independent = np.linalg.matrix_rank(c) == c.shape[1]
    assert full_rank(c) == independent
    if independent:
        assert np.allclose(gram_inverse(c) @ (c.T @ c), np.eye(k + 1), atol=1e-6)


def test_many_masks_few_variants_run_traits_on_threads_with_identical_results():
    """A PheWAS block (2 variants, 12 binary traits each with its own samples) runs its traits on
    parallel threads: byte-identical to one thread, and to fitting each trait alone."""
    import numba

    from gwas.assoc.glm import logistic_model

    rng = np.random.default_rng(21)
    n = 600
    g = rng.binomial(2, 0.3, (2, n)).astype(float)
    cov = rng.standard_normal((n, 3))
    traits = (rng.random((n, 12)) < 0.2).astype(float)
    traits[rng.random((n, 12)) < 0.15] = np.nan
    threads = numba.get_num_threads()
    results = {}
    for count in {1, threads}:
        try:
            numba.set_num_threads(count)
            results[count] = [logistic_model(traits, cov, test=t).test(g) for t in ("wald", "score", "firth")]
        finally:
            numba.set_num_threads(threads)
    alone = [logistic_regression(g, traits[:, j], cov, test="wald") for j in range(12)]
    for one, many in zip(results[1], results[threads]):
        for name in ("beta", "standard_error", "p_value", "statistic", "n", "error_code"):
            assert np.array_equal(getattr(one, name), getattr(many, name), equal_nan=True), name
    assert np.array_equal(np.hstack([a.beta for a in alone]), results[threads][0].beta, equal_nan=True)


def test_glm_models_read_the_stores_codes_as_decoded_dosages():
    """logistic / Poisson models given the store's uint16 codes (read and imputed in the kernels)
    give bit for bit the results of the float64 dosages decode_dosage makes of them, for every
    test (the Wald / LRT kernel imputes in its lanes, the others from an imputed block), with
    traits sharing a mask and traits with their own; codes of the wrong shape are an InputError."""
    from gwas.assoc.glm import logistic_model, poisson_model

    rng = np.random.default_rng(5)
    n, m = 500, 40
    dosage = rng.binomial(2, rng.uniform(0.05, 0.5, m)[:, None], (m, n)) + rng.integers(0, 3, (m, n)) * 0.1
    dosage[rng.random(dosage.shape) < 0.03] = np.nan
    dosage[3] = 1.0  # monomorphic
    codes = encode_dosage(dosage)
    decoded = decode_dosage(codes, np.float64)
    cov = rng.standard_normal((n, 2))
    binary = (rng.random((n, 3)) < 0.2).astype(float)
    binary[rng.random(n) < 0.1, 2] = np.nan  # its own samples
    counts = rng.poisson(1.0, (n, 2)).astype(float)
    models = [logistic_model(binary, cov, test=t) for t in ("wald", "lrt", "score", "firth", "firth-fallback")]
    models += [logistic_model(binary, cov, test="firth-fallback", fallback_first="wald", fallback_p=0.5)]
    models += [poisson_model(counts, cov, test=t) for t in ("wald", "score")]
    for model in models:
        got, want = model.test(codes), model.test(decoded)
        for name in ("beta", "standard_error", "p_value", "n", "allele_count", "allele_frequency", "error_code",
                     "iterations", "firth_used"):
            assert np.array_equal(getattr(got, name), getattr(want, name), equal_nan=True), (model.test_name, name)
        assert (got.error_code[3] == ErrorCode.MONOMORPHIC).all()
    with pytest.raises(InputError, match=r"dosage codes must be \(variants, 500 samples\), got \(40, 499\)"):
        models[0].test(codes[:, :499])
