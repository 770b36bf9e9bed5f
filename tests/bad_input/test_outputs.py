"""Output hygiene around the corpus: a killed run's temporaries are cleaned by the next run, and a
results store does not depend on the folder it is written to."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from hubscan.cli import main
from hubscan.files import atomic_dir, remove_stale_temporaries


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_atomic_dir_removes_temporaries_of_dead_processes_only(tmp_path):
    final = tmp_path / "release"
    dead = tmp_path / f".release.tmp-{_dead_pid()}"
    (dead / "gwas-ssf").mkdir(parents=True)
    (dead / "gwas-ssf" / "ldl.tsv.gz").write_bytes(b"half")
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".release.tmp-{alive.pid}"
        live.mkdir()
        other = tmp_path / ".other.tmp-1"  # another output's temporary: not ours to judge
        other.mkdir()
        with atomic_dir(final) as tmp:
            (tmp / "x").write_text("done")
        assert (final / "x").read_text() == "done"
        assert not dead.exists() and live.is_dir() and other.is_dir()
        assert remove_stale_temporaries(final) == []
    finally:
        alive.kill()
        alive.wait()
    assert remove_stale_temporaries(final) == [live] and not live.exists()


def test_killed_publish_leftover_is_removed_by_the_next_publish(valid, tmp_path):
    leftover = tmp_path / f".release.tmp-{_dead_pid()}"
    (leftover / "parquet").mkdir(parents=True)
    (leftover / "parquet" / "ldl.parquet").write_bytes(os.urandom(1000))
    assert main(["--log-level", "ERROR", "publish", str(valid["results"]), "--out", str(tmp_path / "release"),
                 "--no-plots", "--date", "2026-01-02"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release"]


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_results_store_bytes_do_not_depend_on_the_output_folder(valid, tmp_path):
    """_results.json and _parts/job.json record the configuration, not where it was written."""
    from gwas.scan.config import load_config
    from gwas.scan.run import run_scan

    def run(out):
        run_scan(load_config(None, {"genotypes": str(valid["store"]), "phenotypes": str(valid["pheno"]),
                                    "covariates": [str(valid["cov"])], "out": str(out), "genome_build": "GRCh37"}))
        return _digests(out)

    first, second = run(tmp_path / "a"), run(tmp_path / "deeper" / "b")
    assert "_results.json" in first and "_parts/job.json" in first
    assert first == second
    assert str(tmp_path) not in (tmp_path / "a" / "_results.json").read_text()
    assert first == _digests(valid["results"])  # and the same as the fixture's run elsewhere
