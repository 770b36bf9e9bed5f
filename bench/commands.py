"""Benchmark: whole commands, side by side in one run — `hubscan gwas` against `plink2 --glm` and
REGENIE step 2 without predictions (`--ignore-pred`), on the same PLINK files (bench/assoc.py's
data: N samples x M variants, 10 covariates, 50 quantitative traits with their own missingness, a
binary trait at 5 %).

Rows (each tool one process, timed from start to exit: imports, JVM or none, reading, writing):
  ready     getting genotypes ready: `hubscan ingest g.bed` / `plink2 --make-pgen` / none (REGENIE reads .bed)
  1q        1 quantitative trait
  50q       50 quantitative traits, each with its own missing samples
  bin       1 binary trait, 5 % cases: hubscan score test then Firth where p < 0.05 (firth-fallback);
            plink2 --glm firth-fallback; REGENIE --firth --approx --pThresh 0.05
  small     1 quantitative trait on the first --small-samples x --small-variants (default 500 x 1,000)
  inplace   1 quantitative trait, hubscan reading the .bed in place (`hubscan gwas --bfile g`, no ingest)
            against `plink2 --bfile g --glm` and REGENIE `--bed g`: the first scan of a fresh .bed
  bgen      the same on g.bgen (plink2 --export bgen-1.2 bits=8 of g, made untimed): `hubscan gwas --bgen`
            (each block converted on the fly) / `plink2 --bgen --glm` / REGENIE `--bgen`

Every tool gets --threads (default 2) and OPENBLAS_NUM_THREADS=1 (Debian's OpenBLAS busy-waits, see
bench/README.md). hubscan runs in-process (no Spark), with a Numba cache warmed once before the
timed runs (``--cold`` times a first run with an empty cache instead). Columns: wall seconds, CPU
seconds (user + system of the process tree: the fair number on a shared machine) and peak RSS
(bench/measure.py), and the best peer's wall and CPU time over hubscan's (above 1: hubscan faster).

    .venv/bin/python bench/commands.py                                   # 10,000 x 100,000 (the issue's size)
    .venv/bin/python bench/commands.py --samples 2000 --variants 20000   # reduced
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
from bench.measure import Measured, load, run_measured  # noqa: E402

#: REGENIE beside the project (../shared/tools/regenie), or --regenie PATH
REGENIE = PROJECT.parent / "shared" / "tools" / "regenie" / "regenie"
ROWS = ("ready", "1q", "50q", "bin", "small", "inplace", "bgen")


def make_files(root: Path, n: int, m: int) -> None:
    """bench/assoc.py's data in ``root`` (in a child process, so this one stays small), plus the
    REGENIE copies of the tables (its header is ``FID IID``, no '#') and hubscan's store."""
    if not (root / "g.bed").exists():
        subprocess.run([sys.executable, str(PROJECT / "bench" / "assoc.py"), "--samples", str(n), "--variants", str(m),
                        "--make-data", str(root)], check=True, stdout=subprocess.DEVNULL)
    for name in ("pheno", "covar"):
        text = (root / f"{name}.txt").read_text()
        (root / f"{name}.regenie.txt").write_text(text[1:] if text.startswith("#") else text)


def subset(root: Path, out: Path, n: int, m: int) -> None:
    """The first ``n`` samples and ``m`` variants of ``root``'s files, written by plink2."""
    out.mkdir(parents=True, exist_ok=True)
    fam = (root / "g.fam").read_text().splitlines()[:n]
    (out / "keep.txt").write_text("".join(" ".join(ln.split()[:2]) + "\n" for ln in fam))
    ids = [ln.split()[1] for ln in (root / "g.bim").read_text().splitlines()[:m]]
    (out / "ids.txt").write_text("\n".join(ids) + "\n")
    subprocess.run(["plink2", "--bfile", str(root / "g"), "--keep", str(out / "keep.txt"), "--extract",
                    str(out / "ids.txt"), "--make-bed", "--out", str(out / "g")], check=True, capture_output=True)
    for name in ("pheno", "covar", "pheno.regenie", "covar.regenie"):
        lines = (root / f"{name}.txt").read_text().splitlines()
        (out / f"{name}.txt").write_text("\n".join(lines[:n + 1]) + "\n")


def commands(row: str, root: Path, threads: int, regenie_path: Path = REGENIE) -> dict[str, list[str] | None]:
    """tool -> argv of the row (None: nothing to run)."""
    hub = [sys.executable, "-m", "hubscan.cli", "--log-level", "WARNING"]
    t = str(threads)
    if row == "ready":
        return {"hubscan": [*hub, "ingest", str(root / "g.bed"), "--out", str(root / "store"), "--threads", t],
                "plink2": ["plink2", "--bfile", str(root / "g"), "--make-pgen", "--threads", t, "--out", str(root / "pg")],
                "regenie": None}
    traits = {"1q": ["q0"], "small": ["q0"], "inplace": ["q0"], "bgen": ["q0"], "50q": [f"q{k}" for k in range(50)], "bin": ["b"]}[row]
    binary = row == "bin"
    genotypes = {"inplace": ["--bfile", str(root / "g")], "bgen": ["--bgen", str(root / "g.bgen"), "--id-delim", "_"]
                 }.get(row, ["--genotype-store", str(root / "store")])
    source = {"bgen": ["--bgen", str(root / "g.bgen"), "ref-first", "--sample", str(root / "g.sample")]
              }.get(row, ["--bfile", str(root / "g")])
    hubscan = [*hub, "gwas", *genotypes, "--phenoFile", str(root / "pheno.txt"),
               "--phenoColList", ",".join(traits), "--covarFile", str(root / "covar.txt"), "--threads", t,
               *(["--phenotype-coding", "12", "--min-cases", "1"] if binary else []),
               "--out", str(root / f"hubscan-{row}")]   # --out last (the warm-up replaces it)
    plink2 = ["plink2", *source, "--pheno", str(root / "pheno.txt"), "--pheno-name", ",".join(traits),
              "--covar", str(root / "covar.txt"), "--glm", "hide-covar", *(["firth-fallback"] if binary else []),
              "--threads", t, "--out", str(root / f"plink2-{row}")]
    regenie = [str(regenie_path), "--step", "2", *(["--bgen", str(root / "g.bgen"), "--sample", str(root / "g.sample")]
                                                   if row == "bgen" else ["--bed", str(root / "g")]), "--phenoFile", str(root / "pheno.regenie.txt"),
               "--phenoColList", ",".join(traits), "--covarFile", str(root / "covar.regenie.txt"), "--ignore-pred",
               "--bsize", "1000", "--threads", t, "--out", str(root / f"regenie-{row}")]
    regenie += ["--bt", "--cc12", "--firth", "--approx", "--pThresh", "0.05"] if binary else ["--qt"]
    return {"hubscan": hubscan, "plink2": plink2, "regenie": regenie if regenie_path.exists() else None}


def fresh(root: Path, row: str) -> None:
    """Remove the outputs of an earlier run of ``row`` (hubscan would resume a finished scan)."""
    for path in [root / f"hubscan-{row}", *([root / "store"] if row == "ready" else [])]:
        shutil.rmtree(path, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--small-samples", type=int, default=500)
    parser.add_argument("--small-variants", type=int, default=1000)
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma list of {', '.join(ROWS)}")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cold", action="store_true", help="hubscan with an empty Numba cache (a first run)")
    parser.add_argument("--data", metavar="DIR", help="keep the generated files in DIR and reuse them")
    parser.add_argument("--regenie", type=Path, default=REGENIE, help="REGENIE executable (default ../shared/tools/regenie/regenie)")
    args = parser.parse_args()
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    if shutil.which("plink2") is None:
        raise SystemExit("plink2 is not installed (apt-get install plink2)")
    root = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="hubscan-bench-commands-"))
    cache = Path(tempfile.mkdtemp(prefix="hubscan-numba-")) if args.cold else PROJECT / ".numba_cache"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", NUMBA_CACHE_DIR=str(cache), PYTHONPATH=str(PROJECT),
               SPARK_LOCAL_IP="127.0.0.1")
    try:
        root.mkdir(parents=True, exist_ok=True)
        print(f"data: {args.samples} samples x {args.variants} variants, 10 covariates -> {root}", flush=True)
        make_files(root, args.samples, args.variants)
        if "bgen" in rows and not (root / "g.bgen").exists():
            subprocess.run(["plink2", "--bfile", str(root / "g"), "--export", "bgen-1.2", "bits=8", "--threads",
                            str(args.threads), "--out", str(root / "g")], check=True, capture_output=True)
        small = root / "small"
        if "small" in rows and not (small / "g.bed").exists():
            subset(root, small, args.small_samples, args.small_variants)
        for where in ([root] if set(rows) - {"small", "inplace", "bgen"} else []) + ([small] if "small" in rows else []):
            if not (where / "store" / "_SUCCESS").exists():
                run_measured(commands("ready", where, args.threads)["hubscan"], env=env)
        if not args.cold:  # compile and cache every kernel the rows use, untimed
            for row in ("1q", "bin", "inplace", *(["bgen"] if "bgen" in rows else [])):
                where = small if "small" in rows else root
                if (row == "bgen" and not (where / "g.bgen").exists()) or (
                        row not in ("inplace", "bgen") and not (where / "store" / "_SUCCESS").exists()):
                    continue
                warm = commands(row, where, args.threads)["hubscan"]
                run_measured(warm[:-1] + [str(where / f"warm-{row}")], env=env)
        print(f"threads {args.threads}; Numba cache {'empty (first run)' if args.cold else 'warm'}; "
              f"load average {load():.1f} (2 cores: above 2 the machine is shared)\n")
        head = "".join(f"{tool + ' s':>11}{'CPU s':>8}{'MiB':>7}" for tool in ("hubscan", "plink2", "regenie"))
        print(f"{'row':<7}{head}{'best peer/hubscan':>19}{'(CPU)':>7}{'load':>6}")
        for row in rows:
            where = small if row == "small" else root
            fresh(where, "ready" if row == "ready" else row)
            if row == "ready":
                shutil.rmtree(where / "store", ignore_errors=True)
            results: dict[str, Measured | None] = {}
            for tool, argv in commands(row, where, args.threads, args.regenie).items():
                results[tool] = run_measured(argv, env=env) if argv else None
            cells = "".join(f"{m.wall:>11.2f}{m.cpu:>8.2f}{m.peak_mib:>7.0f}" if m else f"{'-':>11}{'-':>8}{'-':>7}"
                            for m in results.values())
            peers = [m for tool, m in results.items() if tool != "hubscan" and m]
            best_wall = min(m.wall for m in peers) / results["hubscan"].wall
            best_cpu = min(m.cpu for m in peers) / results["hubscan"].cpu
            print(f"{row:<7}{cells}{best_wall:>19.2f}{best_cpu:>7.2f}{load():>6.1f}", flush=True)
        print("\ns: wall seconds of the whole command; CPU s: user + system seconds of its process tree; MiB: "
              "peak RSS.\nbest peer/hubscan: the faster peer's time over hubscan's (above 1: hubscan is faster).")
        print(json.dumps({"samples": args.samples, "variants": args.variants, "threads": args.threads}))
    finally:
        if not args.data:
            shutil.rmtree(root, ignore_errors=True)
        if args.cold:
            shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
