"""Every number of ../shared/data/hail/EXPECTED_VALUES.txt (R lm/glm and Hail's Firth toy cases),
recomputed by hubscan from the same files. Expected values and tolerances are kept here with their
source: hail-is/hail @ fd91ae3 test_statgen.py (R-validated); `places=6` means |diff| < 5e-7."""

import numpy as np
import pytest

from gwas.assoc import ErrorCode, linear_regression, logistic_regression, poisson_regression

PLACES6 = 5e-7


def _read_vcf_gt(path):
    samples, rows = None, []
    for line in path.read_text().splitlines():
        if line.startswith("##"):
            continue
        fields = line.split("\t")
        if line.startswith("#"):
            samples = fields[9:]
            continue
        gts = [f.split(":")[0] for f in fields[9:]]
        rows.append([np.nan if "." in g else g.replace("|", "/").split("/").count("1") for g in gts])
    return samples, np.array(rows, dtype=float)


def _read_table(path, missing):
    lines = [line.split() for line in path.read_text().splitlines()]
    header = lines[0]
    values = {}
    for row in lines[1:]:
        vals = []
        for v in row[1:]:
            if v == missing:
                vals.append(np.nan)
            elif v in ("true", "false"):
                vals.append(1.0 if v == "true" else 0.0)
            else:
                vals.append(float(v))
        values[row[0]] = vals
    return header[1:], values


def _dataset(hail_dir, vcf, pheno, cov, missing):
    samples, dosage = _read_vcf_gt(hail_dir / vcf)
    _, y = _read_table(hail_dir / pheno, missing)
    _, c = _read_table(hail_dir / cov, "NA")
    trait = np.array([y.get(s, [np.nan])[0] for s in samples])
    covs = np.array([c.get(s, [np.nan, np.nan]) for s in samples])
    return dosage, trait, covs


@pytest.fixture(scope="module")
def hail_dir(shared_data):
    return shared_data / "hail"


def test_linear_with_covariates(hail_dir):
    dosage, y, cov = _dataset(hail_dir, "regressionLinear.vcf", "regressionLinear.pheno", "regressionLinear.cov", "0")
    r = linear_regression(dosage, y, cov)
    expected = {1: (-0.28589421, 1.2739153, -0.22442167, 0.84327106),
                2: (-0.5417647, 0.3350599, -1.616919, 0.24728705),
                3: (1.07367185, 0.6764348, 1.5872510, 0.2533675)}
    for pos, values in expected.items():
        got = (r.beta[pos - 1, 0], r.standard_error[pos - 1, 0], r.statistic[pos - 1, 0], r.p_value[pos - 1, 0])
        assert np.allclose(got, values, atol=PLACES6, rtol=0), (pos, got)
    assert np.isnan(r.standard_error[5:10, 0]).all() and np.isnan(r.p_value[5, 0])
    assert r.error_code[5, 0] == ErrorCode.MONOMORPHIC and (r.error_code[5:10, 0] != 0).all()
    assert (r.n[:, 0] == 6).all()
    assert np.allclose(r.neg_log10_p[:3, 0], -np.log10(r.p_value[:3, 0]), rtol=1e-12)


def test_linear_without_intercept(hail_dir):
    dosage, y, _ = _dataset(hail_dir, "regressionLinear.vcf", "regressionLinear.pheno", "regressionLinear.cov", "0")
    cov_ok = ~np.isnan(_dataset(hail_dir, "regressionLinear.vcf", "regressionLinear.pheno",
                                "regressionLinear.cov", "0")[2][:, 0])
    y = np.where(cov_ok, y, np.nan)  # Hail's test keeps the samples that have covariates
    r = linear_regression(dosage[:1], y, None, add_intercept=False)
    assert np.allclose([r.beta[0, 0], r.standard_error[0, 0], r.statistic[0, 0], r.p_value[0, 0]],
                       [1.5, 1.161895, 1.290994, 0.25317], atol=5e-6, rtol=0)


@pytest.fixture(scope="module")
def logistic_data(hail_dir):
    return _dataset(hail_dir, "regressionLogistic.vcf", "regressionLogisticBoolean.pheno", "regressionLogistic.cov", "0")


def test_logistic_wald(logistic_data):
    r = logistic_regression(*logistic_data, test="wald")
    expected = {1: (-0.81226793796, 2.1085483421, -0.3852261396, 0.7000698784),
                2: (-0.43659460858, 1.0296902941, -0.4240057531, 0.6715616176)}
    for pos, values in expected.items():
        got = (r.beta[pos - 1, 0], r.standard_error[pos - 1, 0], r.statistic[pos - 1, 0], r.p_value[pos - 1, 0])
        assert np.allclose(got, values, atol=PLACES6, rtol=0), (pos, got)
    # Position 3 separates: the fit does not converge (a flag, not a silent NaN).
    assert not r.converged[2, 0] and r.error_code[2, 0] in (ErrorCode.NOT_CONVERGED, ErrorCode.EXPLODED)
    assert all(np.isnan(r.p_value[v, 0]) or abs(r.p_value[v, 0] - 1) < 1e-4 for v in range(5, 10))
    assert r.n_cases[0, 0] == 6 and r.n_controls[0, 0] == 4


def test_logistic_lrt(logistic_data):
    r = logistic_regression(*logistic_data, test="lrt")
    for pos, (beta, chi2, p) in {1: (-0.81226793796, 0.1503349167, 0.6982155052),
                                 2: (-0.43659460858, 0.1813968574, 0.6701755415)}.items():
        assert np.allclose([r.beta[pos - 1, 0], r.statistic[pos - 1, 0], r.p_value[pos - 1, 0]], [beta, chi2, p],
                           atol=PLACES6, rtol=0)
    assert not r.converged[2, 0]


def test_logistic_score(logistic_data):
    r = logistic_regression(*logistic_data, test="score")
    for pos, (chi2, p) in {1: (0.1502364955, 0.6983094571), 2: (0.1823600965, 0.6693528073),
                           3: (7.047367694, 0.007938182229)}.items():
        assert np.allclose([r.statistic[pos - 1, 0], r.p_value[pos - 1, 0]], [chi2, p], atol=PLACES6, rtol=0)
    assert all(np.isnan(r.statistic[v, 0]) or r.statistic[v, 0] < 1e-6 for v in range(5, 10))


@pytest.fixture(scope="module")
def poisson_data(hail_dir):
    return _dataset(hail_dir, "regressionLogistic.vcf", "regressionPoisson.pheno", "regressionLogistic.cov", "-1")


#: R's glm reports the SE from the IRLS weights of its last iteration's *start* (one step before the
#: MLE), about 6e-7 from the SE at the MLE here; statsmodels (SE at the MLE, tol 1e-12) agrees with
#: hubscan to 1e-7. So R's Poisson Wald SE, z and p are compared at 2e-6, beta at places=6.
R_IRLS_SE_GAP = 2e-6
R_IRLS_SCORE_GAP = 2e-5


def test_poisson_wald_lrt_score(poisson_data):
    import statsmodels.api as sm

    wald = poisson_regression(*poisson_data, test="wald")
    for pos, values in {1: (0.6725210143, 0.7265562271, 0.9256283123, 0.3546391746),
                        2: (-0.5025904503, 0.3549856127, -1.415805126, 0.1568325682)}.items():
        got = (wald.beta[pos - 1, 0], wald.standard_error[pos - 1, 0], wald.statistic[pos - 1, 0], wald.p_value[pos - 1, 0])
        assert abs(got[0] - values[0]) < PLACES6
        assert np.allclose(got[1:], values[1:], atol=R_IRLS_SE_GAP, rtol=0), (pos, got)
        g, y, c = poisson_data
        ok = ~np.isnan(y) & ~np.isnan(c).any(axis=1)
        x = np.where(np.isnan(g[pos - 1][ok]), np.nanmean(g[pos - 1][ok]), g[pos - 1][ok])
        ref = sm.GLM(y[ok], np.column_stack([np.ones(ok.sum()), c[ok], x]), family=sm.families.Poisson()).fit(tol=1e-12)
        assert abs(ref.params[-1] - got[0]) < 1e-7 and abs(ref.bse[-1] - got[1]) < 1e-7
    lrt = poisson_regression(*poisson_data, test="lrt")
    for pos, values in {1: (0.6725210143, 0.8334198333, 0.361285509), 2: (-0.5025904503, 2.193682097, 0.1385776894)}.items():
        assert np.allclose([lrt.beta[pos - 1, 0], lrt.statistic[pos - 1, 0], lrt.p_value[pos - 1, 0]], values,
                           atol=PLACES6, rtol=0)
    # R's Rao test reuses the same lagged IRLS weights (a 1e-5 gap here); statsmodels' score_test on a
    # null fitted to 1e-12 agrees with hubscan to 1e-8, so R is compared at R_IRLS_SCORE_GAP.
    score = poisson_regression(*poisson_data, test="score")
    g, y, c = poisson_data
    ok = ~np.isnan(y) & ~np.isnan(c).any(axis=1)
    null = sm.GLM(y[ok], np.column_stack([np.ones(ok.sum()), c[ok]]), family=sm.families.Poisson()).fit(tol=1e-12)
    for pos, values in {1: (0.8782455145, 0.3486826695), 2: (2.067574259, 0.1504606684),
                        3: (5.483930429, 0.01919205854)}.items():
        assert np.allclose([score.statistic[pos - 1, 0], score.p_value[pos - 1, 0]], values, atol=R_IRLS_SCORE_GAP, rtol=0)
        x = np.where(np.isnan(g[pos - 1][ok]), np.nanmean(g[pos - 1][ok]), g[pos - 1][ok])
        assert abs(null.score_test(exog_extra=x[:, None])[0][0] - score.statistic[pos - 1, 0]) < 1e-8


@pytest.mark.parametrize("max_iter, converged", [(106, True), (105, False)])
def test_firth_toy_convergence(max_iter, converged):
    """x = [1, 3, 10], y = [0, 1, 1], intercept only: Hail's values to 1e-14 (absolute)."""
    r = logistic_regression(np.array([[1.0, 3.0, 10.0]]), np.array([0.0, 1.0, 1.0]), test="firth",
                            firth_max_iter=max_iter)
    assert r.converged[0, 0] == converged and r.iterations[0, 0] == max_iter
    if converged:
        assert abs(r.beta[0, 0] - 0.19699166375172233) < 1e-14
        assert abs(r.statistic[0, 0] - 0.6464918007192411) < 1e-13
        assert abs(r.p_value[0, 0] - 0.4213697518249182) < 1e-13
    else:
        assert r.error_code[0, 0] == ErrorCode.NOT_CONVERGED and np.isnan(r.beta[0, 0])


def test_firth_toy_explodes_in_12_steps():
    r = logistic_regression(np.array([[1.0, 1.0, 10.0]]), np.array([0.0, 1.0, 1.0]), test="firth")
    assert r.exploded[0, 0] and r.iterations[0, 0] == 12 and r.error_code[0, 0] == ErrorCode.EXPLODED
