"""hubscan's regressions against plink2 --glm on the same simulated data (2,000 samples x 2,000
variants, 3 covariates, no missing genotypes: plink2 drops missing calls where hubscan mean-imputes).

plink2 prints 6 significant digits, so agreement is checked to its printed precision: |ours - plink2|
within half a unit of the 6th significant digit plus 1e-6 relative (PRINTED)."""

import subprocess

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from gwas.assoc import ErrorCode, linear_regression, logistic_regression
from gwas.qc.from_store import BED_MAGIC, pack_bed

N, M = 2000, 2000


def printed_tolerance(values: np.ndarray) -> np.ndarray:
    """Half a unit of the 6th significant digit, plus 1e-6 relative."""
    mag = np.floor(np.log10(np.maximum(np.abs(values), 1e-300)))
    return 0.5 * 10.0 ** (mag - 5) + 1e-6 * np.abs(values)


@pytest.fixture(scope="module")
def data(tmp_path_factory, plink2):
    rng = np.random.default_rng(2024)
    root = tmp_path_factory.mktemp("glm")
    freq = rng.uniform(0.02, 0.5, M)
    g = rng.binomial(2, freq[:, None], size=(M, N)).astype(float)
    cov = rng.standard_normal((N, 3))
    causal = g[:5].sum(axis=0)
    quant = 0.3 * causal + cov @ [0.5, -0.2, 0.1] + rng.standard_normal(N)
    liability = 0.4 * causal + cov @ [0.3, 0.0, -0.2] + rng.standard_normal(N)
    binary = (liability > np.quantile(liability, 0.9)).astype(float)
    ids = [f"I{i}" for i in range(N)]
    (root / "d.fam").write_text("".join(f"{s} {s} 0 0 0 -9\n" for s in ids))
    (root / "d.bim").write_text("".join(f"1\tv{v}\t0\t{1000 + v * 100}\tA\tG\n" for v in range(M)))
    (root / "d.bed").write_bytes(BED_MAGIC + pack_bed(g.astype(np.int8)))
    pheno = pd.DataFrame({"#FID": ids, "IID": ids, "q": quant, "b": binary.astype(int) + 1})
    pheno.to_csv(root / "pheno.txt", sep="\t", index=False, float_format="%.17g")
    covar = pd.DataFrame({"#FID": ids, "IID": ids, "c1": cov[:, 0], "c2": cov[:, 1], "c3": cov[:, 2]})
    covar.to_csv(root / "covar.txt", sep="\t", index=False, float_format="%.17g")

    def run(mode, out):
        args = [plink2, "--bfile", str(root / "d"), "--pheno", str(root / "pheno.txt"), "--covar",
                str(root / "covar.txt"), "--glm", "hide-covar", *mode, "--threads", "2", "--out", str(root / out)]
        result = subprocess.run(args, capture_output=True, text=True, env={"OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
        assert result.returncode == 0, result.stdout[-2000:]

    run([], "default")  # linear for q, firth-fallback for b
    run(["no-firth"], "wald")
    run(["firth"], "firth")
    return root, g, cov, quant, binary


def _read(root, name):
    """plink2's ADD rows, with ``sign`` +1 where its tested allele A1 is ALT and -1 where plink2
    tested REF (it does when ALT is the major allele in the sample)."""
    frame = pd.read_csv(root / name, sep="\t")
    frame = frame[frame["TEST"] == "ADD"].reset_index(drop=True)
    frame["sign"] = np.where(frame["A1"] == frame["ALT"], 1.0, -1.0)
    return frame


def _agree(ours, theirs):
    ok = np.isfinite(theirs)
    assert ok.sum() > 0.95 * len(theirs)
    assert (np.abs(ours[ok] - theirs[ok]) <= printed_tolerance(theirs[ok])).all(), \
        np.max(np.abs(ours[ok] - theirs[ok]) / printed_tolerance(theirs[ok]))


def test_linear_matches_plink2(data):
    root, g, cov, quant, _ = data
    ours = linear_regression(g, quant, cov)
    theirs = _read(root, "default.q.glm.linear")
    _agree(ours.beta[:, 0], theirs["sign"] * theirs["BETA"].to_numpy())
    _agree(ours.standard_error[:, 0], theirs["SE"].to_numpy())
    _agree(ours.statistic[:, 0], theirs["sign"] * theirs["T_STAT"].to_numpy())
    _agree(ours.p_value[:, 0], theirs["P"].to_numpy())
    assert (ours.n[:, 0] == theirs["OBS_CT"]).all()


#: plink2 fits logistic models in part in single precision: its SE and p differ from an exact fit
#: (statsmodels, tol 1e-12) by up to ~3e-6 and ~2e-5 relative on this data, where hubscan and
#: statsmodels agree to 1e-9. So plink2's logistic SE and p are compared at these, its OR at print.
PLINK2_LOGISTIC_SE_RTOL = 1e-5
PLINK2_LOGISTIC_P_RTOL = 5e-5


def test_logistic_wald_matches_plink2_and_statsmodels(data):
    import statsmodels.api as sm

    root, g, cov, _, binary = data
    ours = logistic_regression(g, binary, cov, test="wald")
    theirs = _read(root, "wald.b.glm.logistic")
    fine = (theirs["ERRCODE"] == ".").to_numpy() & (ours.error_code[:, 0] == ErrorCode.OK)
    assert fine.mean() > 0.99
    _agree(np.exp(theirs.loc[fine, "sign"] * ours.beta[fine, 0]), theirs.loc[fine, "OR"].to_numpy())
    assert np.allclose(ours.standard_error[fine, 0], theirs.loc[fine, "LOG(OR)_SE"], rtol=PLINK2_LOGISTIC_SE_RTOL, atol=0)
    assert np.allclose(ours.p_value[fine, 0], theirs.loc[fine, "P"], rtol=PLINK2_LOGISTIC_P_RTOL, atol=0)
    for v in range(0, M, 100):
        ref = sm.Logit(binary, np.column_stack([np.ones(N), cov, g[v]])).fit(disp=0, tol=1e-12, method="newton")
        assert np.allclose([ours.beta[v, 0], ours.standard_error[v, 0], ours.p_value[v, 0]],
                           [ref.params[-1], ref.bse[-1], ref.pvalues[-1]], rtol=1e-9, atol=0)


#: plink2's Firth fit stops earlier than ours (its OR moves by up to 3e-5 relative when iterated
#: to 1e-12; ours by less than tol = 1e-6 absolute between tol 1e-6 and 1e-12), and it runs in part
#: in single precision through the machine's OpenBLAS kernels (which differ between CPU models), so
#: its OR and SE are compared at this relative tolerance.
PLINK2_FIRTH_RTOL = 5e-5


def firth_z_tolerance(standard_error, z):
    """How far plink2's Wald z = ln(OR) / SE may be from ours when its OR and SE are each within
    PLINK2_FIRTH_RTOL: |dz| <= |d ln OR| / SE + |z| |dSE| / SE, plus the z that its 6 printed digits
    of P leave open (|dp / p| <= 5e-6 and |d ln p / dz| ~ |z| for a normal tail). A p-value itself
    cannot take a fixed relative tolerance: its relative error is about z^2 times z's (1.6e-3 at
    z = 6.3 for the 3e-5 above), so p is compared through z."""
    return PLINK2_FIRTH_RTOL * (1 / standard_error + np.abs(z)) + 5e-6 / np.maximum(np.abs(z), 1.0)


def test_firth_matches_plink2(data):
    """plink2's Firth p is the Wald p of the penalized fit: compare with firth_p='wald'."""
    root, g, cov, _, binary = data
    sub = slice(0, 400)  # Firth for every variant is the slow path: 400 variants suffice here
    ours = logistic_regression(g[sub], binary, cov, test="firth", firth_p="wald")
    theirs = _read(root, "firth.b.glm.firth").iloc[sub]
    assert (ours.error_code[:, 0] == ErrorCode.OK).all() and (theirs["ERRCODE"] == ".").all()
    assert np.allclose(np.exp(theirs["sign"] * ours.beta[:, 0]), theirs["OR"], rtol=PLINK2_FIRTH_RTOL, atol=0)
    assert np.allclose(ours.standard_error[:, 0], theirs["LOG(OR)_SE"], rtol=PLINK2_FIRTH_RTOL, atol=0)
    z_ours = np.abs(ours.beta[:, 0] / ours.standard_error[:, 0])
    z_theirs = norm.isf(theirs["P"].to_numpy() / 2)
    assert (np.abs(z_ours - z_theirs) <= firth_z_tolerance(ours.standard_error[:, 0], z_ours)).all()
    tight = logistic_regression(g[:50], binary, cov, test="firth", firth_p="wald", tol=1e-12)
    assert np.allclose(ours.beta[:50, 0], tight.beta[:, 0], rtol=0, atol=1e-6)  # within the tolerance


@pytest.mark.parametrize("first", ["wald", "score"])
def test_firth_fallback_uses_firth_where_the_first_p_is_small(data, first):
    _, g, cov, _, binary = data
    sub = slice(0, 200)
    fast = logistic_regression(g[sub], binary, cov, test=first)
    mixed = logistic_regression(g[sub], binary, cov, test="firth-fallback", fallback_p=0.05, fallback_first=first)
    firth = logistic_regression(g[sub], binary, cov, test="firth")
    small = fast.p_value[:, 0] < 0.05
    assert (mixed.firth_used[:, 0] == small).all() and small.any() and (~small).any()
    assert np.array_equal(mixed.p_value[~small, 0], fast.p_value[~small, 0])
    assert np.array_equal(mixed.p_value[small, 0], firth.p_value[small, 0])
    if first == "score":  # beta ~ U/V, the one-step estimate from the null: tracks the ML beta
        wald = logistic_regression(g[sub], binary, cov, test="wald")
        a, b = mixed.beta[~small, 0], wald.beta[~small, 0]
        assert np.corrcoef(a, b)[0, 1] > 0.99
        assert (np.sign(a) == np.sign(b))[np.abs(b) > 0.05].all()
