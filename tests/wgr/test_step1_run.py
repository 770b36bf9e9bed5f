"""The step-1 run as a job: Spark tasks give the threads' predictions, an interrupted run resumes
to the same bytes, wgr.json records settings, statuses and checksums."""

import json

import numpy as np
import pytest

from gwas.store.reader import GenotypeStore
from gwas.wgr import model
from gwas.wgr.config import validate
from gwas.wgr.predictions import read_prediction_list
from gwas.wgr.run import LEVEL0_DIR, run_wgr
from tests.wgr.step1_cohort import MIN_MAF, wgr_cohort  # noqa: F401 - fixture

TRAITS = ["ldl", "bmi", "t2d"]


def _cfg(c, out, **extra):
    return validate({"genotypes": str(c["store"]), "phenotypes": str(c["pheno"]), "covariates": [str(c["cov"])],
                     "traits": TRAITS, "out": str(out), "min_maf": MIN_MAF, "block_size": 300, "min_cases": 10,
                     **extra})


def _files(out):
    return {p.name: p.read_bytes() for p in sorted(out.glob("wgr_*.loco"))}


@pytest.fixture(scope="module")
def threads_run(wgr_cohort, tmp_path_factory):
    out = tmp_path_factory.mktemp("threads") / "step1"
    return run_wgr(_cfg(wgr_cohort, out))


def test_wgr_json_and_prediction_list(wgr_cohort, threads_run):
    meta = json.loads((threads_run.out / "wgr.json").read_text())
    assert meta["n_blocks"] == threads_run.n_blocks == 10 and meta["cross_validation"] == "loocv"  # binary, n < 5,000
    assert [t["status"] for t in meta["traits"]] == ["ok"] * 3 and meta["traits"][2]["wgr_type"] == "binary"
    assert str(wgr_cohort["pheno"]) in meta["inputs"] and len(meta["inputs"][str(wgr_cohort["pheno"])]["sha256"]) == 64
    assert meta["config"]["block_size"] == 300 and meta["level0_ridge"] == pytest.approx(
        model.ridge_grid(model.DEFAULT_H2, threads_run.n_variants).tolist())
    assert (threads_run.out / "_SUCCESS").is_file() and not (threads_run.out / LEVEL0_DIR).exists()
    ids = GenotypeStore(wgr_cohort["store"]).sample_ids.tolist()
    preds = read_prediction_list(threads_run.pred_list, TRAITS, ids,
                                 required={t: np.zeros(len(ids), bool) for t in TRAITS})
    assert set(preds) == set(TRAITS)
    # the sample without age is in no trait; bmi's own missing samples are mean-imputed (as REGENIE)
    assert np.isnan(preds["ldl"].for_chromosome(21)[3]) and np.isfinite(preds["bmi"].for_chromosome(21)).sum() == 499


def test_rerun_of_a_complete_run_does_nothing(wgr_cohort, threads_run):
    again = run_wgr(_cfg(wgr_cohort, threads_run.out))
    assert again.blocks_run == 0 and _files(again.out) == _files(threads_run.out)


def test_interrupted_run_resumes_to_the_same_bytes(wgr_cohort, threads_run, tmp_path, monkeypatch):
    out = tmp_path / "step1"
    real = model.level0_block
    calls = []

    def failing(g, *args):
        calls.append(1)
        if len(calls) == 4:
            raise OSError("disk full (simulated)")
        return real(g, *args)

    monkeypatch.setattr(model, "level0_block", failing)
    with pytest.raises(OSError, match="simulated"):
        run_wgr(_cfg(wgr_cohort, out))
    assert not (out / "_SUCCESS").exists() and not (out / "wgr_pred.list").exists()
    monkeypatch.setattr(model, "level0_block", real)
    resumed = run_wgr(_cfg(wgr_cohort, out))
    assert 0 < resumed.blocks_run < resumed.n_blocks
    # same level-0 arithmetic (BLAS single-threaded per block either way), same level 1: same bytes
    assert _files(out) == _files(threads_run.out)


def test_spark_tasks_give_the_threads_predictions(wgr_cohort, threads_run, spark, tmp_path):
    res = run_wgr(_cfg(wgr_cohort, tmp_path / "step1"), spark)
    assert res.blocks_run == res.n_blocks
    ids = GenotypeStore(wgr_cohort["store"]).sample_ids.tolist()
    none = {t: np.zeros(len(ids), bool) for t in TRAITS}
    a = read_prediction_list(threads_run.pred_list, TRAITS, ids, required=none)
    b = read_prediction_list(res.pred_list, TRAITS, ids, required=none)
    for t in TRAITS:
        # executors may run BLAS on more threads (another summation order): 1e-8 relative
        np.testing.assert_allclose(b[t].values, a[t].values, rtol=1e-8, atol=1e-12, equal_nan=True)
