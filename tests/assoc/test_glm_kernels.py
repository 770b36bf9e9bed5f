"""The fused maximum-likelihood kernels (gwas.kernels.glm) and their vectorised exponential
against NumPy references, compiled and as plain Python."""

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gwas.kernels.glm import LOGISTIC, POISSON, newton_fit, newton_fit_reference, wald_lrt_mask
from gwas.kernels.impute import DOSAGE, SCALED
from gwas.store.variables import decode_dosage, encode_dosage
from gwas.kernels.vector_exp import exp_into

#: exp_into's bound: 2 units in the last place of the correctly rounded value
EXP_ULPS = 2


def _ulps(got, want):
    return np.abs(got - want) / np.spacing(np.abs(want))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 1200), st.floats(0.1, 800), st.integers(0, 2**31 - 1))
def test_vector_exp_is_within_two_ulps_of_numpy(n, scale, seed):
    x = np.random.default_rng(seed).uniform(-scale, scale, n)
    with np.errstate(over="ignore"):
        want = np.exp(x)
    # results below the smallest normal number (subnormal or 0) compared absolutely; inf exactly
    normal = (want > np.finfo(float).tiny) & np.isfinite(want)
    for impl in (exp_into, exp_into.py_func):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            got = impl(x, np.empty(n), np.empty(n))
        assert _ulps(got[normal], want[normal]).max(initial=0) <= EXP_ULPS
        assert np.allclose(got[~normal], want[~normal], rtol=0, atol=1e-320)  # inf == inf included


def test_vector_exp_edges_and_in_place():
    x = np.array([0.0, -0.0, 1e-300, 708.0, -708.0, 708.5, 709.78, 709.79, -745.0, -746.0, np.inf, -np.inf, np.nan])
    with np.errstate(over="ignore"):
        want = np.exp(x)
    got = exp_into(x.copy(), np.empty(x.size), np.empty(x.size))
    assert np.array_equal(np.isnan(got), np.isnan(want)) and np.array_equal(np.isinf(got), np.isinf(want))
    finite = np.isfinite(want) & (want > 0)
    assert _ulps(got[finite], want[finite]).max() <= EXP_ULPS and (got[want == 0] == 0).all()
    y = x[:5].copy()
    assert np.array_equal(exp_into(y, y, np.empty(5)), got[:5])  # out may be x


def _mask_fits(C, G, y, null, family, tol, want_ll, lanes, impl=None, rows=None, n_all=None, scaled=False):
    """wald_lrt_mask for one trait (the covariates-only fit ``null``: newton_fit's tuple) of the
    variants G (variants, len(rows)), placed at the samples ``rows`` of n_all (others NaN)."""
    n = C.shape[0]
    rows = np.arange(n) if rows is None else rows
    codes = np.full((G.shape[0], n if n_all is None else n_all), np.nan)
    codes[:, rows] = G
    if scaled:
        codes = encode_dosage(codes)
    gram_inv = np.linalg.inv(C.T @ C)
    return (impl or wald_lrt_mask)(C, gram_inv, codes, SCALED if scaled else DOSAGE, rows.astype(np.int64),
                                   y[None], null[0][None], null[6][None], null[7][None], null[8][None], family, 25,
                                   tol, want_ll, lanes)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([LOGISTIC, POISSON]), st.integers(30, 700), st.integers(0, 4), st.integers(0, 2**31 - 1))
def test_wald_lrt_mask_matches_numpy_newton(family, n, k, seed):
    """Every variant fit from the covariates-only fit (its first pass from the null fit's mu, w and
    C'WC; a pass after a small Newton step reusing its information) against NumPy fits with
    np.linalg.solve and the same rule: same iterations and flags, coefficients, SE and
    log-likelihood to 1e-8 relative, on 1, 2 or 3 lanes; and against plain Newton fits. The kernel
    reads the variants at the mask's samples (every other sample NaN) and imputes them itself; two
    traits of one mask give each its own fits."""
    rng = np.random.default_rng(seed)
    C = np.column_stack([np.ones(n), rng.standard_normal((n, k))])
    eta = C @ rng.normal(0, 0.3, k + 1) + (-1.5 if family == LOGISTIC else 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float) if family == LOGISTIC else rng.poisson(np.exp(eta)).astype(float)
    if y.sum() in (0, n):
        y[:2] = (0.0, 1.0)
    G = rng.binomial(2, rng.uniform(0.05, 0.5, 5)[:, None], (5, n)).astype(float)
    G[1] = rng.standard_normal(n)  # a dosage-like continuous variant
    if family == LOGISTIC:
        G[2] = 2 * y  # separation: the fit runs off or explodes
    b0 = np.zeros(k + 1)
    null = newton_fit(C, y, b0, family, 25, 1e-8)
    ref_null = newton_fit_reference(C, y, b0, family, 25, 1e-8)
    assert null[3:6] == ref_null[3:6]
    if not null[4]:
        return
    assert np.allclose(null[0], ref_null[0], rtol=1e-9, atol=1e-12) and np.isclose(null[2], ref_null[2], rtol=1e-10)
    b_null = null[0]
    want = []
    for g in G:
        X = np.column_stack([C, g])
        start = np.r_[b_null, 0.0]
        b, cov, ll, it, conv, expl = newton_fit_reference(X, y, start, family, 25, 1e-8, variant_fit=True)
        newton = newton_fit_reference(X, y, start, family, 25, 1e-8)
        if conv and newton[4]:  # the same maximum as plain Newton's, well within tol x QUASI_ERROR
            assert np.allclose(b, newton[0], rtol=1e-12, atol=1e-14)
            assert np.isclose(cov[-1, -1], newton[1][-1, -1], rtol=1e-9)
        want.append((b[-1] if conv else np.nan, np.sqrt(cov[-1, -1]) if conv else np.nan, ll if conv else np.nan,
                     it, conv, expl))
    want = [np.array(column) for column in zip(*want)]
    n_all = n + 7
    rows = np.sort(rng.choice(n_all, n, replace=False))
    for impl, lanes in ((wald_lrt_mask, 1), (wald_lrt_mask, 2), (wald_lrt_mask, 3), (wald_lrt_mask.py_func, 2)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            got = _mask_fits(C, G, y, null, family, 1e-8, True, lanes, impl, rows, n_all)[3:]
        assert np.array_equal(got[4][:, 0], want[4]) and np.array_equal(got[5][:, 0], want[5])
        assert np.array_equal(got[3][:, 0], want[3])
        for g_col, w_col in zip(got[:3], want[:3]):
            assert np.allclose(g_col[:, 0], w_col, rtol=1e-8, atol=1e-12, equal_nan=True)
        assert np.isnan(_mask_fits(C, G[:1], y, null, family, 1e-8, False, 1, impl)[5]).all()
    # two traits of the mask in one call: each the same as alone, bit for bit
    y2 = y[::-1].copy()
    null2 = newton_fit(C, y2, b0, family, 25, 1e-8)
    if null2[4]:
        codes = np.full((G.shape[0], n_all), np.nan)
        codes[:, rows] = G
        both = wald_lrt_mask(C, np.linalg.inv(C.T @ C), codes, DOSAGE, rows, np.stack([y, y2]),
                             np.stack([null[0], null2[0]]), np.stack([null[6], null2[6]]),
                             np.stack([null[7], null2[7]]), np.stack([null[8], null2[8]]), family, 25, 1e-8, True, 2)
        for t, (yt, nt) in enumerate(((y, null), (y2, null2))):
            alone = _mask_fits(C, G, yt, nt, family, 1e-8, True, 2, rows=rows, n_all=n_all)
            for a, b_ in zip(both[3:], alone[3:]):
                assert np.array_equal(a[:, t], b_[:, 0], equal_nan=True)


def test_wald_lrt_mask_imputes_and_checks_each_variant():
    """The kernel's own imputation (mean of the mask's called samples, from float dosages or the
    store's uint16 codes) and checks (monomorphic, collinear) give what the separate kernels give:
    n_called, alt_count and codes as mean_impute + genotype_checks, fits as for the imputed block."""
    from gwas.kernels.impute import COLLINEAR, MONOMORPHIC, genotype_checks, mean_impute

    rng = np.random.default_rng(11)
    n, n_all = 400, 450
    rows = np.sort(rng.choice(n_all, n, replace=False)).astype(np.int64)
    C = np.column_stack([np.ones(n), rng.standard_normal(n), rng.integers(0, 3, n)])  # a 0/1/2 covariate
    y = (rng.random(n) < 0.3).astype(float)
    null = newton_fit(C, y, np.zeros(3), LOGISTIC, 25, 1e-8)
    D = rng.binomial(2, 0.3, (6, n_all)).astype(float) + rng.integers(0, 2, (6, n_all)) * 0.25  # dosage-like
    D[rng.random(D.shape) < 0.05] = np.nan
    D[1] = 1.0  # monomorphic
    D[2, rows] = C[:, 2]  # collinear with a covariate (and exact in the store's codes)
    D[3, rows] = np.nan  # no call in the mask
    for scaled in (False, True):
        codes = encode_dosage(D) if scaled else D
        dosage = decode_dosage(codes, np.float64) if scaled else D
        got = wald_lrt_mask(C, np.linalg.inv(C.T @ C), codes, SCALED if scaled else DOSAGE, rows, y[None],
                            null[0][None], null[6][None], null[7][None], null[8][None], LOGISTIC, 25, 1e-8, False, 2)
        filled = np.empty((6, n))
        n_called, alt_count, total, total_sq, constant = mean_impute(dosage, DOSAGE, rows, filled)
        assert np.array_equal(got[0], n_called) and np.array_equal(got[1], alt_count)
        want_codes = genotype_checks(filled, np.ascontiguousarray(C.T), np.linalg.inv(C.T @ C), total, total_sq,
                                     constant)
        assert np.array_equal(got[2], want_codes)
        assert got[2][1] == MONOMORPHIC and got[2][2] == COLLINEAR and got[2][3] == MONOMORPHIC
        assert (got[2][[0, 4, 5]] == 0).all()
        ref = _mask_fits(C, filled, y, null, LOGISTIC, 1e-8, False, 1)
        for a, b_ in zip(got[3:], ref[3:]):
            assert np.array_equal(a, b_, equal_nan=True)


def test_variant_fits_near_collinear_sum_the_information_in_float64():
    """A variant almost collinear with the covariates (g = 1 + c1 / 2 + eps noise): its float32
    information would spoil the Newton steps (with eps 1e-4 the fit would run to max_iter), so the
    kernel sums it again in float64 (INFO32_MIN_PIVOT) and matches the NumPy fits with the same rule:
    same iterations (at eps 1e-2 and 1e-3; a few at 1e-4), beta to 1e-8 relative, SE to 1e-8 (1e-6 at eps 1e-4, where X'X has condition
    number 5e8: there float64 rounding alone puts the SE from the Cholesky pivot 2.7e-8 from NumPy's
    inverse, with the float64 kernel from before the float32 information too)."""
    rng = np.random.default_rng(3)
    n = 2000
    C = np.column_stack([np.ones(n), rng.standard_normal((n, 2))])
    y = (rng.random(n) < 0.3).astype(float)
    b_null, _, _, _, conv, _, null_mu, null_w, null_info = newton_fit(C, y, np.zeros(3), LOGISTIC, 25, 1e-8)
    assert conv
    for eps in (1e-2, 1e-3, 1e-4):
        g = 1.0 + 0.5 * C[:, 1] + eps * rng.standard_normal(n)
        fits = _mask_fits(C, g[None], y, (b_null, None, None, None, None, None, null_mu, null_w, null_info),
                          LOGISTIC, 1e-8, False, 1)
        beta, se, _, iters, conv, expl = (x[:, 0] for x in fits[3:])
        b, cov, _, it, ref_conv, ref_expl = newton_fit_reference(np.column_stack([C, g]), y, np.r_[b_null, 0.0],
                                                                 LOGISTIC, 25, 1e-8, variant_fit=True)
        assert (conv[0], expl[0]) == (ref_conv, ref_expl) == (True, False)
        if eps > 1e-4:
            assert iters[0] == it
        else:
            # condition number 5e8: rounding moves the Newton steps by ~1e-8, the convergence
            # tolerance, so the step that first passes it depends on the CPU's summation order
            # (NumPy took 4 or 7 steps on two targets, beta equal to 1e-11): no fixed count is
            # portable. Without the float64 information the kernel ran to max_iter (25).
            assert iters[0] <= 8 and it <= 8
        assert np.isclose(beta[0], b[-1], rtol=1e-8)
        assert np.isclose(se[0], np.sqrt(cov[-1, -1]), rtol=1e-8 if eps > 1e-4 else 1e-6)
