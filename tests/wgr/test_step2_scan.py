"""Step 2 in `hubscan gwas` with `--pred` (REGENIE's `_pred.list`): the scan over a genotype store
ingested from the same PLINK files matches REGENIE step 2 (the tolerances of test_step2_regenie),
_results.json records which step 1 was used, `hubscan publish` carries it into the GWAS-SSF
metadata, and bad prediction files are refused with one line naming the file, before any work.
The command line runs once (on the session's Spark); the other scans run in this process
(`run_scan`, the same code without Spark)."""


import numpy as np
import pytest
import yaml

from gwas.ingest.run import ingest
from gwas.results import open_results
from gwas.scan import run_scan
from gwas.scan.config import validate
from gwas.scan.inputs import sha256
from hubscan.cli import main
from hubscan.errors import InputError
from tests.wgr.regenie_cohort import check_scan_rows as _check
from tests.wgr.regenie_cohort import regenie_step2, session_cohort


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    data = session_cohort(tmp_path_factory)
    if "store" not in data:
        data["store"] = data["root"] / "store"
        ingest([data["root"] / "g.bed"], data["store"], variants_chunk=512, samples_chunk=128)
    return data


def _gwas(data, out, kind, *extra):
    root = data["root"]
    return main(["gwas", "--genotype-store", str(data["store"]), "--phenotypes", str(root / f"{kind}.txt"),
                 "--covariate", str(root / "cov.txt"), "--block-size", "700", "--min-cases", "10",
                 "--out", str(out), *extra])


def _scan(data, out, kind, **extra):
    root = data["root"]
    run_scan(validate({"genotypes": str(data["store"]), "phenotypes": str(root / f"{kind}.txt"),
                       "covariates": [str(root / "cov.txt")], "block_size": 700, "min_cases": 10, "out": str(out),
                       **extra}))


def test_gwas_with_pred_quantitative_matches_regenie(cohort, tmp_path, spark):
    out = tmp_path / "qt"
    pred = cohort["pred_list"]["qt"]
    assert _gwas(cohort, out, "qt", "--pred", str(pred)) == 0
    res = open_results(out)
    for trait in ("q1", "q2"):  # blocks of 700 variants cross the chromosome boundaries
        got = _check(res, cohort, trait, "linear", 1e-4)
        assert set(got.test) == {"linear"}
    step1 = res.metadata["step1"]
    assert step1["pred_list"] == pred.name and step1["sha256"] == sha256(pred)
    assert sorted(step1["loco"]) == ["q1", "q2"]
    assert step1["loco"]["q2"] == {"file": "fit_qt_2.loco", "sha256": sha256(pred.parent / "fit_qt_2.loco")}
    assert {t["name"]: t["test"] for t in res.metadata["traits"]} == {"q1": "linear-loco", "q2": "linear-loco"}

    # publish carries the step-1 record into the GWAS-SSF metadata
    release = tmp_path / "release"
    assert main(["publish", str(out), "--out", str(release), "--formats", "gwas-ssf", "--no-plots",
                 "--genome-build", "GRCh37", "--date", "2026-01-01"]) == 0
    metas = {p.name.split(".")[0]: yaml.safe_load(p.read_text()) for p in release.rglob("*-meta.yaml")}
    assert set(metas) == {"q1", "q2"}
    notes = metas["q2"]["author_notes"]
    assert pred.name in notes and step1["sha256"] in notes and "fit_qt_2.loco" in notes
    assert "whole-genome regression" in metas["q2"]["analysis_software"]


@pytest.mark.parametrize("test", ["spa", "firth-approx"])
def test_gwas_with_pred_binary_matches_regenie(cohort, tmp_path, test):
    out = tmp_path / test
    _scan(cohort, out, "bt", predictions=str(cohort["pred_list"]["bt"]), binary_test=test)
    res = open_results(out)
    for trait in ("b1", "b2"):
        got = _check(res, cohort, trait, test, 2e-5, beta_rtol=5e-4 if test == "firth-approx" else None)
        assert set(got.test) == {"score", test} and (got.test == test).sum() == got.firth_used.sum() > 10


def test_gwas_binary_spa_without_pred_matches_ignore_pred(cohort, tmp_path):
    out = tmp_path / "spa-nopred"
    _scan(cohort, out, "bt", binary_test="spa", traits=["b2"])
    theirs = regenie_step2(cohort, "b2", "spa", False)
    got = open_results(out).read(traits=["b2"]).set_index("variant_id").loc[theirs.ID]
    np.testing.assert_allclose(got.neg_log10_p, theirs.LOG10P, rtol=2e-5, atol=1e-7)
    assert "step1" not in open_results(out).metadata


def test_bad_prediction_files(cohort, tmp_path):
    pred = cohort["pred_list"]["qt"]
    # a trait of the list that is not in the run
    with pytest.raises(InputError, match=f"^{pred}: trait\\(s\\) q2 not in this run"):
        _scan(cohort, tmp_path / "a", "qt", predictions=str(pred), traits=["q1"])
    # a .loco whose samples do not cover the run's
    loco = tmp_path / "short_1.loco"
    lines = (pred.parent / "fit_qt_1.loco").read_text().splitlines()
    loco.write_text("\n".join(" ".join(ln.split()[:-1]) for ln in lines) + "\n")
    short = tmp_path / "short_pred.list"
    short.write_text(f"q1 {loco}\nq2 {pred.parent / 'fit_qt_2.loco'}\n")
    with pytest.raises(InputError, match=f"^{loco}: samples do not match the run \\(trait q1\\): 1 analysed"):
        _scan(cohort, tmp_path / "b", "qt", predictions=str(short))
    assert not (tmp_path / "b").exists()  # refused before any work
    # a missing file
    with pytest.raises(InputError, match="none_pred.list does not exist"):
        _scan(cohort, tmp_path / "c", "qt", predictions=str(tmp_path / "none_pred.list"))


def test_phewas_with_pred_equals_gwas_rows(cohort, tmp_path):
    """`hubscan phewas` (job phewas: a few variants, every trait) reads the same predictions: its rows
    are the step-2 GWAS rows of those variants (same kernels, one block; 1e-12 relative)."""
    ids = ["v5", "v1500", "v2990"]  # chromosomes 1, 2 and 3
    pred = str(cohort["pred_list"]["bt"])
    _scan(cohort, tmp_path / "phewas", "bt", job="phewas", predictions=pred, binary_test="spa", variant_ids=ids)
    _scan(cohort, tmp_path / "gwas", "bt", predictions=pred, binary_test="spa")
    for trait in ("b1", "b2"):
        a = open_results(tmp_path / "phewas").read(traits=[trait]).set_index("variant_id").loc[ids]
        b = open_results(tmp_path / "gwas").read(traits=[trait]).set_index("variant_id").loc[ids]
        for field in ("beta", "standard_error", "neg_log10_p"):
            np.testing.assert_allclose(a[field], b[field], rtol=1e-12)
