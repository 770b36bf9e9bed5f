"""Benchmark: every phecode for a hub of 100,000 persons with 10 M ICD-10 events, whole commands.

Data (generated here, seed 1): a hub long-form extract (CSV) with ICD-10 codes drawn from the
phecode 1.2 map you point at (Zipf-like popularity, HES-style undotted half of the time), 1-3 events
per visit day, 2000-2023, a persons file (sex, birth date) and a linkage table linking every person
to a genotype sample.

Side by side, in one run, each a whole process (start-up included), wall and CPU seconds and peak
RSS of the process tree (sampled every 0.25 s):

* ``hubscan phenotypes`` (the console command, in-process engine: no JVM): every phecode of the map
  as case/control/missing with exclusion ranges, the catalogue, first dates, covariates;
* with ``--spark``, the same command on local Spark (``--spark-master local[2]``), the engine before;
* with ``--phetk-python`` (a Python with phetk 0.3.6, see ../shared/notes/runtime.md), PheTK like for
  like: ``Phecode.count_phecode`` (ICD -> phecode mapping and counts, version 1.2 with roll-up, its
  DuckDB engine) then its phecode assignment, ``PheWAS._case_control_prep`` (cases with >= 2
  counts, controls minus the exclusion ranges, sex restriction) for every phecode with events.
  PheTK gets the same events as an ICD table with the codes as its map spells them (dotted: PheTK
  matches codes exactly and does no normalisation; hubscan reads the raw extract, half undotted)
  and the same map converted to PheTK's layout (phecode, ICD, flag, exclude_range, sex,
  phecode_unrolled), written before the timed runs.

``--large`` then times hubscan alone on 1 M persons x 100 M events (or ``--persons``/``--events``)
and prints the scaling line (seconds and peak memory per event) extrapolated to 5 M x 1 B.

    .venv/bin/python bench/phenotypes.py --map ../shared/data/phecodes/phecode_map_v1_2_icd10_beta.csv \
        --phetk-python ../pheno-venv-phetk/bin/python --spark
    .venv/bin/python bench/phenotypes.py --map MAP --small        # 5,000 persons x 500,000 events
    .venv/bin/python bench/phenotypes.py --map MAP --persons 1000000 --events 100000000 --workdir /tmp/b

Peers run only when asked (``--phetk-python``, ``--spark``). Data generated in ``--workdir`` are
reused by a later run with the same persons, events and map (``data.json`` records them).
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
from bench.measure import load as machine_load, run_measured  # noqa: E402


def make_data(root: Path, map_path: Path, n_persons: int, n_events: int, seed: int = 1, phetk: bool = False) -> dict:
    """The hub extract, persons, linkage and samples (and PheTK's ICD table when ``phetk``)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(seed)
    m = pd.read_csv(map_path, dtype=str, keep_default_na=False)
    col = "ICD10" if "ICD10" in m.columns else [c for c in m.columns if c.lower() in ("code", "icd")][0]
    codes = np.array(sorted({c for c in m[col] if "-" not in c}), dtype=object)
    undotted = np.array([c.replace(".", "") for c in codes], dtype=object)
    weights = 1.0 / np.arange(1, len(codes) + 1) ** 0.9
    weights = rng.permutation(weights / weights.sum())
    ids = pa.array([f"P{i:07d}" for i in range(n_persons)])
    days = pa.array((np.datetime64("2000-01-01") + np.arange(8760).astype("timedelta64[D]")).astype(str))
    both = pa.array(np.concatenate([codes, undotted]).astype(str))
    writers = {}
    chunk = 1_000_000
    files = {"events": open(root / "hub_events.csv", "wb")}
    if phetk:
        files["phetk"] = open(root / "phetk_icd.csv", "wb")
    try:
        for start in range(0, n_events, chunk):
            k = min(chunk, n_events - start)
            who = rng.integers(0, n_persons, size=k)
            day = rng.integers(0, 8760, size=k)
            pick = rng.choice(len(codes), size=k, p=weights)
            undot = rng.random(k) < 0.5
            def text(index, values):  # strings built in Arrow (dictionary decoded), not Python objects
                return pa.DictionaryArray.from_arrays(pa.array(index.astype(np.int32)), values).cast(pa.string())

            patient, date = text(who, ids), text(day, days)
            tables = {"events": pa.table({"patient_id": patient, "date": date,
                                          "vocabulary": text(np.zeros(k, np.int32), pa.array(["ICD10"])),
                                          "code": text(np.where(undot, pick + len(codes), pick), both),
                                          "value": pa.nulls(k, pa.string()), "unit": pa.nulls(k, pa.string())})}
            if phetk:
                tables["phetk"] = pa.table({"person_id": patient, "date": date, "ICD": text(pick, both),
                                            "vocabulary_id": text(np.zeros(k, np.int32), pa.array(["ICD10CM"]))})
            for name, table in tables.items():
                if name not in writers:
                    writers[name] = pcsv.CSVWriter(files[name], table.schema)
                writers[name].write_table(table)
    finally:
        for w in writers.values():
            w.close()
        for f in files.values():
            f.close()
    id_list = ids.to_numpy(zero_copy_only=False)
    sex = rng.choice(["M", "F"], size=n_persons)
    birth = np.datetime64("1930-01-01") + rng.integers(0, 25000, size=n_persons).astype("timedelta64[D]")
    birth = np.minimum(birth, np.datetime64("1999-12-31"))
    pd.DataFrame({"patient_id": id_list, "sex": sex, "birth_date": birth.astype(str)}).to_csv(root / "persons.csv", index=False)
    samples = np.array([f"S{i:07d}" for i in range(n_persons)])
    pd.DataFrame({"patient_id": id_list, "sample_id": samples}).to_csv(root / "linkage.csv", index=False)
    (root / "samples.txt").write_text("\n".join(samples) + "\n")
    out = {"events": root / "hub_events.csv", "persons": root / "persons.csv", "linkage": root / "linkage.csv",
           "samples": root / "samples.txt"}
    if phetk:
        age = (np.datetime64("2024-01-01") - birth).astype(np.int64) / 365.25
        pd.DataFrame({"person_id": id_list, "sex": (sex == "M").astype(int), "age": age.round(2)}).to_csv(
            root / "phetk_cohort.csv", index=False)
        out["phetk_icd"], out["phetk_cohort"] = root / "phetk_icd.csv", root / "phetk_cohort.csv"
    return out


def data_key(map_path: Path, n_persons: int, n_events: int, phetk: bool) -> dict:
    return {"map": str(Path(map_path).resolve()), "persons": n_persons, "events": n_events, "seed": 1,
            "phetk": phetk}


def reuse_data(root: Path, map_path: Path, n_persons: int, n_events: int, phetk: bool) -> dict | None:
    """The files :func:`make_data` wrote in ``root`` for the same sizes and map (``data.json``), or None."""
    marker = root / "data.json"
    if not marker.exists() or json.loads(marker.read_text()) != data_key(map_path, n_persons, n_events, phetk):
        return None
    data = {"events": root / "hub_events.csv", "persons": root / "persons.csv", "linkage": root / "linkage.csv",
            "samples": root / "samples.txt"}
    if phetk:
        data["phetk_icd"], data["phetk_cohort"] = root / "phetk_icd.csv", root / "phetk_cohort.csv"
    return data if all(p.exists() for p in data.values()) else None


def phetk_map(map_path: Path, out: Path) -> Path:
    """The phecode map in PheTK's 1.2 layout: one row per (code, rolled-up phecode), with that
    phecode's exclusions spelled as PheTK's own map spells them, the explicit list of phecodes in
    its ranges (hubscan's reading of the same file, so both use the same pairs and exclusions)."""
    import pandas as pd

    from phenotypes.phecodes.maps import load_phecode_map

    pmap = load_phecode_map(map_path)
    pairs = pmap.pairs[pmap.pairs["family"] == "ICD10"]
    raw = pd.read_csv(map_path, dtype=str, keep_default_na=False)
    dotted = {c.replace(".", ""): c for c in raw["ICD10"] if "-" not in c}
    e = pmap.exclusion_matrix().tocsc()
    excl = {p: ",".join(pmap.phecodes[q] for q in e.indices[e.indptr[j]:e.indptr[j + 1]])
            for j, p in enumerate(pmap.phecodes) if e.indptr[j + 1] > e.indptr[j]}
    table = pd.DataFrame({"phecode": pairs["phecode"].to_numpy(), "ICD": pairs["code"].map(dotted).to_numpy(),
                          "flag": 10, "phecode_string": "", "phecode_category": "",
                          "exclude_range": pairs["phecode"].map(excl).fillna("").to_numpy(), "sex": "Both",
                          "phecode_unrolled": pairs["phecode"].to_numpy()})
    table[table["ICD"].notna()].to_csv(out, index=False)
    return out


PHETK = """
import sys, time
import polars as pl
from phetk.phecode import Phecode
from phetk.phewas import PheWAS
icd, cohort, map_path, out = sys.argv[1:5]
t0 = time.perf_counter()
ph = Phecode(platform="custom", icd_file_path=icd)
ph.count_phecode(phecode_version="1.2", icd_version="custom", phecode_map_file_path=map_path, output_file_path=out)
t1 = time.perf_counter()
pw = PheWAS(phecode_version="1.2", phecode_count_file_path=out, cohort_file_path=cohort, covariate_cols=["age"],
            independent_variable_of_interest="age", sex_at_birth_col="sex", icd_version="custom",
            phecode_map_file_path=map_path, min_cases=1, min_phecode_count=2, use_exclusion=True,
            output_file_path=out + ".phewas.tsv")
n = cases = controls = 0
for phecode in pw.phecode_list:
    c, k, _ = pw._case_control_prep(phecode)
    n += 1
    cases += len(c)
    controls += len(k)
t2 = time.perf_counter()
print(f"PHETK count_s={t1 - t0:.1f} assign_s={t2 - t1:.1f} phecodes={n} cases={cases} controls={controls}")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--map", required=True, type=Path, help="phecode map (e.g. phecode_map_v1_2_icd10_beta.csv)")
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--small", action="store_true", help="5,000 persons x 500,000 events")
    ap.add_argument("--workdir", type=Path, help="keep data and outputs here (default: a temporary folder)")
    ap.add_argument("--phetk-python", help="a Python with phetk 0.3.6 installed, for the comparison")
    ap.add_argument("--spark", action="store_true", help="also run hubscan phenotypes on local[2] Spark")
    ap.add_argument("--large", action="store_true",
                    help="then hubscan alone on 1 M persons x 100 M events, and the line to 5 M x 1 B")
    ap.add_argument("--large-persons", type=int, default=1_000_000)
    ap.add_argument("--large-events", type=int, default=100_000_000)
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
    hubscan = str(Path(sys.executable).parent / "hubscan")
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "OPENBLAS_NUM_THREADS": "1"}
    rows, points = [], []

    def hubscan_run(data, out, persons, events, spark=False):
        cmd = [hubscan, "phenotypes", "--hub", str(data["events"]), "--persons", str(data["persons"]),
               "--linkage", str(data["linkage"]), "--samples", str(data["samples"]), "--phecode-map", str(args.map),
               "--covariates", "sex,age", "--out", str(out)]
        if spark:
            cmd += ["--spark-master", "local[2]"]
        m = run_measured(cmd, env=env)
        report = json.loads((out / "report.json").read_text())
        return m, report

    phetk = bool(args.phetk_python)
    t0 = time.monotonic()
    data = reuse_data(root, args.map, args.persons, args.events, phetk) if args.workdir else None
    if data is None:
        data = make_data(root, args.map, args.persons, args.events, phetk=phetk)
        if args.workdir:
            (root / "data.json").write_text(json.dumps(data_key(args.map, args.persons, args.events, phetk)) + "\n")
    gen = time.monotonic() - t0
    size = data["events"].stat().st_size
    print(f"data: {args.persons:,} persons, {args.events:,} events, {size / 2**20:.0f} MiB CSV, generated or reused "
          f"in {gen:.1f} s; load before {machine_load():.1f}")
    m, report = hubscan_run(data, root / "out", args.persons, args.events)
    rows.append(("hubscan phenotypes (in-process)", m, ""))
    points.append((args.persons, args.events, m))
    traits = report["traits"]["traits"]
    if args.spark:
        ms, _ = hubscan_run(data, root / "out-spark", args.persons, args.events, spark=True)
        rows.append(("hubscan phenotypes --spark-master local[2]", ms, ""))
    if phetk:
        map_phetk = phetk_map(args.map, root / "phetk_map.csv")
        mp = run_measured([args.phetk_python, "-c", PHETK, str(data["phetk_icd"]), str(data["phetk_cohort"]),
                           str(map_phetk), str(root / "phetk_counts.tsv")],
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1"}, cwd=root)
        line = next((ln for ln in mp.stdout.splitlines() if ln.startswith("PHETK")), "")
        rows.append(("PheTK count_phecode + case/control", mp, line.removeprefix("PHETK ")))
    print(f"\n{'command':<44} {'wall s':>8} {'CPU s':>8} {'peak RSS GiB':>13} {'events/s':>12}")
    for name, r, note in rows:
        print(f"{name:<44} {r.wall:8.1f} {r.cpu:8.1f} {r.peak_mib / 1024:13.2f} {args.events / r.wall:12,.0f}  {note}")
    if len(rows) > 1:
        print("ratios (peer / hubscan in-process): " + ", ".join(
            f"{name}: wall {r.wall / rows[0][1].wall:.2f}x, CPU {r.cpu / rows[0][1].cpu:.2f}x"
            for name, r, _ in rows[1:]))
    print(f"hubscan: {traits:,} traits x {args.persons:,} samples; unmapped events "
          f"{sum(v['events_unmapped'] for v in report['phecodes'].values()):,}; load after {machine_load():.1f}")
    if args.large:
        import shutil

        for name in ("hub_events.csv", "phetk_icd.csv"):
            (root / name).unlink(missing_ok=True)
        shutil.rmtree(root / "out", ignore_errors=True)
        shutil.rmtree(root / "out-spark", ignore_errors=True)
        big = root / "large"
        big.mkdir(exist_ok=True)
        t0 = time.monotonic()
        data = make_data(big, args.map, args.large_persons, args.large_events)
        print(f"\nlarge data: {args.large_persons:,} persons, {args.large_events:,} events, "
              f"{data['events'].stat().st_size / 2**30:.1f} GiB CSV, generated in {time.monotonic() - t0:.0f} s")
        ml, _ = hubscan_run(data, big / "out", args.large_persons, args.large_events)
        points.append((args.large_persons, args.large_events, ml))
        print(f"hubscan phenotypes (in-process) {args.large_events:,} events: wall {ml.wall:.1f} s, CPU {ml.cpu:.1f} s, "
              f"peak RSS {ml.peak_mib / 1024:.2f} GiB; load {machine_load():.1f}")
        (p0, e0, a), (p1, e1, b) = points[0], points[-1]
        per_event = (b.wall - a.wall) / (e1 - e0)
        wall_1b = b.wall + per_event * (1_000_000_000 - e1)
        print(f"scaling line (wall = {a.wall:.1f} s + {per_event * 1e6:.2f} s per million events beyond "
              f"{e0:,}): 5 M persons x 1 B events ~ {wall_1b / 60:.0f} min on this machine; "
              f"peak RSS {a.peak_mib / 1024:.2f} -> {b.peak_mib / 1024:.2f} GiB for {e1 / e0:.0f}x the events")
        shutil.rmtree(big, ignore_errors=True)
    out_dir = PROJECT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    result = {"persons": args.persons, "events": args.events, "generate_s": gen, "csv_bytes": size, "traits": traits,
              "tools": [{"name": n, "wall_s": r.wall, "cpu_s": r.cpu, "peak_rss_mib": r.peak_mib, "note": note}
                        for n, r, note in rows],
              "points": [{"persons": p, "events": e, "wall_s": r.wall, "cpu_s": r.cpu, "peak_rss_mib": r.peak_mib}
                         for p, e, r in points]}
    (out_dir / f"phenotypes-{args.persons}x{args.events}.json").write_text(json.dumps(result, indent=2) + "\n")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
