"""`hubscan simulate` as users run it: the CLI in-process, spark-submit with spark-conf/local.conf,
and Spark's local-cluster master (separate executor processes) — all give the same bytes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hubscan.cli import main
from hubscan.simulate.command import parse_chromosomes
from hubscan.simulate.run import read_manifest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: A tiny cohort: two chromosomes, three genotype parts (part_blocks 10 x 1000 variants would be one
#: part, so the size makes Spark run several tasks only through the chromosome split).
TINY = ["--samples", "120", "--variants", "2400", "--chromosomes", "20-22", "--seed", "7"]


def _digests(cohort: Path) -> dict[str, str]:
    return {name: entry["sha256"] for name, entry in read_manifest(cohort)["files"].items()}


@pytest.fixture(scope="module")
def serial_cohort(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("serial") / "cohort"
    assert main(["simulate", "--out", str(out), *TINY]) == 0
    return out


def test_cli_writes_a_complete_cohort(serial_cohort):
    manifest = read_manifest(serial_cohort)
    names = set(manifest["files"])
    for expected in ["genotypes.vcf.gz", "genotypes.vcf.gz.tbi", "genotypes.bgen", "genotypes.sample",
                     "variants.tsv", "hub_events.csv", "linkage.csv", "omop/person.csv",
                     "omop/condition_occurrence.csv", "omop/measurement.csv", "truth/causal_variants.tsv"]:
        assert expected in names
    assert manifest["cohort"]["n_samples"] == 120 and manifest["cohort"]["chromosomes"] == ["20", "21", "22"]
    for name, entry in manifest["files"].items():
        assert (serial_cohort / name).stat().st_size == entry["bytes"]
    # Nothing but the cohort is left behind: no Spark scratch, no part folders, no temporaries.
    leftovers = [p.name for p in serial_cohort.iterdir() if p.name.startswith(("_", ".")) or ".tmp" in p.name]
    assert leftovers == []


def test_spark_submit_with_local_conf_gives_the_same_bytes(serial_cohort, tmp_path):
    """The job exactly as a user submits it, from the project root with the venv on PATH."""
    venv_bin = Path(sys.executable).parent
    spark_submit = venv_bin / "spark-submit"
    if not spark_submit.exists():
        pytest.skip(f"spark-submit not found beside {sys.executable}")
    env = dict(os.environ, PATH=f"{venv_bin}:{os.environ['PATH']}", PYSPARK_PYTHON=sys.executable)
    out = tmp_path / "submitted"
    result = subprocess.run(
        [str(spark_submit), "--properties-file", "spark-conf/local.conf", "--master", "local[2]",
         "--driver-memory", "2g", "jobs/simulate.py", "--out", str(out), *TINY, "--spark"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"cohort: {out}" in result.stdout
    assert _digests(out) == _digests(serial_cohort)
    assert not (PROJECT_ROOT / "spark-warehouse").exists() and not (PROJECT_ROOT / "metastore_db").exists()
    # the job stops its session before Python exits: scratch removed, logs kept, a quiet end
    assert not (out / "_spark").exists() and (out / "_logs").is_dir()
    assert "ERROR" not in result.stderr and "Exception" not in result.stderr, result.stderr[-3000:]


def test_local_cluster_gives_the_same_bytes(serial_cohort, tmp_path):
    """Executors in their own processes: nothing may depend on driver-local state."""
    out = tmp_path / "cluster"
    result = subprocess.run(
        [sys.executable, "-m", "hubscan.cli", "simulate", "--out", str(out), *TINY, "--spark",
         "--spark-master", "local-cluster[2,1,1024]"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert _digests(out) == _digests(serial_cohort)
    assert (out / "_logs").is_dir() and not (out / "_spark").exists()
    assert "ERROR" not in result.stderr and "Exception" not in result.stderr, result.stderr[-3000:]


def test_rerun_rewrites_identically(serial_cohort, tmp_path):
    before = _digests(serial_cohort)
    assert main(["simulate", "--out", str(serial_cohort), *TINY]) == 0
    assert _digests(serial_cohort) == before


def test_parquet_records(tmp_path):
    out = tmp_path / "pq"
    assert main(["simulate", "--out", str(out), *TINY, "--records-format", "parquet"]) == 0
    names = set(read_manifest(out)["files"])
    assert {"omop/person.parquet", "omop/measurement.parquet"} <= names
    assert json.loads((out / "manifest.json").read_text())["records"]["format"] == "parquet"


def test_parse_chromosomes():
    assert parse_chromosomes("1-3,X") == ["1", "2", "3", "X"]
    assert parse_chromosomes("chr21,chr22") == ["21", "22"]


@pytest.mark.parametrize("args, message", [
    (["--chromosomes", "3-1"], "bad range '3-1'"),
    (["--chromosomes", "1-2,Z"], "unknown chromosome 'Z'"),
    (["--samples", "1"], "n_samples must be >= 2"),
    (["--unlinked-fraction", "1.5"], "unlinked fraction must be in [0, 1)"),
    (["--bgen-bits", "40"], "bits"),
])
def test_bad_settings_are_one_clear_line(tmp_path, args, message):
    out = tmp_path / "bad"
    result = subprocess.run([sys.executable, "-m", "hubscan.cli", "simulate", "--out", str(out), *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (out / "manifest.json").exists()


def test_incomplete_folder_is_refused(tmp_path):
    from hubscan.errors import InputError

    with pytest.raises(InputError, match="not a complete simulated cohort"):
        read_manifest(tmp_path)


@pytest.mark.slow
def test_spark_submit_on_local_cluster_ends_quietly_and_cleans_up(serial_cohort, tmp_path):
    """spark-submit with executors in their own processes: before the job stopped its session, the
    JVM's shutdown killed the executors and printed ~30 ERROR lines and stack traces, and _spark/
    stayed."""
    venv_bin = Path(sys.executable).parent
    out = tmp_path / "submitted"
    env = dict(os.environ, PATH=f"{venv_bin}:{os.environ['PATH']}", PYSPARK_PYTHON=sys.executable)
    result = subprocess.run(
        [str(venv_bin / "spark-submit"), "--properties-file", "spark-conf/local.conf", "--master",
         "local-cluster[2,1,1024]", "--driver-memory", "1g", "jobs/simulate.py", "--out", str(out), *TINY, "--spark"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert _digests(out) == _digests(serial_cohort)
    assert not (out / "_spark").exists()
    assert "ERROR" not in result.stderr and "Exception" not in result.stderr, result.stderr[-3000:]
