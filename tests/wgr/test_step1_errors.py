"""Bad input to step 1: one clear line (exit 1 for data, 2 for options) and nothing written."""

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
