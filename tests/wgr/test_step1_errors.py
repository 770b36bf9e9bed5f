"""Bad input to step 1: one clear line (exit 1 for data, 2 for options) and nothing written."""

import numpy as np
import pytest

from gwas.wgr.config import validate
from gwas.wgr.run import run_wgr
from hubscan.cli import main
from hubscan.errors import ConfigError, InputError
from tests.wgr.step1_cohort import MIN_MAF, wgr_cohort  # noqa: F401 - fixture


def _cfg(c, out, **extra):
    raw = {"genotypes": str(c["store"]), "phenotypes": str(c["pheno"]), "covariates": [str(c["cov"])],
           "traits": ["ldl"], "out": str(out), "min_maf": MIN_MAF, "block_size": 200, **extra}
    return validate(raw)


def _errors(capsys) -> list[str]:
    """The error lines of stderr (log lines aside)."""
    return [ln for ln in capsys.readouterr().err.splitlines() if "error" in ln.lower()]


def _cli(c, out, *extra):
    return ["wgr", "--genotype-store", str(c["store"]), "--phenotypes", str(c["pheno"]), "--covariate", str(c["cov"]),
            "--min-maf", str(MIN_MAF), "--bsize", "200", "--out", str(out), *extra]


def test_too_few_variants_for_the_blocks(wgr_cohort, tmp_path, capsys):
    out = tmp_path / "step1"
    assert main(_cli(wgr_cohort, out, "--trait", "ldl", "--bsize", "5000")) == 1
    err = _errors(capsys)
    assert len(err) == 1 and err[0].startswith("hubscan: error: ") and "fewer than one block of 5000 (--bsize)" in err[0], err
    assert not out.exists()


def test_variants_on_one_chromosome_only(wgr_cohort, tmp_path):
    with pytest.raises(InputError, match="at least 2 chromosomes"):
        run_wgr(_cfg(wgr_cohort, tmp_path / "step1", regions=["21"]))
    assert not (tmp_path / "step1").exists()


def test_trait_without_variance_after_covariates(wgr_cohort, tmp_path, capsys):
    frame = wgr_cohort["pheno_frame"].copy()
    cov = wgr_cohort["cov_frame"].set_index("IID").loc[frame.IID]
    frame["age_score"] = 2 * cov["age"].to_numpy() + 1          # a function of a covariate
    path = tmp_path / "pheno.txt"
    frame.to_csv(path, sep="\t", index=False, na_rep="NA")
    out = tmp_path / "step1"
    args = _cli(wgr_cohort, out, "--trait", "ldl", "--trait", "age_score")
    args[args.index("--phenotypes") + 1] = str(path)
    assert main(args) == 1
    err = _errors(capsys)
    assert len(err) == 1 and err[0].startswith("hubscan: error: ") and "age_score" in err[0] and "no variance after the covariates" in err[0], err
    assert not out.exists()


def test_unknown_trait(wgr_cohort, tmp_path, capsys):
    out = tmp_path / "step1"
    assert main(_cli(wgr_cohort, out, "--trait", "ldl", "--trait", "no_such_trait")) == 2
    err = _errors(capsys)
    assert len(err) == 1 and err[0].startswith("hubscan: error: ") and "no_such_trait" in err[0], err
    assert not out.exists()


def test_no_sample_overlap(wgr_cohort, tmp_path, capsys):
    frame = wgr_cohort["pheno_frame"].copy()
    frame["FID"] = frame["IID"] = [f"other{i}" for i in range(len(frame))]
    path = tmp_path / "pheno.txt"
    frame.to_csv(path, sep="\t", index=False, na_rep="NA")
    out = tmp_path / "step1"
    args = _cli(wgr_cohort, out, "--trait", "ldl")
    args[args.index("--phenotypes") + 1] = str(path)
    assert main(args) == 1
    err = _errors(capsys)
    assert len(err) == 1 and err[0].startswith("hubscan: error: ") and "no sample is shared" in err[0], err
    assert not out.exists()


def test_bt_refuses_a_quantitative_trait(wgr_cohort, tmp_path):
    with pytest.raises(ConfigError, match="ldl.*not binary"):
        run_wgr(_cfg(wgr_cohort, tmp_path / "step1", binary=True))


def test_bad_options_are_refused_before_any_work():
    for raw, what in [({"block_size": 1}, "block_size"), ({"cv_folds": 1}, "cv_folds"),
                      ({"l0_h2": [0.5, 1.0]}, "l0_h2"), ({"prefix": "a b"}, "prefix"), ({"bogus": 1}, "bogus")]:
        with pytest.raises(ConfigError, match=what):
            validate({"genotypes": "g", "phenotypes": "p", "out": "o", **raw})


def test_binary_trait_not_converging_is_reported_and_the_others_continue(wgr_cohort, tmp_path, capsys):
    """A binary trait separated by a covariate (age > 55, age a covariate): its null logistic
    model does not converge; it is recorded in wgr.json as not converged and left out of the
    prediction list, with a warning naming it, while t2d gets its predictions (REGENIE's behaviour)."""
    import json

    frame = wgr_cohort["pheno_frame"].copy()
    age = wgr_cohort["cov_frame"].set_index("IID").loc[frame.IID, "age"].to_numpy()
    frame["separated"] = np.where(np.isnan(age), np.nan, (age > 55).astype(float))
    path = tmp_path / "pheno.txt"
    frame.to_csv(path, sep="\t", index=False, na_rep="NA")
    out = tmp_path / "step1"
    args = _cli(wgr_cohort, out, "--bt", "--trait", "t2d", "--trait", "separated", "--min-cases", "10")
    args[args.index("--phenotypes") + 1] = str(path)
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "LOCO predictions of 1 of 2 traits" in captured.out
    assert any("separated" in ln and "did not converge" in ln for ln in captured.err.splitlines()), captured.err
    traits = {t["name"]: t for t in json.loads((out / "wgr.json").read_text())["traits"]}
    assert traits["t2d"]["status"] == "ok" and traits["separated"]["status"] == "not converged"
    assert "did not converge" in traits["separated"]["reason"]
    listed = [ln.split()[0] for ln in (out / "wgr_pred.list").read_text().splitlines()]
    assert listed == ["t2d"] and (out / "wgr_1.loco").is_file() and not (out / "wgr_2.loco").exists()
    assert not (out / "_level0").exists()          # the spilled level-0 predictions are removed
