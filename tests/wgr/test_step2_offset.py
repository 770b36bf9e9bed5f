"""``offset=`` in the logistic and Poisson models (gwas.assoc.glm and the Numba kernels) against
statsmodels' GLM with the same offset, and Firth with an offset against the NumPy reference."""

import numpy as np
import pytest
import statsmodels.api as sm

from gwas.assoc import logistic_regression, poisson_regression
from gwas.kernels.firth import firth_fit, firth_fit_reference
from gwas.kernels.glm import LOGISTIC, POISSON, newton_fit
from hubscan.errors import InputError


def _data(seed=3, n=500, m=6):
    rng = np.random.default_rng(seed)
    g = rng.binomial(2, rng.uniform(0.1, 0.5, m)[:, None], (m, n)).astype(float)
    cov = rng.standard_normal((n, 2))
    offset = rng.normal(0, 0.7, n)
    eta = -0.5 + 0.3 * cov[:, 0] + offset + 0.25 * g[0]
    y_bin = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    y_cnt = rng.poisson(np.exp(0.2 + 0.2 * cov[:, 1] + offset + 0.15 * g[1])).astype(float)
    return g, cov, offset, y_bin, y_cnt


def _statsmodels(y, cov, g, offset, family):
    X0 = sm.add_constant(cov)
    null = sm.GLM(y, X0, family=family, offset=offset).fit(tol=1e-12)
    rows = []
    for x in g:
        full = sm.GLM(y, np.column_stack([X0, x]), family=family, offset=offset).fit(tol=1e-12)
        # Rao score test at the null fit: U = g'(y - mu), V = g'Wg - g'WX (X'WX)^-1 X'Wg
        mu = null.mu
        w = mu * (1 - mu) if isinstance(family, sm.families.Binomial) else mu
        u = x @ (y - mu)
        xw = X0.T @ (w * x)
        v = x @ (w * x) - xw @ np.linalg.solve(X0.T @ (X0 * w[:, None]), xw)
        rows.append((full.params[-1], full.bse[-1], full.pvalues[-1], 2 * (full.llf - null.llf), u * u / v, u / v,
                     1 / np.sqrt(v)))
    return np.array(rows)


@pytest.mark.parametrize("model", ["logistic", "poisson"])
def test_offset_matches_statsmodels_glm(model):
    """Wald beta, SE and p to 1e-7 relative, LRT chi² and score chi² (with beta = U/V, SE =
    1/sqrt(V)) to 1e-6: both fits converged to tol 1e-10 (coefficients), statsmodels to 1e-12."""
    g, cov, offset, y_bin, y_cnt = _data()
    family = sm.families.Binomial() if model == "logistic" else sm.families.Poisson()
    y = y_bin if model == "logistic" else y_cnt
    ref = _statsmodels(y, cov, g, offset, family)
    run = logistic_regression if model == "logistic" else poisson_regression
    wald = run(g, y, cov, test="wald", tol=1e-10, offset=offset)
    lrt = run(g, y, cov, test="lrt", tol=1e-10, offset=offset)
    score = run(g, y, cov, test="score", tol=1e-10, offset=offset)
    np.testing.assert_allclose(wald.beta[:, 0], ref[:, 0], rtol=1e-7)
    np.testing.assert_allclose(wald.standard_error[:, 0], ref[:, 1], rtol=1e-7)
    np.testing.assert_allclose(wald.p_value[:, 0], ref[:, 2], rtol=1e-6)
    np.testing.assert_allclose(lrt.statistic[:, 0], ref[:, 3], rtol=1e-6)
    np.testing.assert_allclose(score.statistic[:, 0], ref[:, 4], rtol=1e-6)
    np.testing.assert_allclose(score.beta[:, 0], ref[:, 5], rtol=1e-6)
    np.testing.assert_allclose(score.standard_error[:, 0], ref[:, 6], rtol=1e-6)
    # the offset matters: without it the estimates move
    plain = run(g, y, cov, test="wald", tol=1e-10)
    assert np.abs(plain.beta[:, 0] - ref[:, 0]).max() > 1e-3


def test_offset_per_trait_and_own_samples():
    """A (samples, traits) offset: each trait its own offset and samples, as one trait at a time."""
    g, cov, offset, y_bin, _ = _data(seed=5)
    y2 = y_bin.copy()
    y2[::7] = np.nan
    off2 = np.column_stack([offset, -offset])
    both = logistic_regression(g, np.column_stack([y_bin, y2]), cov, test="wald", tol=1e-10, offset=off2)
    one = logistic_regression(g, y2, cov, test="wald", tol=1e-10, offset=-offset)
    np.testing.assert_allclose(both.beta[:, 1], one.beta[:, 0], rtol=1e-12)
    ok = ~np.isnan(y2)
    ref = sm.GLM(y2[ok], np.column_stack([sm.add_constant(cov[ok]), g[2, ok]]), family=sm.families.Binomial(),
                 offset=-offset[ok]).fit(tol=1e-12)
    np.testing.assert_allclose(both.beta[2, 1], ref.params[-1], rtol=1e-7)


def test_firth_with_offset_kernel_equals_numpy_reference():
    """Firth's fit with an offset: the Numba kernel, its plain-Python run and the NumPy (QR)
    reference give the same coefficients (1e-9) and penalized log-likelihood (1e-10)."""
    g, cov, offset, y, _ = _data(seed=8, n=300)
    X = np.column_stack([np.ones(300), cov, g[0]])
    jit = firth_fit(X, y, np.zeros(4), 4, 100, 1e-10, offset)
    plain = firth_fit.py_func(X, y, np.zeros(4), 4, 100, 1e-10, offset)
    ref = firth_fit_reference(X, y, np.zeros(4), 4, 100, 1e-10, offset)
    assert jit[3] and ref[3]
    np.testing.assert_allclose(jit[0], ref[0], rtol=1e-9)
    np.testing.assert_allclose(plain[0], jit[0], rtol=1e-12)
    np.testing.assert_allclose(jit[1], ref[1], rtol=1e-10)
    without = firth_fit(X, y, np.zeros(4), 4, 100, 1e-10)
    assert np.abs(without[0] - jit[0]).max() > 1e-2


def test_firth_test_with_offset_equals_reference_lrt():
    """test='firth' with an offset: beta, and the penalized LRT chi² = 2 (l*_full - l*_null) with
    the constrained null fit, from the reference fits (1e-7)."""
    g, cov, offset, y, _ = _data(seed=9, n=300, m=3)
    res = logistic_regression(g, y, cov, test="firth", tol=1e-10, offset=offset)
    X0 = np.column_stack([np.ones(300), cov])
    for v in range(3):
        X = np.column_stack([X0, g[v]])
        b_null = newton_fit(X0, y, np.zeros(3), LOGISTIC, 25, 1e-10, offset)[0]
        null = firth_fit_reference(X, y, np.append(b_null, 0.0), 3, 100, 1e-10, offset)
        full = firth_fit_reference(X, y, null[0], 4, 100, 1e-10, offset)
        np.testing.assert_allclose(res.beta[v, 0], full[0][-1], rtol=1e-7)
        np.testing.assert_allclose(res.statistic[v, 0], 2 * (full[1] - null[1]), rtol=1e-7)


def test_newton_fit_with_offset_runs_as_plain_python():
    g, cov, offset, y_bin, y_cnt = _data(seed=4, n=200)
    X = np.column_stack([np.ones(200), cov])
    for family, y in ((LOGISTIC, y_bin), (POISSON, y_cnt)):
        jit = newton_fit(X, y, np.zeros(3), family, 25, 1e-10, offset)
        plain = newton_fit.py_func(X, y, np.zeros(3), family, 25, 1e-10, offset)
        np.testing.assert_allclose(jit[0], plain[0], rtol=1e-12)


def test_bad_offset():
    g, cov, offset, y, _ = _data(n=50, m=2)
    offset[3] = np.nan
    with pytest.raises(InputError, match="offset of trait 0 is missing or not finite at sample 3"):
        logistic_regression(g, y, cov, offset=offset)
    y[3] = np.nan  # the trait is missing there: fine
    logistic_regression(g, y, cov, offset=offset)
    with pytest.raises(InputError, match=r"offset must be \(samples,\) or \(samples, traits\)"):
        logistic_regression(g, y, cov, offset=offset[:10])
