"""`hubscan demo` end to end, as the README's first command runs it (smaller cohort): every step,
then every file it wrote scanned for the cohort's sample and patient ids."""

import gzip
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hubscan.simulate.run import read_manifest


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One demo run (simulate, ingest, qc, phenotypes, gwas, phewas, publish) shared by this module."""
    cwd = tmp_path_factory.mktemp("demo-cwd")
    out = cwd / "demo"
    result = subprocess.run([sys.executable, "-m", "hubscan.cli", "demo", "--out", str(out),
                             "--samples", "400", "--variants", "1600"],
                            cwd=cwd, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd, out, result


def test_demo_runs_every_step_and_prints_where_results_are(demo):
    tmp_path, out, result = demo
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
    assert {"phenotypes", "wgr", "gwas", "phewas"} <= set(steps)
    from gwas.results import open_results

    gwas, phewas = open_results(out / "gwas"), open_results(out / "phewas")
    assert {"ldl", "hba1c", "bmi"} <= set(gwas.read(columns=["beta"]).trait)
    # the GWAS is step 2 on the demo's own step 1: every GWAS trait has its LOCO file, recorded by checksum
    step1 = gwas.metadata["step1"]
    assert step1["pred_list"] == "wgr_pred.list" and (out / "wgr" / "_SUCCESS").is_file()
    assert set(step1["loco"]) == set(gwas.read(columns=["beta"]).trait)
    assert "step1" not in phewas.metadata
    assert phewas.metadata["n_variants"] == len((out / "cohort" / "truth" / "causal_variants.tsv").read_text().splitlines()) - 1
    # Spark's (and Hail's) scratch is gone, the logs stay with the run, nothing lands in the current directory.
    assert not list(out.rglob("_spark")) and (out / "_logs").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


#: per-sample working files that exist to hold sample ids (README "Logs and identifiers");
#: everything else a run writes (logs, results stores, releases, reports, markers) must hold none
PER_SAMPLE_FILES = re.compile(r"^(genotype-store/sample_id/.*"
                              r"|qc/(sample_qc|pcs|failed_samples|related_pairs)\.tsv"
                              r"|wgr/wgr_\d+\.loco"
                              r"|phenotypes/(traits\.parquet|first_dates\.parquet|covariates\.(tsv|parquet)"
                              r"|phenotypes\.tsv))$")


def _cohort_ids(cohort: Path) -> set[str]:
    """Every sample id (genotypes, linkage) and patient id (linkage, OMOP person_source_value, hub
    extract) of the simulated cohort. OMOP person_id (1, 2, ...) are row numbers: not searched."""
    import pandas as pd

    link = pd.read_csv(cohort / "linkage.csv", dtype=str)
    person = pd.read_csv(cohort / "omop" / "person.csv", dtype=str, usecols=["person_source_value"])
    hub = pd.read_csv(cohort / "hub_events.csv", dtype=str, usecols=["patient_id"])
    samples = [ln.split()[1] for ln in (cohort / "genotypes.sample").read_text().splitlines()[2:]]
    ids = set(link.patient_id) | set(link.sample_id) | set(person.person_source_value) | set(hub.patient_id) | set(samples)
    assert len(ids) > 800 and all(len(i) >= 6 for i in ids)
    return ids


def _decoded(path: Path) -> list[str]:
    """The text of a written file as a reader would see it: gzip and Parquet decoded, Zarr chunks
    through zarr; anything else as raw bytes (PNG text chunks, logs, JSON...)."""
    data = path.read_bytes()
    texts = [data.decode("latin-1")]
    if data[:2] == b"\x1f\x8b":
        texts.append(gzip.decompress(data).decode("latin-1"))
    if data[:4] == b"PAR1":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        texts.append(table.to_pandas().to_csv())
        texts.append(str(table.schema.metadata))
    return texts


def _zarr_strings(store: Path) -> dict[str, str]:
    """Every string array of a Zarr group, decoded (chunks are Blosc-compressed)."""
    import zarr

    group = zarr.open_group(str(store), mode="r")
    found = {}
    for name, array in group.arrays():
        if array.dtype.kind in "OSUT":
            found[f"{store.name}/{name}"] = " ".join(map(str, array[...].ravel().tolist()))
    return found


def test_no_identifier_in_any_file_the_demo_wrote(demo):
    _, out, _ = demo
    ids = _cohort_ids(out / "cohort")
    pattern = re.compile("|".join(sorted(map(re.escape, ids), key=len, reverse=True)))
    leaks, scanned = [], 0
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        if rel.startswith("cohort/") or PER_SAMPLE_FILES.match(rel):
            continue
        scanned += 1
        for text in _decoded(path):
            hit = pattern.search(text)
            if hit:
                leaks.append(f"{rel}: {hit.group(0)}")
                break
    for name, text in _zarr_strings(out / "genotype-store").items():  # chunks are compressed: decode them
        if not name.endswith("/sample_id") and pattern.search(text):
            leaks.append(f"{name}: {pattern.search(text).group(0)}")
    # the scan is not vacuous: logs, results, releases were there, and the per-sample files do hold ids
    assert scanned > 50 and list(out.rglob("hail.log")) and (out / "publish" / "gwas" / "publish.json").is_file()
    assert pattern.search((out / "qc" / "pcs.tsv").read_text())
    assert not leaks, leaks
