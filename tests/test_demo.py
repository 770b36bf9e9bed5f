"""`hubscan demo` end to end, as the README's first command runs it (smaller cohort)."""

import subprocess
import sys
from pathlib import Path

from hubscan.simulate.run import read_manifest


def test_demo_runs_every_step_and_prints_where_results_are(tmp_path):
    out = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "hubscan.cli", "demo", "--out", str(out),
                             "--samples", "400", "--variants", "1600"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert lines[0] == f"hubscan demo: results under {out}"
    paths = [line.split()[-1] for line in lines[1:]]
    assert len(paths) >= 7
    for path in paths:
        assert Path(path).is_absolute() and Path(path).exists(), path
    steps = [line.split()[0] for line in lines[1:]]
    assert steps[0] == "simulate" and "ingest" in steps
    assert read_manifest(out / "cohort")["cohort"]["n_samples"] == 400
    assert (out / "genotype-store" / "_SUCCESS").exists()
    assert {"phenotypes", "gwas", "phewas"} <= set(steps)
    from gwas.results import open_results

    gwas, phewas = open_results(out / "gwas"), open_results(out / "phewas")
    assert {"ldl", "hba1c", "bmi"} <= set(gwas.read(columns=["beta"]).trait)
    assert phewas.metadata["n_variants"] == len((out / "cohort" / "truth" / "causal_variants.tsv").read_text().splitlines()) - 1
    # Spark's scratch is gone, its logs stay with the run, nothing lands in the current directory.
    assert not (out / "_spark").exists() and (out / "_logs").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]
