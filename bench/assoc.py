"""Benchmark: hubscan's association kernels against plink2 --glm (and Hail) on the same data.

Cases (N samples x M variants, 10 covariates, hard calls in a PLINK .bed):
  a  1 quantitative trait                       (linear)
  b  50 quantitative traits, each with its own missing samples (linear)
  c  1 binary trait at 5 % prevalence, Firth fallback (plink2: firth-fallback; hubscan: the score
     test, REGENIE's first pass, then Firth with the penalized LRT where p < 0.05 or the test failed)
  d  Firth for every variant

Each tool runs as its own process reading the same files; the table gives whole-process wall time,
CPU time, peak RSS, the ratio peer / hubscan, and hubscan's time as a multiple of the machine's floor
2·N·M·(traits + covariates) flops at the measured matrix-multiply rate. plink2 gets 2 threads and
OPENBLAS_NUM_THREADS=1 (see bench/README.md). Hail runs only with --hail (slow); --hail-variants N
runs it twice, on the first N/2 and N variants, and extrapolates to all of them: its time for N
plus its per-variant rate between the two runs times the remaining variants (start-up and fixed
costs counted once).

How hubscan gets its genotypes (fair to plink2, which decodes the .bed itself): the hubscan process
reads g.bed in blocks of BLOCK variants inside the timed process. Linear cases pass each block's
packed records to ``model.test_bed`` (one fused pass over the 2-bit codes, no float64 copy); the
binary cases decode each block to float64 dosages with hubscan's .bed decoder (a Numba kernel,
parallel over variants) into one reused buffer and call ``model.test(block)``. The trait side
(masks, covariate bases, null fits) is prepared once (linear_model / logistic_model), as a scan does.

    .venv/bin/python bench/assoc.py --samples 10000 --variants 100000     # the issue's size
    .venv/bin/python bench/assoc.py --small                                # 2,000 x 5,000, a minute

``--data DIR`` keeps the generated files in DIR and reuses them on the next run with the same
sizes (generating 10,000 x 100,000 takes about a minute; the matrix-multiply rate is the one
measured then).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
from bench.measure import load, matmul_rate, run_measured, warm_up  # noqa: E402

N_COVARIATES = 10
BLOCK = 2000


def make_data(root: Path, n: int, m: int, seed: int = 1) -> None:
    """Genotypes (.bed), 50 quantitative traits with different missingness, a 5 % binary trait."""
    from gwas.qc.from_store import BED_MAGIC, pack_bed

    rng = np.random.default_rng(seed)
    ids = [f"S{i}" for i in range(n)]
    (root / "g.fam").write_text("".join(f"{s} {s} 0 0 0 -9\n" for s in ids))
    with open(root / "g.bim", "w") as bim, open(root / "g.bed", "wb") as bed:
        bed.write(BED_MAGIC)
        for start in range(0, m, BLOCK):
            k = min(BLOCK, m - start)
            freq = rng.uniform(0.01, 0.5, k)
            g = rng.binomial(2, freq[:, None], (k, n)).astype(np.int8)
            bed.write(pack_bed(g))
            bim.writelines(f"1\tv{start + i}\t0\t{1 + 10 * (start + i)}\tA\tG\n" for i in range(k))
    cov = rng.standard_normal((n, N_COVARIATES))
    quant = rng.standard_normal((n, 50)) + cov[:, :3] @ rng.standard_normal((3, 50))
    for t in range(1, 50):
        quant[rng.random(n) < 0.02 * (t % 10), t] = np.nan
    liability = cov[:, 0] * 0.5 + rng.standard_normal(n)
    binary = (liability > np.quantile(liability, 0.95)).astype(int) + 1
    header = "#FID\tIID\t" + "\t".join(f"q{t}" for t in range(50)) + "\tb\n"
    with open(root / "pheno.txt", "w") as fh:
        fh.write(header)
        for i, s in enumerate(ids):
            vals = ["NA" if np.isnan(x) else repr(float(x)) for x in quant[i]]
            fh.write(f"{s}\t{s}\t" + "\t".join(vals) + f"\t{binary[i]}\n")
    with open(root / "covar.txt", "w") as fh:
        fh.write("#FID\tIID\t" + "\t".join(f"c{j}" for j in range(N_COVARIATES)) + "\n")
        for i, s in enumerate(ids):
            fh.write(f"{s}\t{s}\t" + "\t".join(repr(float(x)) for x in cov[i]) + "\n")


def read_bed_blocks(root: Path, n: int, m: int, decode: bool = True):
    """Yield (start, block) from g.bed, read in this process (so hubscan's time includes reading the
    genotypes, as plink2's does): the packed uint8 records (variants, ceil(n / 4)), or with
    ``decode`` float64 ALT counts, NaN missing, from hubscan's .bed dosage decoder
    (:func:`gwas.io.plink.bed.decode_dosage_kernel`, parallel over variants)."""
    from gwas.io.plink.bed import decode_dosage_kernel

    per = -(-n // 4)
    block = np.empty((BLOCK, n)) if decode else None
    records = np.empty((BLOCK, per), np.uint8)  # one reused buffer, read into
    with open(root / "g.bed", "rb") as fh:
        fh.read(3)
        for start in range(0, m, BLOCK):
            k = min(BLOCK, m - start)
            raw = records[:k]
            fh.readinto(memoryview(raw).cast("B"))
            if decode:
                decode_dosage_kernel(raw, n, block[:k])
            yield start, block[:k] if decode else raw


def read_table(path: Path, columns=None) -> np.ndarray:
    """The value columns (after FID, IID; only ``columns``, counted from 0, when given) of a
    tab-separated table with a header, as float64 ("NA" = NaN), parsed by str.split (up to the
    last column wanted) and float() (exact, and lighter to import than pandas)."""
    with open(path) as fh:
        fh.readline()
        lines = fh.read().replace("\tNA", "\tnan").splitlines()
    columns = range(lines[0].count("\t") - 1) if columns is None else columns
    cut = 3 + max(columns)
    values = [float(row[2 + c]) for row in (line.split("\t", cut) for line in lines) for c in columns]
    return np.array(values).reshape(len(lines), len(columns))


def run_hubscan(case: str, root: Path, n: int, m: int) -> None:
    """Child process: run one case and print its wall time."""
    started = time.perf_counter()
    pheno = read_table(root / "pheno.txt", [0] if case == "a" else [50] if case in "cd" else range(50))
    cov = read_table(root / "covar.txt")
    # The trait side (masks, covariate bases, null fits) once, then one call per block of variants.
    if case in "ab":
        from gwas.assoc.linear import linear_model

        model = linear_model(pheno, cov)
    else:
        from gwas.assoc.glm import logistic_model

        binary = pheno[:, 0] - 1.0
        model = (logistic_model(binary, cov, test="firth-fallback", fallback_p=0.05) if case == "c"
                 else logistic_model(binary, cov, test="firth", firth_p="wald"))
    for _, block in read_bed_blocks(root, n, m, decode=case not in "ab"):
        model.test_bed(block) if case in "ab" else model.test(block)
    print(json.dumps({"seconds": time.perf_counter() - started}))


def run_hail(case: str, root: Path, limit: int | None) -> None:
    """Child process: the same case with Hail (import_plink, then *_regression_rows, written out),
    on the first ``limit`` variants when given."""
    from hubscan.runtime.hail import init_hail

    started = time.perf_counter()
    hl = init_hail(root / "hail-run")
    mt = hl.import_plink(str(root / "g.bed"), str(root / "g.bim"), str(root / "g.fam"), reference_genome=None)
    if limit:
        mt = mt.head(limit)
    pheno = hl.import_table(str(root / "pheno.txt"), key="IID", impute=True, missing="NA")
    cov = hl.import_table(str(root / "covar.txt"), key="IID", impute=True)
    mt = mt.annotate_cols(p=pheno[mt.s], c=cov[mt.s])
    covariates = [1.0] + [mt.c[f"c{j}"] for j in range(N_COVARIATES)]
    x = mt.GT.n_alt_alleles()
    if case in ("a", "b"):
        traits = [mt.p["q0"]] if case == "a" else [[mt.p[f"q{t}"]] for t in range(50)]
        ht = hl.linear_regression_rows(y=traits, x=x, covariates=covariates)
    else:
        y = mt.p["b"] == 2
        ht = hl.logistic_regression_rows(test="wald" if case == "c" else "firth", y=y, x=x, covariates=covariates)
    ht.write(str(root / f"hail-{case}.ht"), overwrite=True)
    print(json.dumps({"seconds": time.perf_counter() - started}))


def plink2_args(case: str, root: Path, out: Path) -> list[str]:
    base = ["plink2", "--bfile", str(root / "g"), "--pheno", str(root / "pheno.txt"), "--covar", str(root / "covar.txt"),
            "--threads", "2", "--out", str(out)]
    mode = {"a": ["--pheno-name", "q0", "--glm", "hide-covar"],
            "b": ["--pheno-name", ",".join(f"q{t}" for t in range(50)), "--glm", "hide-covar"],
            "c": ["--pheno-name", "b", "--glm", "hide-covar", "firth-fallback"],
            "d": ["--pheno-name", "b", "--glm", "hide-covar", "firth"]}[case]
    return base + mode


def timed(args: list[str], env=None) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system) and peak memory (MiB) of that child process
    (bench/measure.py), and its stdout. CPU seconds are what to compare when the machine is shared."""
    m = run_measured(args, env=env)
    return m.wall, m.cpu, m.peak_mib, m.stdout


def hail_seconds(case: str, root: Path, m: int, limit: int) -> float:
    """Hail's whole-process seconds for all ``m`` variants: measured when ``limit`` >= m, else from
    runs on the first limit/2 and limit variants (start-up and fixed costs once, then the
    per-variant rate between the two runs)."""
    def run(k: int) -> float:
        return timed([sys.executable, __file__, "--run-hail", case, str(root), str(k)])[0]

    if limit >= m:
        return run(m)
    half, full = run(limit // 2), run(limit)
    return full + max(full - half, 0.0) / (limit - limit // 2) * (m - limit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--small", action="store_true", help="2,000 samples x 5,000 variants")
    parser.add_argument("--cases", default="abcd")
    parser.add_argument("--hail", action="store_true", help="also time Hail (slow)")
    parser.add_argument("--no-plink2", action="store_true", help="skip plink2 (e.g. to rerun only the Hail column)")
    parser.add_argument("--hail-variants", type=int, default=0,
                        help="run Hail on the first N/2 and N variants and extrapolate to all variants (time for N + "
                             "per-variant rate between the runs x the remaining variants)")
    parser.add_argument("--run-hubscan", nargs=2, metavar=("CASE", "DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--make-data", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--run-hail", nargs=3, metavar=("CASE", "DIR", "LIMIT"), help=argparse.SUPPRESS)
    parser.add_argument("--warm-up", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", metavar="DIR", help="keep the generated data in DIR and reuse it when it is there "
                                                      "(same sizes)")
    args = parser.parse_args()
    if args.warm_up:
        warm_up()
        return
    n, m = (2000, 5000) if args.small else (args.samples, args.variants)
    if args.make_data:
        make_data(Path(args.make_data), n, m)
        print(json.dumps({"rate": matmul_rate()}))
        return
    if args.run_hubscan:
        run_hubscan(args.run_hubscan[0], Path(args.run_hubscan[1]), n, m)
        return
    if args.run_hail:
        run_hail(args.run_hail[0], Path(args.run_hail[1]), int(args.run_hail[2]) or None)
        return
    if shutil.which("plink2") is None and not args.no_plink2:
        raise SystemExit("plink2 is not installed (apt-get install plink2)")
    root = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="hubscan-bench-assoc-"))
    made_file = root / "made.json"  # the sizes, and the matrix-multiply rate measured when made
    try:
        print(f"data: {n} samples x {m} variants, {N_COVARIATES} covariates -> {root}", flush=True)
        if args.data and made_file.exists() and json.loads(made_file.read_text())["sizes"] == [n, m]:
            rate = json.loads(made_file.read_text())["rate"]
        else:
            root.mkdir(parents=True, exist_ok=True)
            # In a child: a process's peak RSS carries over to the children it starts (Linux keeps the
            # high-water mark across exec), so this process stays small.
            _, _, _, made = timed([sys.executable, __file__, "--samples", str(n), "--variants", str(m),
                                   "--make-data", str(root)])
            rate = json.loads(made)["rate"]
            made_file.write_text(json.dumps({"sizes": [n, m], "rate": rate}))
        timed([sys.executable, __file__, "--warm-up"])  # Numba kernels compiled and cached before any timed run
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
        print(f"matrix-multiply rate {rate / 1e9:.1f} GFLOP/s; load average {load():.1f}\n")
        limit = min(args.hail_variants or m, m)
        hail_head = f"{'Hail s':>9}{'Hail/hubscan':>14}" if args.hail else ""
        print(f"{'case':<5}{'hubscan s':>10}{'CPU s':>8}{'MiB':>7}{'plink2 s':>10}{'CPU s':>8}{'MiB':>7}"
              f"{'plink2/hubscan':>16}{'(CPU)':>7}{'x floor':>9}" + hail_head + f"{'load':>7}")
        for case in args.cases:
            ours_s, ours_cpu, ours_mb, out = timed([sys.executable, __file__, "--samples", str(n), "--variants", str(m),
                                                    "--run-hubscan", case, str(root)])
            theirs_s, theirs_cpu, theirs_mb = ((np.nan,) * 3 if args.no_plink2 else
                                               timed(plink2_args(case, root, root / f"plink-{case}"), env)[:3])
            traits = 50 if case == "b" else 1
            floor = 2 * n * m * (traits + N_COVARIATES) / rate
            hail_cols = ""
            if args.hail:
                hail_s = hail_seconds(case, root, m, limit)
                hail_cols = f"{hail_s:>9.1f}{hail_s / ours_s:>14.1f}"
            print(f"{case:<5}{ours_s:>10.1f}{ours_cpu:>8.1f}{ours_mb:>7.0f}{theirs_s:>10.1f}{theirs_cpu:>8.1f}"
                  f"{theirs_mb:>7.0f}{theirs_s / ours_s:>16.2f}{theirs_cpu / ours_cpu:>7.2f}{ours_s / floor:>9.0f}"
                  + hail_cols + f"{load():>7.1f}", flush=True)
        print("\ns: whole-process wall seconds; CPU s: user + system seconds of that process; MiB: its peak RSS;"
              "\nx floor: hubscan seconds / (2 N M (traits + covariates) / matmul rate); load: 1-minute load average"
              " after the case (2 cores: above 2 the machine is shared and wall times stretch)")
        if args.hail and limit < m:
            print(f"Hail ran on the first {limit // 2} and {limit} of {m} variants: its column is the time for {limit} "
                  "plus the per-variant rate between the two runs x the remaining variants")
    finally:
        if not args.data:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
