"""Step 2's block kernels (gwas.kernels.spa, gwas.kernels.firth_approx) against the per-variant
Python definitions in gwas.wgr.step2 (spa_test, approximate_firth, rare_carriers), which the
REGENIE agreement tests (test_step2_regenie.py) check against REGENIE v4.1.2 itself.

Tolerance 1e-10 relative (and 1e-12 absolute for values near 0): both compute the same formulas;
sums run in a different order (BLAS dot products against sequential loops), which moves the
saddle point and the Firth estimate by rounding only (measured: SPA chi² and -log10 p within
5e-13 relative, Firth beta and SE within 1e-13). The approximate Firth's chi² = 2 (l*(beta) -
l*(0)) is a difference of two sums of n log-likelihood terms (|l*| ~ 1e3 here): reordering them
moves it by up to n x eps x |l*| ~ 1e-10 absolute (measured 5e-12), so chi² is compared to 1e-10
relative or absolute. Failures (no saddle point, no convergence) must agree exactly."""

import numpy as np
import pytest
from scipy import special

from gwas.kernels.firth_approx import approximate_firth_block
from gwas.kernels.spa import FAILED, spa_block, spa_chi2
from gwas.wgr.step2 import approximate_firth, carrier_mask, rare_carriers, spa_test

RTOL, ATOL = 1e-10, 1e-12


def _null(n, prevalence, seed):
    """Covariates, a binary trait with a polygenic-like offset and its null logistic fit."""
    rng = np.random.default_rng(seed)
    c = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    offset = 0.3 * rng.normal(size=n)
    eta = np.log(prevalence / (1 - prevalence)) + c[:, 1] * 0.4 + offset
    y = (rng.random(n) < special.expit(eta)).astype(float)
    b = np.zeros(3)
    for _ in range(30):                      # Newton-Raphson of y on C with the offset
        mu = special.expit(offset + c @ b)
        b = b + np.linalg.solve((c * (mu * (1 - mu))[:, None]).T @ c, c.T @ (y - mu))
    mu = special.expit(offset + c @ b)
    return rng, c, y, mu, mu * (1 - mu), offset + c @ b


def _genotypes(rng, n, freqs):
    g = rng.binomial(2, np.asarray(freqs)[:, None], size=(len(freqs), n)).astype(float)
    g[:, rng.random(n) < 0.01] = 0.7           # mean-imputed calls
    return g


def _adjust(g, c, w):
    cwc_inv = np.linalg.inv((c * w[:, None]).T @ c)
    return g - (((g * w[None, :]) @ c) @ cwc_inv) @ c.T


@pytest.mark.parametrize("prevalence", [0.3, 0.02])
def test_spa_kernel_equals_the_per_variant_definition(prevalence):
    n = 1500
    rng, c, y, mu, w, _ = _null(n, prevalence, seed=11)
    # common (exact SPA: more than half of the samples carry), rare and very rare (fast SPA), and
    # monomorphic after adjustment (no saddle point)
    freqs = [0.45, 0.3, 0.1, 0.02, 0.005, 0.001, 0.0004] * 3
    g = _genotypes(rng, n, freqs)
    g[-1] = 0.0
    g_t = _adjust(g, c, w)
    status = np.empty((len(g), 2), dtype=np.int8)
    z = np.empty((len(g), 2))
    spa_block(g_t, g != 0, y, mu, w, status, z)
    chi2, nlp = spa_chi2(status, z)
    expected = np.array([spa_test(gt, gv != 0, y, mu, w) for gt, gv in zip(g_t, g)])
    np.testing.assert_array_equal(np.isnan(chi2), np.isnan(expected[:, 0]))
    assert np.isfinite(chi2).sum() >= len(g) - 2 and np.isnan(chi2[-1])
    assert (status[-1] == FAILED).any()
    np.testing.assert_allclose(chi2, expected[:, 0], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(nlp, expected[:, 1], rtol=RTOL, atol=ATOL)
    # fast and exact SPA both exercised
    fast = (g != 0).sum(axis=1) <= 0.5 * n
    assert fast.any() and (~fast).any()


def test_spa_kernel_as_plain_python_equals_compiled():
    n = 300
    rng, c, y, mu, w, _ = _null(n, 0.2, seed=12)
    g = _genotypes(rng, n, [0.4, 0.05, 0.01])
    g_t = _adjust(g, c, w)
    out = []
    for fn in (spa_block, spa_block.py_func):
        status = np.empty((3, 2), dtype=np.int8)
        z = np.empty((3, 2))
        fn(g_t, g != 0, y, mu, w, status, z)
        out.append((status, z))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-13)


@pytest.mark.parametrize("prevalence", [0.3, 0.02])
def test_approximate_firth_kernel_equals_the_per_variant_definition(prevalence):
    n = 1500
    rng, c, y, mu, w, offset = _null(n, prevalence, seed=13)
    freqs = [0.45, 0.2, 0.05, 0.01, 0.003, 0.001] * 3
    g = _genotypes(rng, n, freqs)
    g[-1] = 0.0                                   # no information: no result
    # a strong effect (a large step, halving) on one common variant
    y = np.where(g[0] == 2, 1.0, y)
    g_t = _adjust(g, c, w)
    ac = g.sum(axis=1)
    carriers = carrier_mask(g, np.full(len(g), n), ac)
    for v in range(len(g)):
        ref = rare_carriers(g[v], n, ac[v])
        np.testing.assert_array_equal(carriers[v], np.ones(n, bool) if ref is None else ref)
    g_t = np.where(carriers, g_t, 0.0)
    beta, se, chi2 = (np.empty(len(g)) for _ in range(3))
    approximate_firth_block(g_t, y, offset, beta, se, chi2)
    # the reference divides by the zero information of the last (never tested: monomorphic) row
    expected = np.array([approximate_firth(gt, y, offset) for gt in g_t[:-1]])
    assert np.isnan([beta[-1], se[-1], chi2[-1]]).all() and np.isfinite(beta[:-1]).all()
    for got, want, atol in zip((beta[:-1], se[:-1], chi2[:-1]), expected.T, (ATOL, ATOL, 1e-10)):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=atol)
    assert chi2[0] > 20                          # the planted effect was fitted


def test_approximate_firth_kernel_as_plain_python_equals_compiled():
    n = 300
    rng, c, y, mu, w, offset = _null(n, 0.2, seed=14)
    g_t = _adjust(_genotypes(rng, n, [0.4, 0.05]), c, w)
    out = []
    for fn in (approximate_firth_block, approximate_firth_block.py_func):
        res = [np.empty(2) for _ in range(3)]
        fn(g_t, y, offset, *res)
        out.append(np.array(res))
    np.testing.assert_allclose(out[0], out[1], rtol=1e-13)
