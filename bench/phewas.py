"""Benchmark: hubscan's PheWAS next to PheTK's on the same cohort, and a hubscan-only large PheWAS.

Data (generated here from ``--seed``, not timed):

* a cohort of N persons: ``sex`` (1 male, 0 female), ``age``, ``pc1..pc10`` (12 covariates), and
  M variants of hard calls (0/1/2 ALT alleles, MAF 0.05-0.5) written into a hubscan genotype store
  (:func:`gwas.store.writer.create_store` / ``write_block``, then ``_SUCCESS``);
* a phecode-count table ``person_id, phecode, count`` (PheTK's input layout; count = distinct days)
  for P phecodes drawn from a PheTK phecode map (default: PheTK's bundled ``phecodeX.csv``, found
  through ``--phetk-python``). Each phecode has its own prevalence (0.2-10 %), covariate and genotype
  effects (variant 0) and its own share of persons with a single day; sex-restricted phecodes
  mostly occur in the right sex, with a few wrong-sex records.

Case/control rule, as PheTK 0.3.6 ``PheWAS._case_control_prep`` applies it (``min_phecode_count=2``;
``use_exclusion`` only with ``--phecode-version 1.2``, phecode X has no exclusion ranges):

* case: the phecode on at least 2 days;
* not analysed: the phecode on 1 day (neither case nor control);
* sex restriction from the map's ``sex`` column: persons of the other sex are left out (a
  wrong-sex record does not make a case), and ``sex`` is not a covariate for that phecode;
* 1.2 with exclusions: a non-case with any phecode of the map's ``exclude_range`` list (any count)
  is not a control (PheTK's 1.2 map lists phecodes one by one, no ranges);
* control: every other person of the cohort; a phecode is tested when it has >= 50 cases and
  controls (PheTK: cases >= 50 and controls > 50).

hubscan gets the same rule from its own code: the counts are read, :func:`phenotypes.phecodes.rules.
phecode_status` (k = 2, sex restriction from :func:`phenotypes.phecodes.maps.load_phecode_map` of
the same map file, and its exclusion matrix for 1.2) makes the trait matrix (``traits.parquet``), then
``gwas.scan.run_scan`` runs with ``binary_test: wald`` (the Newton MLE, beta = log odds ratio per
ALT allele, SE from the inverse information, p from N(0, 1): what PheTK's statsmodels ``Logit.fit``
reports). PheTK gets the counts, a cohort CSV (``person_id, genotype, covariates``; genotype =
variant 0) and the map file, and runs ``PheWAS(...).run(n_workers=2)`` (method ``logit``).

Timings are whole processes: PheTK's (Python start to exit) against hubscan's two steps, the trait
matrix from the counts ("derive") and the scan, run in-process (one Python process, no Spark) and
with ``hubscan phewas`` on the embedded local Spark (JVM start included). Every child process gets
``OPENBLAS_NUM_THREADS=1`` (bench/README.md); hubscan's in-process scan is also timed with
``NUMBA_NUM_THREADS=1`` (its kernels run variants in parallel, which a 1-variant PheWAS cannot use,
and on a busy 2-core machine every parallel region then waits for a core). The script exits non-zero
when hubscan and PheTK disagree: other tested phecodes or case/control counts, a beta differing by
more than BETA_RTOL relative, or a p-value by more than P_RTOL relative.

``--large`` (hubscan only; PheTK would take days): 1,000 phecodes x 1,000 variants x 50,000 persons,
in-process, first with 62/125/250/500/1,000 traits on ``--scaling-variants`` (200) variants (how time
grows with traits: a least-squares line through the sweep), then the full run; reports seconds per
(variant, trait) pair. Its binary test is ``--large-test`` (default ``score``, REGENIE's first pass:
no per-pair fit; ``wald`` runs a Newton fit for every pair). A scan keeps the null fits of one
trait chunk (50 traits, about 24 bytes x samples each) from block to block; ``--traits-per-run``
(default 1,000: one scan process) splits the traits over several processes if wanted.

    .venv/bin/python bench/phewas.py --small          # 5,000 persons x 60 phecodes, no Spark, < 1 min
    .venv/bin/python bench/phewas.py                  # 50,000 persons x 400 phecodes (PheTK ~3 min)
    .venv/bin/python bench/phewas.py --phecode-version 1.2   # PheTK's 1.2 map with exclusions
    .venv/bin/python bench/phewas.py --large          # hubscan only
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
from bench.measure import run_measured, warm_up  # noqa: E402
DEFAULT_PHETK_PYTHON = Path.home() / ".cache/hubscan/phetk-venv/bin/python"
COVARIATES = ["age", "sex"] + [f"pc{j}" for j in range(1, 11)]
MIN_CASES = 50
MIN_PHECODE_COUNT = 2
#: hubscan's and PheTK's betas must agree to this relative difference (issue 6's bar) ...
BETA_RTOL = 1e-6
#: ... and their Wald p-values to this one
P_RTOL = 1e-5

PHETK_RUN = """
import sys, time
from phetk.phewas import PheWAS
counts, cohort, phecode_map, out, covariates, version = sys.argv[1:7]
p = PheWAS(phecode_version=version, phecode_count_file_path=counts, cohort_file_path=cohort,
           covariate_cols=covariates.split(","), independent_variable_of_interest="genotype",
           sex_at_birth_col="sex", male_as_one=True, icd_version="US", phecode_map_file_path=phecode_map,
           min_cases={min_cases}, min_phecode_count={k}, use_exclusion=version == "1.2",
           output_file_path=out)
p.run(n_workers=2)
""".format(min_cases=MIN_CASES, k=MIN_PHECODE_COUNT)


# -- data ------------------------------------------------------------------------------------------
def make_data(root: Path, map_path: Path, n: int, n_phecodes: int, n_variants: int, seed: int) -> dict:
    """Cohort CSV, covariate file, genotype store and phecode counts under ``root``."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pcsv

    from phenotypes.phecodes.maps import load_phecode_map

    rng = np.random.default_rng(seed)
    ids = np.array([f"P{i:07d}" for i in range(n)])
    sex = (rng.random(n) < 0.5).astype(np.int64)                        # 1 male, 0 female
    age = np.round(rng.normal(55, 12, n), 1)
    pcs = np.round(rng.standard_normal((n, 10)), 4)
    maf = rng.uniform(0.05, 0.5, n_variants)
    dosage = rng.binomial(2, maf[:, None], (n_variants, n)).astype(np.float64)
    write_store(root / "store", ids, dosage)

    cov = pd.DataFrame({"age": age, "sex": sex, **{f"pc{j + 1}": pcs[:, j] for j in range(10)}})
    plink = cov.copy()
    plink.insert(0, "IID", ids)
    plink.insert(0, "#FID", ids)
    plink.to_csv(root / "covariates.tsv", sep="\t", index=False)
    cohort = cov.copy()
    cohort.insert(0, "genotype", dosage[0].astype(np.int64))
    cohort.insert(0, "person_id", ids)
    cohort.to_csv(root / "cohort.csv", index=False)

    pmap = load_phecode_map(map_path, rollup=False)
    listed = set(pd.read_csv(map_path, dtype=str, usecols=["phecode"])["phecode"].str.strip())
    candidates = [x for x in pmap.phecodes if x in listed]   # PheTK looks phecodes up in this column
    pick = np.sort(rng.choice(len(candidates), size=min(n_phecodes, len(candidates)), replace=False))
    phecodes = [candidates[i] for i in pick]
    z = np.column_stack([(age - 55) / 12, pcs[:, :3]])
    g = dosage[0] - 2 * maf[0]
    person, code, count = [], [], []
    for j, p in enumerate(phecodes):
        prevalence = np.exp(rng.uniform(np.log(0.002), np.log(0.10)))
        eta = np.log(prevalence) + z @ rng.normal(0, 0.3, z.shape[1]) + g * rng.normal(0, 0.15)
        restricted = pmap.sex.get(p)
        if restricted:
            right = sex == (1 if restricted == "M" else 0)
            eta = np.where(right, eta + np.log(2), np.log(prevalence * 0.01))  # a few wrong-sex records
        has = np.flatnonzero(rng.random(n) < 1 / (1 + np.exp(-eta)))
        days = 1 + rng.poisson(rng.uniform(0.3, 3.0), len(has))
        person.append(ids[has])
        code.append(np.full(len(has), p, dtype=object))
        count.append(days)
    counts = pa.table({"person_id": np.concatenate(person), "phecode": np.concatenate(code).astype(str),
                       "count": np.concatenate(count).astype(np.int64)})
    pcsv.write_csv(counts, root / "phecode_counts.csv",
                   pcsv.WriteOptions(quoting_style="none"))
    return {"phecodes": phecodes, "events": counts.num_rows, "prefix": pmap.trait_prefix}


def write_store(path: Path, sample_ids: np.ndarray, dosage: np.ndarray, block: int = 1000) -> None:
    """A genotype store holding ``dosage`` (variants, samples) hard calls on contig 1."""
    from gwas.store.variables import encode_dosage
    from gwas.store.writer import create_store, write_block
    from hubscan.parts import PartTracker

    m, n = dosage.shape
    create_store(path, sample_ids.tolist(), ["1"], [249_250_621], m, with_genotypes=False,
                 variants_chunk=min(block, m), attrs={"source_kind": "bench"})
    for a in range(0, m, block):
        d = dosage[a:a + block]
        k = d.shape[0]
        af = d.mean(axis=1) / 2
        write_block(path, a, {
            "variant_contig": np.zeros(k, np.int16),
            "variant_position": np.arange(a + 1, a + k + 1, dtype=np.int32) * 100,
            "variant_allele": np.tile(np.array([["A", "G"]], dtype=object), (k, 1)),
            "variant_id": np.array([f"v{a + i}" for i in range(k)], dtype=object), "variant_id_mask": np.zeros(k, bool),
            "variant_source": np.zeros(k, np.int32), "variant_split": np.ones(k, np.int16),
            "variant_alt_frequency": af, "variant_call_rate": np.ones(k), "variant_info": np.ones(k),
            "call_dosage_scaled": encode_dosage(d)})
    PartTracker(path, "ingest", {"bench": "phewas"}).finalise({"variants": m, "samples": n})


# -- hubscan (child processes) ---------------------------------------------------------------------
def derive_traits(root: Path, map_path: Path, phecodes: list[str]) -> None:
    """Child process: phecode counts -> traits.parquet by hubscan's phecode rule (see module docs)."""
    import pyarrow.csv as pcsv
    from scipy import sparse

    from phenotypes.matrix.io import BINARY, ParquetMatrixWriter
    from phenotypes.phecodes.maps import load_phecode_map
    from phenotypes.phecodes.rules import SEX_FEMALE, SEX_MALE, phecode_status

    pmap = load_phecode_map(map_path, rollup=False)
    cohort = pcsv.read_csv(root / "cohort.csv", convert_options=pcsv.ConvertOptions(
        include_columns=["person_id", "sex"], column_types={"person_id": "string"}))
    ids = np.asarray(cohort.column("person_id").to_pylist(), dtype=object)
    sex = np.where(cohort.column("sex").to_numpy() == 1, SEX_MALE, SEX_FEMALE).astype(np.int8)
    counts = pcsv.read_csv(root / "phecode_counts.csv", convert_options=pcsv.ConvertOptions(
        column_types={"person_id": "string", "phecode": "string", "count": "int64"}))
    row_of = {s: i for i, s in enumerate(ids.tolist())}
    col_of = {p: j for j, p in enumerate(phecodes)}
    rows = np.array([row_of.get(s, -1) for s in counts.column("person_id").to_pylist()])
    cols = np.array([col_of.get(p, -1) for p in counts.column("phecode").to_pylist()])
    keep = (rows >= 0) & (cols >= 0)
    days = sparse.csr_matrix((counts.column("count").to_numpy()[keep], (rows[keep], cols[keep])),
                             shape=(len(ids), len(phecodes)))
    code = {"M": SEX_MALE, "F": SEX_FEMALE}
    restriction = np.array([code.get(pmap.sex.get(p), 0) for p in phecodes], dtype=np.int8)
    where = [pmap.phecodes.index(p) for p in phecodes]
    exclusion = pmap.exclusion_matrix()[where][:, where]   # empty for phecode X
    status = phecode_status(days, np.ones(len(ids), bool), sex, restriction, exclusion, k=MIN_PHECODE_COUNT)
    names = [pmap.trait_prefix + p for p in phecodes]
    with ParquetMatrixWriter(root / "traits.parquet", names, [BINARY] * len(names)) as w:
        for a in range(0, len(ids), 10_000):
            w.write(ids[a:a + 10_000], status.values[a:a + 10_000])


def scan_config(root: Path, out: Path, traits="all", variant_ids=None, block_size: int = 5000) -> dict:
    cfg = {"job": "phewas", "genotypes": str(root / "store"), "phenotypes": str(root / "traits.parquet"),
           "covariates": [str(root / "covariates.tsv")], "binary_test": "wald", "min_cases": MIN_CASES,
           "traits": traits, "block_size": block_size, "out": str(out)}
    if variant_ids:
        cfg["variant_ids"] = variant_ids
    return cfg


def scan_in_process(config_json: str) -> None:
    """Child process: run_scan without Spark."""
    from gwas.scan.config import validate
    from gwas.scan.run import run_scan

    run_scan(validate(json.loads(config_json)))


# -- running and comparing -------------------------------------------------------------------------
def timed(args: list[str], env=None, memory: bool = False):
    """Wall seconds of a child process (and with ``memory`` its peak tree RSS in MiB)."""
    m = run_measured(args, env=env)
    return (m.wall, m.peak_mib) if memory else m.wall


def compare(root: Path, hub_out: Path, phetk_out: Path, prefix: str) -> tuple[list[str], dict]:
    """Problems (empty when hubscan and PheTK agree) and the summary numbers."""
    import pandas as pd

    from gwas.results.store import open_results

    theirs = pd.read_csv(phetk_out, sep="\t", dtype={"phecode": str}).set_index("phecode")
    ours = open_results(hub_out).read(columns=["beta", "p_value", "standard_error", "n_cases", "n_controls"])
    ours["phecode"] = ours["trait"].str.removeprefix(prefix)
    ours = ours.set_index("phecode")
    problems = []
    only_ours, only_theirs = sorted(set(ours.index) - set(theirs.index)), sorted(set(theirs.index) - set(ours.index))
    if only_ours or only_theirs:
        problems.append(f"tested phecodes differ: hubscan only {only_ours[:10]}, PheTK only {only_theirs[:10]}")
    both = ours.join(theirs[["cases", "controls", "beta", "p_value", "standard_error"]], rsuffix="_phetk",
                     how="inner")
    bad = both[(both.n_cases != both.cases) | (both.n_controls != both.controls)]
    if len(bad):
        problems.append(f"case/control counts differ for {len(bad)} phecodes, e.g. "
                        + bad[["n_cases", "cases", "n_controls", "controls"]].head(3).to_string())
    rel_beta = (both.beta - both.beta_phetk).abs() / both.beta_phetk.abs()
    rel_p = (both.p_value - both.p_value_phetk).abs() / both.p_value_phetk
    abs_beta_se = (both.beta - both.beta_phetk).abs() / both.standard_error
    worst = rel_beta.idxmax() if len(both) else None
    if len(both) and not rel_beta.max() <= BETA_RTOL:
        problems.append(f"max relative beta difference {rel_beta.max():.3g} > {BETA_RTOL:g} (phecode {worst}: "
                        f"hubscan {both.beta[worst]!r}, PheTK {both.beta_phetk[worst]!r})")
    if len(both) and not rel_p.max() <= P_RTOL:
        w = rel_p.idxmax()
        problems.append(f"max relative p-value difference {rel_p.max():.3g} > {P_RTOL:g} (phecode {w}: "
                        f"hubscan {both.p_value[w]!r}, PheTK {both.p_value_phetk[w]!r})")
    summary = {"tested": len(both), "max_rel_beta": float(rel_beta.max()) if len(both) else None,
               "median_rel_beta": float(rel_beta.median()) if len(both) else None,
               "max_abs_beta_over_se": float(abs_beta_se.max()) if len(both) else None,
               "max_rel_p": float(rel_p.max()) if len(both) else None,
               "max_rel_se_rounded": float(((both.standard_error - both.standard_error_phetk).abs()
                                            / both.standard_error_phetk).max()) if len(both) else None}
    return problems, summary


def run_comparison(args, root: Path, map_path: Path) -> int:
    n, p = (5000, 60) if args.small else (args.persons, args.phecodes)
    started = time.perf_counter()
    data = make_data(root, map_path, n, p, 1, args.seed)
    print(f"data: {n} persons, {len(data['phecodes'])} phecodes, {data['events']} count rows, 1 variant, "
          f"{len(COVARIATES)} covariates ({time.perf_counter() - started:.1f} s) -> {root}", flush=True)
    me = [sys.executable, __file__]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    rows = []
    timed(me + ["--warm-up"], env)  # Numba kernels compiled and cached before any timed run
    load_before = os.getloadavg()[0]
    derive = timed(me + ["--derive", str(root), str(map_path), json.dumps(data["phecodes"])], env)
    rows.append(("hubscan derive traits (counts -> traits.parquet)", derive))
    scan = timed(me + ["--scan", json.dumps(scan_config(root, root / "hub-inproc"))], env)
    rows.append(("hubscan phewas scan, in-process (no Spark)", scan))
    one = timed(me + ["--scan", json.dumps(scan_config(root, root / "hub-1thread"))], dict(env, NUMBA_NUM_THREADS="1"))
    rows.append(("  the same with NUMBA_NUM_THREADS=1", one))
    spark = None
    if not (args.no_spark or args.small):
        spark = timed([str(PROJECT / ".venv/bin/hubscan"), "phewas", "--genotype-store", str(root / "store"),
                       "--phenotypes", str(root / "traits.parquet"), "--covariate", str(root / "covariates.tsv"),
                       "--binary-test", "wald", "--min-cases", str(MIN_CASES), "--spark-master", "local[2]",
                       "--out", str(root / "hub-spark")], env)
        rows.append(("hubscan phewas scan, CLI on local[2] Spark", spark))
    phetk = timed([str(args.phetk_python), "-c", PHETK_RUN, str(root / "phecode_counts.csv"), str(root / "cohort.csv"),
                   str(map_path), str(root / "phetk"), ",".join(COVARIATES), args.phecode_version], env)
    rows.append(("PheTK 0.3.6 PheWAS (logit, n_workers=2)", phetk))
    load_after = os.getloadavg()[0]
    problems, summary = compare(root, root / "hub-inproc", root / "phetk.tsv", data["prefix"])
    for name, folder in (("1-thread run", "hub-1thread"), ("Spark run", "hub-spark" if spark is not None else None)):
        if folder:
            problems += [f"({name}) {x}" for x in compare(root, root / folder, root / "phetk.tsv", data["prefix"])[0]]

    print(f"\n{'step':<52}{'seconds':>9}")
    for name, s in rows:
        print(f"{name:<52}{s:>9.2f}")
    total = derive + scan
    print(f"\nphecodes tested by both: {summary['tested']}")
    print(f"PheTK / hubscan (derive + in-process scan = {total:.1f} s): {phetk / total:.1f}x")
    if spark is not None:
        print(f"PheTK / hubscan (derive + Spark scan = {derive + spark:.1f} s): {phetk / (derive + spark):.1f}x")
    print(f"PheTK seconds per phecode: {phetk / max(summary['tested'], 1):.3f}; hubscan in-process: "
          f"{total / max(summary['tested'], 1):.4f}")
    print(f"beta: max relative difference {summary['max_rel_beta']:.3g} (median {summary['median_rel_beta']:.3g}; "
          f"bar {BETA_RTOL:g}); max |diff| / SE {summary['max_abs_beta_over_se']:.3g}")
    print(f"p-value: max relative difference {summary['max_rel_p']:.3g} (bar {P_RTOL:g}); SE vs PheTK's 3-decimal "
          f"rounded SE: max relative {summary['max_rel_se_rounded']:.3g} (not checked)")
    print(f"load average (1 min) before / after: {load_before:.2f} / {load_after:.2f}; cores {os.cpu_count()}")
    if problems:
        print("\nFAIL: hubscan and PheTK disagree:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print("\nOK: same tested phecodes and case/control counts; betas and p-values within the bars")
    return 0


def run_large(args, root: Path, map_path: Path) -> int:
    n, p, m = args.persons, args.phecodes if args.phecodes != 400 else 1000, args.variants
    started = time.perf_counter()
    data = make_data(root, map_path, n, p, m, args.seed)
    print(f"data: {n} persons, {len(data['phecodes'])} phecodes, {m} variants, {data['events']} count rows "
          f"({time.perf_counter() - started:.1f} s) -> {root}", flush=True)
    me = [sys.executable, __file__]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    derive = timed(me + ["--derive", str(root), str(map_path), json.dumps(data["phecodes"])], env)
    timed(me + ["--warm-up"], env)  # Numba kernels compiled and cached before any timed run
    print(f"derive traits: {derive:.1f} s; binary test: {args.large_test}; at most {args.traits_per_run} traits "
          "per scan process", flush=True)
    names = [data["prefix"] + x for x in data["phecodes"]]
    v = min(args.scaling_variants, m)
    print(f"\n{'traits':>7}{'variants':>9}{'runs':>5}{'seconds':>9}{'s per pair':>12}{'peak MiB':>9}{'load':>7}",
          flush=True)
    steps = [(t, v) for t in (62, 125, 250, 500) if t < len(names)] + [(len(names), v)]
    if not args.no_full and m != v:
        steps.append((len(names), m))
    from gwas.results.store import metadata_path

    sweep = []
    for t, k in steps:
        load_before = os.getloadavg()[0]
        seconds, peak, tested, runs = 0.0, 0.0, 0, 0
        for a in range(0, t, args.traits_per_run):
            out = root / f"hub-{t}x{k}-{a}"
            cfg = dict(scan_config(root, out, names[a:min(t, a + args.traits_per_run)], [f"v{i}" for i in range(k)]),
                       binary_test=args.large_test)
            s, mib = timed(me + ["--scan", json.dumps(cfg)], env, memory=True)
            seconds, peak, runs = seconds + s, max(peak, mib), runs + 1
            tested += sum(1 for x in json.loads(metadata_path(out).read_text())["traits"]
                          if x.get("status") == "tested")
            shutil.rmtree(out, ignore_errors=True)
        print(f"{tested:>7}{k:>9}{runs:>5}{seconds:>9.1f}{seconds / (tested * k):>12.2e}{peak:>9.0f}"
              f"{load_before:>7.2f}", flush=True)
        if k == v:
            sweep.append((tested, seconds))
    if len(sweep) > 2:
        x, y = np.array(sweep, dtype=float).T
        slope, intercept = np.polyfit(x, y, 1)
        resid = y - (slope * x + intercept)
        print(f"\ntraits sweep ({v} variants): seconds = {intercept:.1f} + {slope:.4f} x traits "
              f"(max residual {np.abs(resid).max():.1f} s; {slope / v:.2e} s per pair at the margin)")
    print("traits = tested traits; runs = scan processes (traits split into runs of --traits-per-run); seconds ="
          " their summed wall time (inputs, kernels, results); peak MiB = largest peak RSS of one run;"
          " load = 1-min load average before the step")
    return 0


def find_phetk_map(python: Path, version: str) -> Path:
    out = subprocess.run([str(python), "-c", "import phetk, os; print(os.path.dirname(phetk.__file__))"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{python}: cannot import phetk (see ../shared/notes/runtime.md to install it), or give "
                         f"--phecode-map\n{out.stderr[-1000:]}")
    return Path(out.stdout.strip()) / "phecode" / ("phecodeX.csv" if version == "X" else "phecode12.csv")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=50_000)
    ap.add_argument("--phecodes", type=int, default=400, help="phecodes drawn from the map (default 400; --large 1000)")
    ap.add_argument("--variants", type=int, default=1000, help="--large: variants (default 1000)")
    ap.add_argument("--small", action="store_true", help="5,000 persons x 60 phecodes, no Spark run")
    ap.add_argument("--large", action="store_true", help="hubscan only: phecodes x variants x persons, in-process")
    ap.add_argument("--scaling-variants", type=int, default=200, help="--large: variants for the traits sweep")
    ap.add_argument("--large-test", default="score", choices=["score", "wald", "lrt", "firth", "firth-fallback"],
                    help="--large: binary test (default score: no per-pair fit; wald fits every pair)")
    ap.add_argument("--no-full", action="store_true", help="--large: only the traits sweep")
    ap.add_argument("--traits-per-run", type=int, default=1000,
                    help="--large: traits per scan process (default 1000: one process)")
    ap.add_argument("--no-spark", action="store_true", help="skip the `hubscan phewas` run on local Spark")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--phetk-python", type=Path, default=DEFAULT_PHETK_PYTHON)
    ap.add_argument("--phecode-version", choices=["X", "1.2"], default="X",
                    help="X (default) or 1.2 with exclusion ranges (PheTK use_exclusion=True)")
    ap.add_argument("--phecode-map", type=Path,
                    help="PheTK-layout phecode map (default PheTK's phecodeX.csv / phecode12.csv)")
    ap.add_argument("--keep", action="store_true", help="keep the data folder")
    ap.add_argument("--derive", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--scan", help=argparse.SUPPRESS)
    ap.add_argument("--warm-up", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.derive:
        derive_traits(Path(args.derive[0]), Path(args.derive[1]), json.loads(args.derive[2]))
        return 0
    if args.scan:
        scan_in_process(args.scan)
        return 0
    if args.warm_up:
        warm_up()
        return 0
    map_path = args.phecode_map or find_phetk_map(args.phetk_python, args.phecode_version)
    root = Path(tempfile.mkdtemp(prefix="hubscan-bench-phewas-"))
    try:
        return run_large(args, root, map_path) if args.large else run_comparison(args, root, map_path)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
