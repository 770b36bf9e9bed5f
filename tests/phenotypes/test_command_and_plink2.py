"""`hubscan phenotypes` end to end from its argument parser (run as the CLI runs it), and our
plink2/REGENIE text files read by the real plink2 and REGENIE with no coding flag: the phenotypes and
covariates plink2 stores must equal ours (exact for binary traits, so the same cases and controls;
reals within 5e-6 relative: plink2 prints them with 6 significant digits, printf %g, so that is the
half-unit of its last digit), and REGENIE --bt must count the same cases and controls."""

import argparse
import subprocess

import numpy as np
import pytest

from hubscan.errors import ConfigError
from phenotypes import command
from phenotypes.matrix.io import read_text
from phenotypes.pipeline import load_traits
from tests.phenotypes.helpers import PHECODE12, hub_cohort

PLINK2_DIGITS = 5e-6  # plink2 writes reals with 6 significant digits (%g): half a unit of the 6th digit


def _parse(argv):
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def cli_run(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    cohort = hub_cohort(folder, shared_data / PHECODE12, n_patients=120, seed=11)
    (folder / "samples.txt").write_text("\n".join(cohort["sample_ids"]) + "\n")
    (folder / "defs.yaml").write_text("traits:\n  - {name: ldl, type: quantitative, vocabulary: LOINC, "
                                      "codes: [13457-7], unit: mmol/L, aggregate: mean}\n")
    args = _parse(["--hub", str(cohort["events"]), "--persons", str(cohort["persons"]), "--linkage", str(cohort["linkage"]),
                   "--samples", str(folder / "samples.txt"), "--phecode-map", str(shared_data / PHECODE12),
                   "--definitions", str(folder / "defs.yaml"), "--covariates", "sex,age",
                   "--reference-date", "2020-01-01", "--text", "--out", str(folder / "out")])
    assert command.run(args) == 0
    return folder, cohort


def test_cli_writes_every_output(cli_run, capsys):
    folder, cohort = cli_run
    out = folder / "out"
    for name in ("traits.parquet", "catalogue.tsv", "first_dates.parquet", "covariates.tsv", "covariates.parquet",
                 "phenotypes.tsv", "report.json", "unmapped_phecode_map_v1_2_icd10_beta.tsv"):
        assert (out / name).is_file(), name
    assert not (out / "_work").exists() and not list(out.glob(".*tmp*"))
    m = load_traits(out)
    assert m.names[-1] == "ldl" and m.types[-1] == "quantitative" and len(m.sample_ids) == 140


def test_cli_option_errors(tmp_path):
    with pytest.raises(ConfigError, match="at least one record source"):
        command.config_from_args(_parse(["--linkage", "l.csv", "--samples", "s", "--out", str(tmp_path)]))
    with pytest.raises(ConfigError, match="exactly one of --samples"):
        command.config_from_args(_parse(["--hub", "h.csv", "--linkage", "l.csv", "--out", str(tmp_path)]))
    with pytest.raises(ConfigError, match="unknown covariate"):
        command.config_from_args(_parse(["--hub", "h.csv", "--linkage", "l.csv", "--samples", "s",
                                         "--covariates", "sex,bmi", "--out", str(tmp_path)]))


def _dummy_pfile(plink2, folder, ids):
    subprocess.run([plink2, "--dummy", str(len(ids)), "3", "--out", str(folder / "d")], check=True, capture_output=True)
    psam = (folder / "d.psam").read_text().splitlines()
    rows = [line.split("\t") for line in psam[1:]]
    (folder / "d.psam").write_text("#FID\tIID\tSEX\n" + "".join(f"{i}\t{i}\t{r[1]}\n" for i, r in zip(ids, rows)))


def test_plink2_reads_our_text_files(cli_run, plink2, tmp_path):
    folder, cohort = cli_run
    ours = read_text(folder / "out" / "phenotypes.tsv")
    cov = read_text(folder / "out" / "covariates.tsv", missing_value=None)
    keep = [j for j, n in enumerate(ours.names) if n in ("phecode_250.2", "phecode_401.1", "phecode_185", "ldl")]
    sub = ours.select([ours.names[j] for j in keep])
    from phenotypes.matrix.io import write_text

    write_text(tmp_path / "pheno.tsv", sub)  # the plink2 flavour: 1/2, no --1 needed
    assert (tmp_path / "pheno.tsv").read_text().startswith("#FID\tIID\t")
    _dummy_pfile(plink2, tmp_path, list(ours.sample_ids))
    subprocess.run([plink2, "--pfile", str(tmp_path / "d"), "--pheno", str(tmp_path / "pheno.tsv"),
                    "--covar", str(folder / "out" / "covariates.tsv"), "--write-covar", "--make-pgen",
                    "--out", str(tmp_path / "d2")], check=True, capture_output=True)
    psam = read_text(tmp_path / "d2.psam", binary_coding="12").align(ours.sample_ids)
    for name in sub.names:
        j = psam.names.index(name)
        np.testing.assert_allclose(psam.values[:, j], sub.column(name), rtol=PLINK2_DIGITS, equal_nan=True, err_msg=name)
        if sub.types[sub.names.index(name)] == "binary":  # plink2's cases and controls are ours
            for v in (0, 1):
                assert np.sum(psam.values[:, j] == v) == np.sum(sub.column(name) == v) > 0, name
    stored = read_text(tmp_path / "d2.cov", missing_value=None).align(cov.sample_ids)
    for name in cov.names:
        np.testing.assert_allclose(stored.column(name), cov.column(name), rtol=PLINK2_DIGITS, equal_nan=True, err_msg=name)


def test_regenie_reads_our_regenie_text(cli_run, plink2, tmp_path):
    """`--text regenie` (FID IID header, 0/1): REGENIE step 2 --bt reads it with no coding flag and
    counts the cases and controls we have; the same matrix read back by hubscan is identical."""
    import re

    from phenotypes.matrix.io import write_text
    from tests.wgr.regenie_cohort import regenie_binary

    exe = regenie_binary()
    folder, _ = cli_run
    ours = read_text(folder / "out" / "phenotypes.tsv")
    binary = [n for n, t in zip(ours.names, ours.types) if t == "binary"]
    sizes = {n: min(np.sum(ours.column(n) == 1), np.sum(ours.column(n) == 0)) for n in binary}
    sub = ours.select(sorted(binary, key=lambda n: -sizes[n])[:2])  # REGENIE ignores traits with few cases
    assert min(sizes[n] for n in sub.names) >= 10
    write_text(tmp_path / "pheno.txt", sub, flavour="regenie")
    assert (tmp_path / "pheno.txt").read_text().startswith("FID\tIID\t")
    back = read_text(tmp_path / "pheno.txt")
    assert back.types == sub.types == ["binary", "binary"]
    np.testing.assert_array_equal(back.values, sub.values)
    _dummy_pfile(plink2, tmp_path, list(ours.sample_ids))
    subprocess.run([plink2, "--pfile", str(tmp_path / "d"), "--make-bed", "--out", str(tmp_path / "d")],
                   check=True, capture_output=True)
    done = subprocess.run([exe, "--step", "2", "--bed", str(tmp_path / "d"), "--phenoFile", str(tmp_path / "pheno.txt"),
                           "--bt", "--ignore-pred", "--bsize", "10", "--threads", "1", "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, env={"OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout[-3000:]
    for name in sub.names:
        found = re.search(rf"'{re.escape(name)}': (\d+) cases and (\d+) controls", done.stdout)
        assert found, done.stdout[-3000:]
        assert (int(found[1]), int(found[2])) == (np.sum(sub.column(name) == 1), np.sum(sub.column(name) == 0))


def test_engine_choice(monkeypatch):
    """In-process by default; Spark with --spark-master or --spark-conf, or under spark-submit."""
    base = ["--hub", "h.csv", "--linkage", "l.csv", "--samples", "s", "--out", "o"]
    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    assert not command.wants_spark(_parse(base))
    assert command.wants_spark(_parse(base + ["--spark-master", "local[2]"]))
    assert command.wants_spark(_parse(base + ["--spark-conf", "spark-conf/local.conf"]))
    monkeypatch.setenv("PYSPARK_GATEWAY_PORT", "4242")  # what spark-submit sets for its Python
    assert command.wants_spark(_parse(base))
