"""hubscan's regressions against Hail's linear_regression_rows and logistic_regression_rows
(wald, lrt, score, firth) and poisson_regression_rows (wald, lrt, score) on the same simulated data (500 samples x 200 variants, 2 covariates,
some missing genotypes: both mean-impute). Hail's ML fits stop at tol 1e-6 keeping the last
coefficients, an error of up to ~1e-6 in beta, where hubscan's ML fits take that last step (see
gwas/kernels/glm.py): Wald and LRT agree to HAIL_ML (relative and absolute), the score test (whose
null fit carries the same ~1e-6) to HAIL_SCORE_RTOL; Firth, with the same convention in both, to
HAIL_FIRTH_RTOL."""

import numpy as np
import pytest

from gwas.assoc import linear_regression, logistic_regression, poisson_regression

N, M = 500, 200
HAIL_LINEAR_RTOL = 1e-8
HAIL_ML = 2e-5
HAIL_SCORE_RTOL = 1e-6
HAIL_FIRTH_RTOL = 1e-8


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    g = rng.binomial(2, rng.uniform(0.05, 0.5, M)[:, None], (M, N)).astype(float)
    g[rng.random(g.shape) < 0.02] = np.nan
    cov = rng.standard_normal((N, 2))
    signal = np.nan_to_num(g[:3], nan=0.5).sum(axis=0)
    quant = 0.3 * signal + cov @ [0.4, -0.3] + rng.standard_normal(N)
    binary = (0.5 * signal + cov @ [0.3, 0.2] + rng.logistic(size=N) > 2.0).astype(float)
    return g, cov, quant, binary


@pytest.fixture(scope="module")
def matrix_table(hail, data, tmp_path_factory):
    hl = hail
    g, cov, quant, binary = data
    entries = [[None if np.isnan(x) else int(x) for x in row] for row in g]
    mt = hl.utils.range_matrix_table(M, N)
    gt = hl.literal(entries)
    mt = mt.annotate_entries(x=hl.float64(gt[mt.row_idx][mt.col_idx]))
    fields = {"q": quant.tolist(), "b": [bool(v) for v in binary], "c1": cov[:, 0].tolist(), "c2": cov[:, 1].tolist()}
    mt = mt.annotate_cols(**{name: hl.literal(values)[mt.col_idx] for name, values in fields.items()})
    return mt.checkpoint(str(tmp_path_factory.mktemp("hail-assoc") / "assoc.mt"))


def _collect(ht, fields):
    rows = ht.order_by(ht.row_idx).collect()
    return {f: np.array([np.nan if getattr(r, f) is None else getattr(r, f) for r in rows], dtype=float) for f in fields}


def test_linear_matches_hail(hail, data, matrix_table):
    """Same data, mean imputation of the missing genotypes in both."""
    hl = hail
    g, cov, quant, _ = data
    mt = matrix_table
    ht = hl.linear_regression_rows(y=mt.q, x=mt.x, covariates=[1.0, mt.c1, mt.c2])
    theirs = _collect(ht, ["beta", "standard_error", "t_stat", "p_value"])
    ours = linear_regression(g, quant, cov)
    for mine, field in ((ours.beta, "beta"), (ours.standard_error, "standard_error"), (ours.statistic, "t_stat"),
                        (ours.p_value, "p_value")):
        assert np.allclose(mine[:, 0], theirs[field], rtol=HAIL_LINEAR_RTOL, atol=0), field


@pytest.mark.parametrize("test", ["wald", "lrt", "score", "firth"])
def test_logistic_matches_hail(hail, data, matrix_table, test):
    hl = hail
    g, cov, _, binary = data
    mt = matrix_table
    ht = hl.logistic_regression_rows(test=test, y=mt.b, x=mt.x, covariates=[1.0, mt.c1, mt.c2])
    stat = {"wald": "z_stat", "lrt": "chi_sq_stat", "score": "chi_sq_stat", "firth": "chi_sq_stat"}[test]
    fields = [stat, "p_value"] + (["beta"] if test != "score" else [])
    theirs = _collect(ht, fields)
    ours = logistic_regression(g, binary, cov, test=test)
    rtol, atol = {"firth": (HAIL_FIRTH_RTOL, 1e-12), "score": (HAIL_SCORE_RTOL, 1e-12)}.get(test, (HAIL_ML, HAIL_ML))
    worst = np.nanargmax(np.abs(ours.statistic[:, 0] - theirs[stat]) / np.abs(theirs[stat]))
    assert np.allclose(ours.statistic[:, 0], theirs[stat], rtol=rtol, atol=atol, equal_nan=True), \
        (test, worst, ours.statistic[worst, 0], theirs[stat][worst], ours.error_code[worst, 0])
    assert np.allclose(ours.p_value[:, 0], theirs["p_value"], rtol=rtol, atol=atol, equal_nan=True), test
    if test != "score":
        assert np.allclose(ours.beta[:, 0], theirs["beta"], rtol=rtol, atol=atol / 10, equal_nan=True), test


@pytest.fixture(scope="module")
def counts(data):
    """A count trait on the same samples: log E[y] = 0.2 signal + covariates + log 1.5."""
    g, cov, _, _ = data
    rng = np.random.default_rng(12)
    signal = np.nan_to_num(g[:3], nan=0.5).sum(axis=0)
    return rng.poisson(np.exp(0.2 * signal + cov @ [0.2, -0.1] + np.log(1.5))).astype(float)


@pytest.mark.parametrize("test", ["wald", "lrt", "score"])
def test_poisson_matches_hail(hail, data, matrix_table, counts, test):
    """Hail's Poisson fit has the same stopping rule as its logistic one (tol 1e-6, last
    coefficients kept): the same tolerances as the logistic tests, HAIL_ML for Wald and LRT,
    HAIL_SCORE_RTOL for the score test."""
    hl = hail
    g, cov, _, _ = data
    mt = matrix_table.annotate_cols(n=hl.literal(counts.tolist())[matrix_table.col_idx])
    ht = hl.poisson_regression_rows(test=test, y=mt.n, x=mt.x, covariates=[1.0, mt.c1, mt.c2])
    stat = "z_stat" if test == "wald" else "chi_sq_stat"
    fields = [stat, "p_value"] + (["beta", "standard_error"] if test == "wald" else ["beta"] if test == "lrt" else [])
    theirs = _collect(ht, fields)
    ours = poisson_regression(g, counts, cov, test=test)
    rtol, atol = (HAIL_SCORE_RTOL, 1e-12) if test == "score" else (HAIL_ML, HAIL_ML)
    assert (ours.error_code[:, 0] == 0).all() and np.isfinite(theirs[stat]).all()
    assert np.allclose(ours.statistic[:, 0], theirs[stat], rtol=rtol, atol=atol), test
    assert np.allclose(ours.p_value[:, 0], theirs["p_value"], rtol=rtol, atol=atol), test
    if test != "score":
        assert np.allclose(ours.beta[:, 0], theirs["beta"], rtol=rtol, atol=atol / 10), test
    if test == "wald":
        assert np.allclose(ours.standard_error[:, 0], theirs["standard_error"], rtol=rtol, atol=atol / 10)
