"""Benchmark: whole-genome regression step 1, `hubscan wgr` against REGENIE v4.1.2 `--step 1`.

Data (generated here, seed 1): N samples x M variants of hard calls (ALT frequency U(0.05, 0.5),
0.5 % missing calls) on C chromosomes, written into a genotype store and, from it, as PLINK
.bed/.bim/.fam (gwas.qc.from_store.store_to_plink) so that both tools read the same genotypes;
10 covariates; quantitative traits with a polygenic part (h2 0.3 over 1,000 causal variants) and
5-30 % missing samples each, binary traits (about 20 % cases, no missing samples).

Cases: 1 quantitative trait, 20 quantitative traits, 5 binary traits. Each run is the whole
command in its own process (start-up, reading genotypes, writing the .loco files): wall time, CPU
time (user + system) and peak resident memory of the process tree (bench/measure.py). Both get 2
threads: hubscan's default (one per core; BLAS single-threaded inside its block tasks), REGENIE
`--threads 2` with OPENBLAS_NUM_THREADS=1 (Debian's OpenBLAS spins otherwise) and `--lowmem`.
Same blocks (--bsize 1000), folds (5; leave-one-out for binary traits under 5,000 samples, both)
and ridge grids. The predictions are compared too (lowest per-chromosome correlation).

    .venv/bin/python bench/wgr.py                              # 5,000 x 20,000, 10 chromosomes
    .venv/bin/python bench/wgr.py --samples 10000 --variants 100000   # the issue's size

`--spark` runs hubscan alone (no REGENIE, no .bed) with its level-0 blocks as Spark tasks on
`--spark-master local[2]`, for the scaling row (issue 18: step 1 at 50,000 samples on local Spark):
besides the whole command it prints, from the blocks' completion markers, the level-0 wall and CPU
seconds per block, the Python workers' peak memory, the largest spilled block, and the CPU time per
sample x variant (x trait), the figure that extrapolates to a hub's cohort on a cluster.

    .venv/bin/python bench/wgr.py --spark --samples 50000 --variants 20000 --cases qt1,qt20,bt5

``--step2``: step 2 with predictions instead, `hubscan gwas --pred` against REGENIE `--step 2
--pred` given the same step-1 predictions (hubscan's `wgr` files, which REGENIE reads; made
untimed when the folder has none), every variant tested: 1 and 20 quantitative traits, 5 binary
traits with the approximate Firth correction (`--binary-test firth-approx`; REGENIE `--firth
--approx`) and with SPA (`spa`; REGENIE `--spa`), both where the score test's p < 0.05. REGENIE
`--bsize 400 --threads 2` (OPENBLAS_NUM_THREADS=1), hubscan its defaults (2 threads). The results
are compared too (largest difference in -log10 p over the variants both report).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
from bench.measure import load, run_measured  # noqa: E402

REGENIE = Path(os.environ.get("REGENIE", PROJECT.parent / "shared" / "tools" / "regenie" / "regenie"))
N_COVARIATES = 10
WRITE_BLOCK = 5_000
BSIZE = 1000


def make_store(path: Path, n: int, m: int, chromosomes: int, seed: int = 1) -> np.ndarray:
    """A complete genotype store of random hard calls on ``chromosomes`` contigs; returns the
    polygenic score (n,) of 1,000 causal variants (standardised)."""
    from gwas.store.variables import encode_dosage
    from gwas.store.writer import create_store, write_block
    from hubscan.parts import PartTracker

    rng = np.random.default_rng(seed)
    ids = [f"S{i:06d}" for i in range(n)]
    contig_of = (np.arange(m) * chromosomes) // m
    create_store(path, ids, [str(c + 1) for c in range(chromosomes)], [250_000_000] * chromosomes, m,
                 with_genotypes=False)
    causal = set(rng.choice(m, size=min(1000, m), replace=False).tolist())
    score = np.zeros(n)
    for start in range(0, m, WRITE_BLOCK):
        k = min(WRITE_BLOCK, m - start)
        freq = rng.uniform(0.05, 0.5, k)
        dos = np.empty((k, n), np.float32)
        step = max(1, 25_000_000 // n)        # draws in slices: temporaries of ~200 MB at any n
        for a in range(0, k, step):
            dos[a:a + step] = rng.binomial(2, freq[a:a + step, None], size=(min(step, k - a), n))
        for j in range(k):
            if start + j in causal:
                score += rng.normal() * (dos[j] - 2 * freq[j]) / np.sqrt(2 * freq[j] * (1 - freq[j]))
        for a in range(0, k, step):
            dos[a:a + step][rng.random((min(step, k - a), n)) < 0.005] = np.nan
        called = ~np.isnan(dos)
        af = np.nansum(dos, axis=1) / (2 * called.sum(axis=1))
        contig = contig_of[start:start + k]
        write_block(path, start, {
            "variant_contig": contig.astype(np.int16),
            "variant_position": (np.arange(start, start + k) + 1).astype(np.int32) * 100,
            "variant_allele": np.array([["A", "G"]] * k, dtype=object),
            "variant_id": np.array([f"v{i}" for i in range(start, start + k)], dtype=object),
            "variant_id_mask": np.zeros(k, bool), "variant_source": np.zeros(k, np.int32),
            "variant_split": np.ones(k, np.int16), "variant_alt_frequency": af.astype(np.float64),
            "variant_call_rate": called.mean(axis=1), "variant_info": np.ones(k),
            "call_dosage_scaled": encode_dosage(dos)})
    PartTracker(path, "bench-store", {"n": n, "m": m, "seed": seed}).finalise({"variants": m, "samples": n})
    return (score - score.mean()) / score.std()


def write_table(path: Path, ids, names, values) -> Path:
    """REGENIE layout: FID IID ..., NA missing."""
    with open(path, "w") as fh:
        fh.write("FID IID " + " ".join(names) + "\n")
        for i, row in zip(ids, values):
            fh.write(f"{i} {i} " + " ".join("NA" if not np.isfinite(v) else f"{v:.6g}" for v in row) + "\n")
    return path


def make_inputs(root: Path, n: int, score: np.ndarray, seed: int = 2) -> dict:
    rng = np.random.default_rng(seed)
    ids = [f"S{i:06d}" for i in range(n)]
    cov = rng.normal(size=(n, N_COVARIATES))
    qt = np.sqrt(0.3) * score[:, None] + np.sqrt(0.7) * rng.normal(size=(n, 20)) + cov[:, :2] @ rng.normal(size=(2, 20))
    for t in range(20):
        qt[rng.random(n) < rng.uniform(0.05, 0.3), t] = np.nan
    liability = np.sqrt(0.3) * score[:, None] + np.sqrt(0.7) * rng.normal(size=(n, 5))
    bt = (liability > np.quantile(liability, 0.8, axis=0)).astype(float)
    return {"qt": write_table(root / "qt.txt", ids, [f"q{t + 1}" for t in range(20)], qt),
            "bt": write_table(root / "bt.txt", ids, [f"b{t + 1}" for t in range(5)], bt),
            "cov": write_table(root / "cov.txt", ids, [f"c{j + 1}" for j in range(N_COVARIATES)], cov)}


def hubscan_cmd(store: Path, pheno: Path, cov: Path, traits: list[str], out: Path, binary: bool) -> list[str]:
    cmd = [sys.executable, "-m", "hubscan.cli", "wgr", "--genotype-store", str(store), "--phenotypes", str(pheno),
           "--covariate", str(cov), "--bsize", str(BSIZE), "--min-cases", "10", "--out", str(out)]
    for t in traits:
        cmd += ["--trait", t]
    return cmd + (["--bt"] if binary else [])


def regenie_cmd(bed: Path, pheno: Path, cov: Path, traits: list[str], out: Path, binary: bool) -> list[str]:
    cmd = [str(REGENIE), "--step", "1", "--bed", str(bed.with_suffix("")), "--phenoFile", str(pheno),
           "--phenoColList", ",".join(traits), "--covarFile", str(cov), "--bsize", str(BSIZE), "--lowmem",
           "--lowmem-prefix", str(out) + "_tmp", "--threads", "2", "--out", str(out)]
    return cmd + (["--bt"] if binary else [])


#: step 1 cases: name -> (phenotype file, traits, binary)
STEP1_CASES = {"qt1": ("qt", ["q1"], False), "qt20": ("qt", [f"q{t + 1}" for t in range(20)], False),
               "bt5": ("bt", [f"b{t + 1}" for t in range(5)], True)}


def hubscan_env(**extra) -> dict:
    """The environment of hubscan's commands: this checkout first on PYTHONPATH, a shared Numba cache."""
    return {**os.environ, "PYTHONPATH": str(PROJECT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", str(PROJECT / ".numba_cache")), **extra}


def warm_up(store: Path, files: dict, root: Path, env: dict) -> None:
    """Compile hubscan's step-1 kernels once, untimed, on two chromosomes (an installed hubscan
    compiles on first use; Spark workers reuse NUMBA_CACHE_DIR)."""
    run_measured(hubscan_cmd(store, files["qt"], files["cov"], ["q1"], root / "warm", False)
                 + ["--region", "1", "--region", "2", "--bsize", "100", "--out", str(root / "warm")], env=env)


STEP2_CASES = {"qt1": ("qt", ["q1"], None), "qt20": ("qt", [f"q{t + 1}" for t in range(20)], None),
               "bt5": ("bt", [f"b{t + 1}" for t in range(5)], "firth-approx"),
               "bt5spa": ("bt", [f"b{t + 1}" for t in range(5)], "spa")}


def hubscan_step2_cmd(store: Path, pheno: Path, cov: Path, traits: list[str], pred: Path, out: Path,
                      binary_test: str | None) -> list[str]:
    cmd = [sys.executable, "-m", "hubscan.cli", "gwas", "--genotype-store", str(store), "--phenotypes", str(pheno),
           "--covariate", str(cov), "--pred", str(pred), "--min-cases", "10", "--out", str(out)]
    for t in traits:
        cmd += ["--trait", t]
    return cmd + (["--bt", "--binary-test", binary_test] if binary_test else [])


def regenie_step2_cmd(bed: Path, pheno: Path, cov: Path, traits: list[str], pred: Path, out: Path,
                      binary_test: str | None) -> list[str]:
    cmd = [str(REGENIE), "--step", "2", "--bed", str(bed.with_suffix("")), "--phenoFile", str(pheno),
           "--phenoColList", ",".join(traits), "--covarFile", str(cov), "--pred", str(pred), "--bsize", "400",
           "--threads", "2", "--out", str(out)]
    if binary_test:
        cmd += ["--bt"] + (["--firth", "--approx"] if binary_test == "firth-approx" else ["--spa"])
    return cmd


def step2_agreement(hub_out: Path, reg_prefix: Path, traits: list[str]) -> float:
    """Largest |difference| in -log10 p between the tools over the variants both report."""
    import pandas as pd

    from gwas.results.store import open_results

    res = open_results(hub_out)
    worst = 0.0
    for t in traits:
        reg = pd.read_csv(f"{reg_prefix}_{t}.regenie", sep=" ")
        hub = res.read(traits=[t], columns=["variant_id", "neg_log10_p"])
        merged = reg.merge(hub, left_on="ID", right_on="variant_id").dropna(subset=["LOG10P", "neg_log10_p"])
        worst = max(worst, float((merged["LOG10P"] - merged["neg_log10_p"]).abs().max()))
    return worst


def run_step2(root: Path, store: Path, bed: Path, files: dict, cases: list[str], env_hub: dict, env_reg: dict) -> None:
    for name in cases:
        kind, traits, test = STEP2_CASES[name]
        step1 = root / f"hub-{'bt5' if kind == 'bt' else name}"
        pred = step1 / "wgr_pred.list"
        if not pred.is_file():           # hubscan's step 1, untimed
            shutil.rmtree(step1, ignore_errors=True)
            run_measured(hubscan_cmd(store, files[kind], files["cov"], traits, step1, kind == "bt"), env=env_hub)
        out = root / f"hub2-{name}"
        for folder in (out, root / "warm2"):
            shutil.rmtree(folder, ignore_errors=True)
        # compile the case's kernels once, untimed (an installed hubscan compiles on first use)
        run_measured(hubscan_step2_cmd(store, files[kind], files["cov"], traits, pred, root / "warm2", test)
                     + ["--region", "1"], env=env_hub)
        hub = run_measured(hubscan_step2_cmd(store, files[kind], files["cov"], traits, pred, out, test), env=env_hub)
        (root / f"reg2-{name}").mkdir(exist_ok=True)
        reg = run_measured(regenie_step2_cmd(bed, files[kind], files["cov"], traits, pred, root / f"reg2-{name}" / "s2",
                                             test), env=env_reg, cwd=root)
        try:
            d = f"{step2_agreement(out, root / f'reg2-{name}' / 's2', traits):.2g}"
        except (KeyError, OSError, ValueError) as exc:   # a layout change: report, keep timing
            d = f"not compared ({exc!r})"
        print(f"{name:<6} {'hubscan':<8} {hub.wall:>8.1f} {hub.cpu:>8.1f} {hub.peak_mib:>9.0f}  "
              f"{reg.wall / hub.wall:.1f}x, {reg.cpu / hub.cpu:.1f}x")
        print(f"{'':<6} {'REGENIE':<8} {reg.wall:>8.1f} {reg.cpu:>8.1f} {reg.peak_mib:>9.0f}   "
              f"(largest -log10 p difference {d})", flush=True)


def agreement(hub_list: Path, reg_list: Path, traits: list[str], sample_ids: list[str]) -> float:
    """Lowest correlation over traits x chromosomes of the two tools' LOCO predictions."""
    from gwas.wgr.predictions import read_prediction_list

    none = {t: np.zeros(len(sample_ids), bool) for t in traits}
    a = read_prediction_list(hub_list, traits, sample_ids, required=none)
    b = read_prediction_list(reg_list, traits, sample_ids, required=none)
    worst = 1.0
    for t in traits:
        for row_a, row_b in zip(a[t].values, b[t].values):
            ok = np.isfinite(row_a) & np.isfinite(row_b)
            if ok.sum() > 2 and np.std(row_b[ok]) > 0:
                worst = min(worst, float(np.corrcoef(row_a[ok], row_b[ok])[0, 1]))
    return worst


def prepare(root: Path, n: int, m: int, chromosomes: int, bed: bool = True) -> None:
    """The store, its .bed (``bed``) and the phenotype and covariate files in ``root`` (kept when
    present)."""
    from gwas.qc.from_store import store_to_plink

    root.mkdir(parents=True, exist_ok=True)
    store = root / "store"
    if not (store / "_SUCCESS").is_file():
        np.save(root / "score.npy", make_store(store, n, m, chromosomes))
    make_inputs(root, n, np.load(root / "score.npy"))
    if bed and not (root / "geno.bed").is_file():
        store_to_plink(store, root / "geno")


def block_times(out: Path) -> dict:
    """Level-0 figures from the blocks' completion markers (gwas.wgr.run._block_task): per-block
    wall and CPU seconds (median, max, sum) and the Python workers' largest peak memory."""
    import json

    infos = [json.loads(f.read_text()) for f in sorted((out / "_parts").glob("block-*.done"))]
    wall = np.array([i["seconds"] for i in infos])
    # a Spark worker runs one task at a time: its process CPU is the task's (reading, Numba threads)
    cpu = np.array([i.get("process_cpu_seconds", i["cpu_seconds"]) for i in infos])
    spill = max(int(np.prod(i["shape"])) * 8 for i in infos) / 2**20
    return {"blocks": len(infos), "wall_median": float(np.median(wall)), "wall_max": float(wall.max()),
            "cpu_median": float(np.median(cpu)), "cpu_sum": float(cpu.sum()),
            "worker_peak_mib": max(i["process_peak_mib"] for i in infos), "spill_mib": spill}


def prepare_data(args, root: Path, bed: bool) -> None:
    print(f"data: {args.samples} samples x {args.variants} variants on {args.chromosomes} chromosomes ...",
          flush=True)
    subprocess.run([sys.executable, __file__, "--prepare-only", "--workdir", str(root), "--samples",
                    str(args.samples), "--variants", str(args.variants), "--chromosomes", str(args.chromosomes),
                    *([] if bed else ["--no-bed"])], check=True, env={**os.environ, "PYTHONPATH": str(PROJECT)})


def spark_scaling(args) -> None:
    """hubscan step 1 alone with its level-0 blocks as Spark tasks: whole command and per block;
    per sample x variant over the analysed samples (a single quantitative trait leaves out its
    missing samples)."""
    import json

    with tempfile.TemporaryDirectory(prefix="bench-wgr-spark-") as tmp:
        root = args.workdir or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        store = root / "store"
        prepare_data(args, root, bed=False)
        files = {k: root / f"{k}.txt" for k in ("qt", "bt", "cov")}
        env = hubscan_env(SPARK_LOCAL_IP=os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"))
        for old in [*root.glob("spark-*"), root / "warm"]:
            shutil.rmtree(old, ignore_errors=True)
        warm_up(store, files, root, env)
        m = args.variants
        print(f"\n{args.samples:,} samples x {m:,} variants, {args.chromosomes} chromosomes, {N_COVARIATES} covariates, "
              f"--bsize {BSIZE}, --spark-master {args.spark_master}; load {load():.1f} at start")
        print(f"{'case':<6} {'wall s':>7} {'CPU s':>7} {'peak MiB':>8} | {'blocks':>6} {'blk wall med/max s':>18} "
              f"{'blk CPU med s':>13} {'L0 CPU s':>8} {'worker MiB':>10} {'spill MiB':>9} | ns CPU/(sample x variant)")
        for name in args.cases.split(","):
            kind, traits, binary = STEP1_CASES[name]
            out = root / f"spark-{name}"
            cmd = hubscan_cmd(store, files[kind], files["cov"], traits, out, binary)
            hub = run_measured(cmd + ["--spark-master", args.spark_master], env=env)
            b = block_times(out)
            n = json.loads((out / "wgr.json").read_text())["n_samples"]     # analysed samples
            per = hub.cpu / (n * m) * 1e9
            per0 = b["cpu_sum"] / (n * m) * 1e9
            print(f"{name:<6} {hub.wall:>7.1f} {hub.cpu:>7.1f} {hub.peak_mib:>8.0f} | {b['blocks']:>6} "
                  f"{b['wall_median']:>8.2f} / {b['wall_max']:>7.2f} {b['cpu_median']:>13.2f} {b['cpu_sum']:>8.1f} "
                  f"{b['worker_peak_mib']:>10.0f} {b['spill_mib']:>9.1f} | whole {per:.2f}, level 0 {per0:.2f} "
                  f"({per0 / len(traits):.3f} per trait)", flush=True)
        print(f"load {load():.1f} at end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--variants", type=int, default=20_000)
    parser.add_argument("--chromosomes", type=int, default=10)
    parser.add_argument("--cases", default="qt1,qt20,bt5", help="comma-separated subset of qt1,qt20,bt5")
    parser.add_argument("--step2", action="store_true",
                        help="step 2 with predictions (cases qt1,qt20,bt5,bt5spa; module docstring)")
    parser.add_argument("--workdir", type=Path, help="keep the data and outputs here (default: a temporary folder)")
    parser.add_argument("--spark", action="store_true",
                        help="hubscan alone, level-0 blocks as Spark tasks on --spark-master (no REGENIE)")
    parser.add_argument("--spark-master", default="local[2]", help="with --spark (default local[2])")
    parser.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-bed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare_only:         # child process: the data (keeps the measuring parent small)
        prepare(args.workdir, args.samples, args.variants, args.chromosomes, bed=not args.no_bed)
        return
    if args.spark:
        return spark_scaling(args)
    if not REGENIE.is_file():
        raise SystemExit(f"REGENIE not found at {REGENIE} (set $REGENIE)")

    with tempfile.TemporaryDirectory(prefix="bench-wgr-") as tmp:
        root = args.workdir or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        store = root / "store"
        prepare_data(args, root, bed=True)
        files = {k: root / f"{k}.txt" for k in ("qt", "bt", "cov")}
        bed = root / "geno.bed"
        ids = [ln.split()[1] for ln in (root / "geno.fam").read_text().splitlines()]
        env_hub = hubscan_env()
        env_reg = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
        if args.step2:
            cases = ["qt1", "qt20", "bt5", "bt5spa"] if args.cases == "qt1,qt20,bt5" else args.cases.split(",")
            print(f"\nstep 2 with hubscan's step-1 predictions (read by both), {args.samples:,} samples x "
                  f"{args.variants:,} variants, {N_COVARIATES} covariates, 2 threads; load {load():.1f} at start")
            print(f"{'case':<6} {'tool':<8} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9}  speed-up (wall, CPU)")
            run_step2(root, store, bed, files, cases, env_hub, env_reg)
            print(f"load {load():.1f} at end")
            return
        for old in root.glob("hub-*"):
            shutil.rmtree(old)
        for old in [*root.glob("reg-*"), root / "warm"]:
            shutil.rmtree(old, ignore_errors=True)
        warm_up(store, files, root, env_hub)
        print(f"\n{args.samples:,} samples x {args.variants:,} variants, {args.chromosomes} chromosomes, "
              f"{N_COVARIATES} covariates, --bsize {BSIZE}, 2 threads; load {load():.1f} at start")
        print(f"{'case':<6} {'tool':<8} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9}  speed-up (wall, CPU)")
        for name in args.cases.split(","):
            kind, traits, binary = STEP1_CASES[name]
            hub = run_measured(hubscan_cmd(store, files[kind], files["cov"], traits, root / f"hub-{name}", binary),
                               env=env_hub)
            (root / f"reg-{name}").mkdir(exist_ok=True)
            reg = run_measured(regenie_cmd(bed, files[kind], files["cov"], traits, root / f"reg-{name}" / "fit",
                                           binary), env=env_reg, cwd=root)
            r = agreement(root / f"hub-{name}" / "wgr_pred.list", root / f"reg-{name}" / "fit_pred.list", traits, ids)
            print(f"{name:<6} {'hubscan':<8} {hub.wall:>8.1f} {hub.cpu:>8.1f} {hub.peak_mib:>9.0f}  "
                  f"{reg.wall / hub.wall:.1f}x, {reg.cpu / hub.cpu:.1f}x")
            print(f"{'':<6} {'REGENIE':<8} {reg.wall:>8.1f} {reg.cpu:>8.1f} {reg.peak_mib:>9.0f}   "
                  f"(lowest LOCO correlation {r:.6f})", flush=True)
        print(f"load {load():.1f} at end")


if __name__ == "__main__":
    main()
