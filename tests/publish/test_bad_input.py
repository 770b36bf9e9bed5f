"""Bad input: a clear error naming the problem, and nothing written (no output, no temporary)."""

import json
import shutil
import subprocess
import sys

import pytest

from gwas.publish.run import PublishOptions, publish
from gwas.results.store import metadata_path
from hubscan.errors import ConfigError, InputError, OutputError


@pytest.fixture
def store(cohort, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(cohort.root, copy)
    return copy


def _edit_metadata(store, change):
    path = metadata_path(store)
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


def _nothing_written(tmp_path):
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["store"], names


def _no_trait_n_cases(meta):
    del meta["traits"][2]["n_cases"]


def _no_type(meta):
    del meta["traits"][0]["type"]


def _no_traits(meta):
    meta["traits"] = []


def _old_version(meta):
    meta["version"] = [2, 0]


def _no_software(meta):
    del meta["software"]


def _no_build(meta):
    del meta["genome_build"]


@pytest.mark.parametrize("change, error, message", [
    (_old_version, InputError, "results layout version \\[2, 0\\] cannot be read"),
    (_no_software, InputError, "metadata lacks software"),
    (_no_trait_n_cases, InputError, "trait '250.2' lacks n_cases"),
    (_no_type, InputError, "trait 'ldl' has type None"),
    (_no_traits, InputError, "lists no trait"),
    (_no_build, ConfigError, "does not record its genome build: pass --genome-build"),
])
def test_bad_metadata(store, tmp_path, change, error, message):
    _edit_metadata(store, change)
    with pytest.raises(error, match=message):
        publish(store, tmp_path / "out", PublishOptions(date="2026-01-02"))
    _nothing_written(tmp_path)


def test_incomplete_store(store, tmp_path):
    shutil.rmtree(store / "trait=bmi")
    with pytest.raises(InputError, match="incomplete results store: no result files for trait 'bmi'"):
        publish(store, tmp_path / "out")
    (store / "_SUCCESS").unlink()
    with pytest.raises(InputError, match="incomplete results store"):
        publish(store, tmp_path / "out")
    _nothing_written(tmp_path)


def test_corrupt_result_file_writes_nothing(store, tmp_path):
    # the damage is only seen while reading the third trait: the outputs written so far must vanish
    victim = sorted((store / "trait=250.2").glob("*.parquet"))[1]
    victim.write_bytes(victim.read_bytes()[:200])
    with pytest.raises(InputError, match="result files of trait '250.2' cannot be read"):
        publish(store, tmp_path / "out", PublishOptions(date="2026-01-02"))
    _nothing_written(tmp_path)


def test_output_folder_rules(store, tmp_path):
    other = tmp_path / "busy"
    other.mkdir()
    (other / "thesis.txt").write_text("keep me")
    with pytest.raises(OutputError, match="not empty and holds no earlier publication"):
        publish(store, other)
    assert (other / "thesis.txt").read_text() == "keep me"
    with pytest.raises(OutputError, match="inside the results store"):
        publish(store, store / "release")
    with pytest.raises(ConfigError, match="formats must be among"):
        PublishOptions(formats=("vcf",))
    with pytest.raises(ConfigError, match="genome build 'hg17'"):
        publish(store, tmp_path / "out", PublishOptions(genome_build="hg17"))
    assert not (tmp_path / "out").exists()
    # an earlier publication is replaced whole
    options = PublishOptions(formats=("parquet",), plots=False, date="2026-01-02")
    publish(store, tmp_path / "out", options)
    (tmp_path / "out" / "stale.txt").write_text("from an older run")
    publish(store, tmp_path / "out", options)
    assert not (tmp_path / "out" / "stale.txt").exists() and (tmp_path / "out" / "parquet" / "ldl.parquet").exists()


def test_cli_error_is_one_line(store, tmp_path):
    _edit_metadata(store, _no_trait_n_cases)
    proc = subprocess.run([sys.executable, "-m", "hubscan.cli", "publish", str(store), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "trait '250.2' lacks n_cases" in lines[0] and str(store) in lines[0]
    _nothing_written(tmp_path)


def test_spark_submit_job_entry_point(store, tmp_path):
    from pathlib import Path

    job = Path(__file__).resolve().parents[2] / "jobs" / "publish.py"
    proc = subprocess.run([sys.executable, str(job), str(store), "--out", str(tmp_path / "out"), "--genome-build",
                           "hg17"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "genome build 'hg17'" in proc.stderr
    _nothing_written(tmp_path)


def test_cli_rounding_too_fine_for_the_threshold(store, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "hubscan.cli", "publish", str(store), "--out", str(tmp_path / "out"),
                           "--round-to", "4"], capture_output=True, text=True, timeout=300)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "round_to 4 and suppress_at_or_below 7" in lines[0] and "round to more than 4" in lines[0]
    _nothing_written(tmp_path)
