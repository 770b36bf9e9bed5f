"""REGENIE-style and plink2-style text and Parquet against the results store and scipy."""

import gzip
import math

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import stats

from gwas.publish.rows import chromosome_code
from gwas.publish.text import REGENIE_COLUMNS, plink2_columns
from gwas.results.store import open_results


def _text(path, sep):
    return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)


def _store(cohort, trait):
    return open_results(cohort.root).read(traits=[trait]).set_index(["contig", "position"])


def _contigs(chrom):
    """Store contig names of text CHROM values (plink's numeric codes for X, Y, MT)."""
    return chrom.map(lambda c: {"23": "X", "24": "Y", "26": "MT"}.get(c, c))


def test_regenie(published, cohort):
    out, _ = published
    reg = _text(out / "regenie" / "250.2.regenie.gz", " ")
    assert list(reg.columns) == REGENIE_COLUMNS
    store = _store(cohort, "250.2")
    s = store.loc[list(zip(_contigs(reg["CHROM"]), reg["GENPOS"].astype(int)))]
    assert (reg["ALLELE1"].to_numpy() == s["alt"].to_numpy()).all() and (reg["ALLELE0"] == s["ref"].to_numpy()).all()
    np.testing.assert_allclose(reg["BETA"].astype(float), s["beta"], rtol=1e-5)
    np.testing.assert_allclose(reg["LOG10P"].astype(float), s["neg_log10_p"], rtol=1e-5)
    # CHISQ: the 1-df chi² with the row's p (scipy's inverse survival function as reference)
    np.testing.assert_allclose(reg["CHISQ"].astype(float), stats.chi2.isf(s["p_value"], 1), rtol=1e-5)
    assert set(reg["EXTRA"]) <= {"score", "firth"} and set(reg["TEST"]) == {"ADD"}
    assert "<DEL>" in set(reg["ALLELE1"])  # text formats keep what GWAS-SSF cannot hold


def test_regenie_chisq_below_float64(published, cohort):
    out, _ = published
    reg = _text(out / "regenie" / "ldl.regenie.gz", " ")
    top = reg.iloc[reg["LOG10P"].astype(float).idxmax()]
    chi2 = float(top["CHISQ"])
    # log10 of the 1-df chi² tail at that value, by the asymptotic normal tail (relative error ~1/z²)
    z = math.sqrt(chi2)
    log10_p = (math.log(2) - z * z / 2 - math.log(z * math.sqrt(2 * math.pi))) / math.log(10)
    assert -log10_p == pytest.approx(float(top["LOG10P"]), rel=1e-4) and float(top["LOG10P"]) > 308


@pytest.mark.parametrize("trait, binary", [("ldl", False), ("250.2", True)])
def test_plink2(published, cohort, trait, binary):
    out, _ = published
    path = out / "plink2" / f"{trait}.glm.{'logistic' if binary else 'linear'}.gz"
    glm = _text(path, "\t")
    assert list(glm.columns) == plink2_columns(binary)
    s = _store(cohort, trait).loc[list(zip(_contigs(glm["#CHROM"]), glm["POS"].astype(int)))]
    assert (glm["A1"] == glm["ALT"]).all()
    effect = glm["OR" if binary else "BETA"].astype(float)
    np.testing.assert_allclose(effect, np.exp(s["beta"]) if binary else s["beta"], rtol=1e-5)
    stat = glm["Z_STAT" if binary else "T_STAT"].astype(float)
    np.testing.assert_allclose(stat, s["beta"] / s["standard_error"], rtol=1e-5)
    p = glm["P"].map(lambda t: -(math.log10(float(t.split("e")[0])) + int(t.split("e")[1])) if "e-" in t
                     else -math.log10(float(t)))
    # 6 significant digits: relative error of p <= 5e-6, so |error of log10 p| <= 5e-6 / ln 10
    np.testing.assert_allclose(p, s["neg_log10_p"], rtol=0, atol=2.2e-6)
    assert (glm["OBS_CT"].astype(int) % 5 == 0).all()


def test_parquet(published, cohort):
    out, _ = published
    table = pq.read_table(out / "parquet" / "bmi.parquet").to_pandas()
    s = _store(cohort, "bmi").loc[list(zip(table["chromosome"], table["base_pair_location"]))]
    np.testing.assert_array_equal(table["beta"], s["beta"])
    # linear p from t = beta / SE with the published n: df = n - 4 covariates - 2 (scipy's t as
    # reference, same cephes routine underneath: 1e-9); the store's df (true n 762) differs
    df = table["n"].to_numpy() - 6
    t = (s["beta"] / s["standard_error"]).to_numpy()
    np.testing.assert_allclose(table["neg_log10_p_value"], -np.log10(2 * stats.t.sf(np.abs(t), df)), rtol=1e-9)
    assert (table["n"] == 760).all() and not np.allclose(table["neg_log10_p_value"], s["neg_log10_p"], rtol=1e-7)
    assert (table["info"] == np.round(s["info"].to_numpy(), 3)).all()
    assert (table["effect_allele"].to_numpy() == s["alt"].to_numpy()).all()
    assert table["n_cases"].isna().all()  # not applicable to a quantitative trait
    raw = gzip.decompress((out / "regenie" / "bmi.regenie.gz").read_bytes()).decode().splitlines()
    # Parquet keeps rows on unplaced contigs; the text formats leave them out (no chromosome code)
    assert len(raw) - 1 == sum(chromosome_code(c) > 0 for c in table["chromosome"]) < len(table)
