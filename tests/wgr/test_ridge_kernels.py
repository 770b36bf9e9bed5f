"""The ridge kernels of step 1 against their plain NumPy definitions (one solve per λ, one refit
per left-out row). Tolerance 1e-9 relative: the same quantities by an eigendecomposition instead of
a linear solve differ by rounding in the condition number (< 1e3 here) times machine epsilon."""

import numpy as np

from gwas.kernels.ridge import (loo_ridge, loo_ridge_reference, ridge_path, ridge_path_cholesky,
                                ridge_path_reference)
from gwas.wgr.model import fold_bounds, ridge_grid, scale_level0


def test_ridge_paths_equal_one_solve_per_lambda():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 12))
    a, b = x.T @ x, x.T @ rng.normal(size=(60, 3))
    lambdas = ridge_grid([0.01, 0.25, 0.5, 0.75, 0.99], 12)
    expected = ridge_path_reference(a, b, lambdas)
    np.testing.assert_allclose(ridge_path(a, b, lambdas), expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ridge_path_cholesky(a, b, lambdas), expected, rtol=1e-9, atol=1e-12)


def test_loo_ridge_equals_refitting_without_each_row():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(25, 6))
    y = rng.normal(size=(25, 2))
    lambdas = np.array([0.5, 3.0, 40.0])
    np.testing.assert_allclose(loo_ridge(x, y, lambdas), loo_ridge_reference(x, y, lambdas), rtol=1e-9, atol=1e-12)


def test_grids_and_folds_follow_regenie():
    # REGENIE prints h2 = M / (M + λ) for its level-0 grid: the inverse of λ = M (1 - h2) / h2
    lam = ridge_grid([0.01, 0.5, 0.99], 1000)
    np.testing.assert_allclose(1000 / (1000 + lam), [0.01, 0.5, 0.99])
    np.testing.assert_allclose(ridge_grid([0.5], 10, binary=True), [10 * 3 / np.pi ** 2])
    assert fold_bounds(503, 5).tolist() == [0, 100, 200, 300, 400, 503]


def test_scaled_columns_have_zero_mean_and_unit_variance_over_the_trait_samples():
    rng = np.random.default_rng(3)
    pred = rng.normal(size=(2, 40, 3)) + 5
    mask = np.ones((40, 2), dtype=bool)
    mask[::3, 1] = False
    neff = mask.sum(axis=0).astype(float)
    out = scale_level0(pred, mask, neff)
    for t in range(2):
        col = out[t][mask[:, t]]
        np.testing.assert_allclose(col.mean(axis=0), 0, atol=1e-12)
        np.testing.assert_allclose(col.var(axis=0, ddof=1), 1, rtol=1e-12)
        assert (out[t][~mask[:, t]] == 0).all()
