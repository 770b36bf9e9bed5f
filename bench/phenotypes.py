"""Benchmark: every phecode for a hub of 100,000 persons with 10 M ICD-10 events.

Data (generated here, seed 1): a hub long-form extract (CSV) with ICD-10 codes drawn from the
phecode 1.2 map you point at (Zipf-like popularity, HES-style undotted half of the time), 1-3 events
per visit day, 2000-2023, a persons file (sex, birth date) and a linkage table linking every person
to a genotype sample. hubscan then derives all phecodes of that map (and of a second map with
--map2, e.g. phecodeX) with `hubscan phenotypes` in its own process on the local embedded Spark.

Reported: generation time, hubscan wall time (process start to exit, Spark start-up included),
peak memory of the whole process tree (Python driver + Spark JVM: RSS summed over the tree,
sampled every 0.25 s), events per second, traits, and output sizes. A PheTK comparison
(--phetk-python, a Python with phetk installed, see ../shared/notes/runtime.md) counts phecodes
on the same events with PheTK's Phecode.count_phecode (ICD-10 "WHO", custom map).

    .venv/bin/python bench/phenotypes.py --map ../shared/data/phecodes/phecode_map_v1_2_icd10_beta.csv
    .venv/bin/python bench/phenotypes.py --map MAP --small        # 5,000 persons x 500,000 events
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
from bench.measure import run_measured  # noqa: E402


def make_data(root: Path, map_path: Path, n_persons: int, n_events: int, seed: int = 1) -> dict:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(seed)
    m = pd.read_csv(map_path, dtype=str, keep_default_na=False)
    col = "ICD10" if "ICD10" in m.columns else [c for c in m.columns if c.lower() in ("code", "icd")][0]
    codes = np.array(sorted({c for c in m[col] if "-" not in c}))
    weights = 1.0 / np.arange(1, len(codes) + 1) ** 0.9
    weights = rng.permutation(weights / weights.sum())
    ids = np.array([f"P{i:07d}" for i in range(n_persons)])
    writer = None
    chunk = 1_000_000
    with open(root / "hub_events.csv", "wb") as fh:
        for start in range(0, n_events, chunk):
            k = min(chunk, n_events - start)
            who = rng.integers(0, n_persons, size=k)
            day = np.datetime64("2000-01-01") + rng.integers(0, 8760, size=k).astype("timedelta64[D]")
            code = codes[rng.choice(len(codes), size=k, p=weights)]
            undot = rng.random(k) < 0.5
            code = np.where(undot, np.char.replace(code.astype(str), ".", ""), code)
            table = pa.table({"patient_id": ids[who], "date": day.astype(str), "vocabulary": np.full(k, "ICD10"),
                              "code": code, "value": pa.nulls(k, pa.string()), "unit": pa.nulls(k, pa.string())})
            if writer is None:
                writer = pcsv.CSVWriter(fh, table.schema)
            writer.write_table(table)
        writer.close()
    sex = rng.choice(["M", "F"], size=n_persons)
    birth = np.datetime64("1930-01-01") + rng.integers(0, 25000, size=n_persons).astype("timedelta64[D]")
    birth = np.minimum(birth, np.datetime64("1999-12-31"))
    pd.DataFrame({"patient_id": ids, "sex": sex, "birth_date": birth.astype(str)}).to_csv(root / "persons.csv", index=False)
    samples = np.array([f"S{i:07d}" for i in range(n_persons)])
    pd.DataFrame({"patient_id": ids, "sample_id": samples}).to_csv(root / "linkage.csv", index=False)
    (root / "samples.txt").write_text("\n".join(samples) + "\n")
    return {"events": root / "hub_events.csv", "persons": root / "persons.csv", "linkage": root / "linkage.csv",
            "samples": root / "samples.txt"}


def run_measured_bytes(cmd: list[str], env: dict | None = None) -> tuple[float, int, str]:
    """(wall seconds, peak RSS of the process tree in bytes, output tail)."""
    m = run_measured(cmd, env=env)
    return m.wall, int(m.peak_mib * 2**20), m.stdout + m.stderr[-2000:]


HUBSCAN = """
import sys, argparse
from phenotypes import command
from hubscan.log import configure_logging
configure_logging("WARNING")
p = argparse.ArgumentParser(); command.add_arguments(p)
sys.exit(command.run(p.parse_args(sys.argv[1:])))
"""

PHETK = """
import sys, polars as pl
from phetk.phecode import Phecode
events, map_path, out = sys.argv[1:4]
ev = pl.read_csv(events, schema_overrides={"code": pl.Utf8}).select(
    pl.col("patient_id").alias("person_id"), pl.col("date").str.to_date(), pl.col("code").alias("ICD"),
    pl.lit("ICD10").alias("vocabulary_id"))
ev.write_csv(out + ".icd.csv")
ph = Phecode(platform="custom", icd_file_path=out + ".icd.csv")
ph.count_phecode(phecode_version="X", icd_version="custom", phecode_map_file_path=map_path, output_file_path=out)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--map", required=True, type=Path, help="phecode map (e.g. phecode_map_v1_2_icd10_beta.csv)")
    ap.add_argument("--map2", type=Path, help="a second map derived in the same run (e.g. phecodeX)")
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--small", action="store_true", help="5,000 persons x 500,000 events")
    ap.add_argument("--workdir", type=Path, help="keep data and outputs here (default: a temporary folder)")
    ap.add_argument("--phetk-python", help="a Python with phetk installed, for the comparison")
    ap.add_argument("--phetk-map", type=Path, help="PheTK-layout map for the comparison (phecode, ICD, flag)")
    args = ap.parse_args()
    if args.small:
        args.persons, args.events = 5_000, 500_000
    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench-phenotypes-")
        root = Path(tmp.name)
    else:
        root = args.workdir
        root.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    data = make_data(root, args.map, args.persons, args.events)
    gen = time.monotonic() - t0
    size = data["events"].stat().st_size
    print(f"data: {args.persons:,} persons, {args.events:,} events, {size / 2**20:.0f} MiB CSV, generated in {gen:.1f} s")

    cmd = [sys.executable, "-c", HUBSCAN, "--hub", str(data["events"]), "--persons", str(data["persons"]),
           "--linkage", str(data["linkage"]), "--samples", str(data["samples"]), "--phecode-map", str(args.map),
           "--covariates", "sex,age", "--out", str(root / "out")]
    if args.map2:
        cmd += ["--phecode-map", str(args.map2)]
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "OPENBLAS_NUM_THREADS": "1"}
    wall, peak, _ = run_measured_bytes(cmd, env)
    report = json.loads((root / "out" / "report.json").read_text())
    traits = report["traits"]["traits"]
    matrix = (root / "out" / "traits.parquet").stat().st_size
    rows = [("hubscan phenotypes", wall, peak)]
    if args.phetk_python and args.phetk_map:
        pw, pp, _ = run_measured_bytes([args.phetk_python, "-c", PHETK, str(data["events"]), str(args.phetk_map),
                                  str(root / "phetk_counts.tsv")], {**os.environ, "OPENBLAS_NUM_THREADS": "1"})
        rows.append(("PheTK count_phecode (counts only)", pw, pp))
    print(f"\n{'tool':<36} {'wall s':>8} {'peak RSS GiB':>13} {'events/s':>12}")
    for name, w, p in rows:
        print(f"{name:<36} {w:8.1f} {p / 2**30:13.2f} {args.events / w:12,.0f}")
    print(f"\nhubscan: {traits:,} traits x {args.persons:,} samples; traits.parquet {matrix / 2**20:.1f} MiB; "
          f"unmapped events {sum(v['events_unmapped'] for v in report['phecodes'].values()):,}")
    out_dir = PROJECT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    result = {"persons": args.persons, "events": args.events, "generate_s": gen, "csv_bytes": size,
              "tools": [{"name": n, "wall_s": w, "peak_rss_bytes": p} for n, w, p in rows],
              "traits": traits, "matrix_bytes": matrix}
    (out_dir / f"phenotypes-{args.persons}x{args.events}.json").write_text(json.dumps(result, indent=2) + "\n")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
