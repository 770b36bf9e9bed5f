"""Benchmark: `hubscan gwas` end to end (local embedded Spark) and how its time grows.

Data (generated here, seed 1, written straight into a genotype store): N samples x M variants of
hard calls (ALT frequency U(0.01, 0.5), 0.5 % missing calls), T quantitative traits each with its
own missing samples (5-30 %), 10 covariates. Every run is `hubscan gwas` in its own process
(Spark start-up, reading the store, writing the results store included): whole-process wall time
and peak memory of the process tree (driver + Spark JVM + Python workers).

Reported: the full-size run, then series that vary one of samples, variants and traits with the
others fixed; for each, seconds per (sample x variant x trait) relative to the largest run of the
series (1.0 = linear growth), and the full run as a multiple of the machine's floor
2·N·M·(T + covariates) flops at the measured matrix-multiply rate.

    .venv/bin/python bench/scan.py                          # the issue's size: 10k x 100k x 50
    .venv/bin/python bench/scan.py --small                  # 4,000 x 20,000 x 10, a few minutes
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
from bench.measure import load, matmul_rate, run_measured  # noqa: E402
N_COVARIATES = 10
WRITE_BLOCK = 10_000


def make_store(path: Path, n: int, m: int, seed: int = 1) -> None:
    """A complete genotype store of random hard calls (dosages only)."""
    from gwas.store.variables import encode_dosage
    from gwas.store.writer import create_store, write_block
    from hubscan.parts import PartTracker

    rng = np.random.default_rng(seed)
    ids = [f"S{i:06d}" for i in range(n)]
    create_store(path, ids, ["1"], [250_000_000], m, with_genotypes=False)
    for start in range(0, m, WRITE_BLOCK):
        k = min(WRITE_BLOCK, m - start)
        freq = rng.uniform(0.01, 0.5, k)
        dos = rng.binomial(2, freq[:, None], size=(k, n)).astype(np.float32)
        dos[rng.random((k, n)) < 0.005] = np.nan
        called = ~np.isnan(dos)
        af = np.nansum(dos, axis=1) / (2 * called.sum(axis=1))
        pos = np.arange(start, start + k, dtype=np.int32) * 100 + 1
        write_block(path, start, {
            "variant_contig": np.zeros(k, np.int16), "variant_position": pos,
            "variant_allele": np.array([["A", "G"]] * k, dtype=object),
            "variant_id": np.array([f"v{i}" for i in range(start, start + k)], dtype=object),
            "variant_id_mask": np.zeros(k, bool), "variant_source": np.zeros(k, np.int32),
            "variant_split": np.ones(k, np.int16), "variant_alt_frequency": af.astype(np.float64),
            "variant_call_rate": called.mean(axis=1), "variant_info": np.ones(k),
            "call_dosage_scaled": encode_dosage(dos)})
    PartTracker(path, "bench-store", {"n": n, "m": m, "seed": seed}).finalise({"variants": m, "samples": n})


def make_phenotypes(root: Path, n: int, n_traits: int, seed: int = 2) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    ids = [f"S{i:06d}" for i in range(n)]
    cov = rng.normal(size=(n, N_COVARIATES))
    y = cov @ rng.normal(scale=0.2, size=(N_COVARIATES, n_traits)) + rng.normal(size=(n, n_traits))
    for t in range(n_traits):
        y[rng.random(n) < rng.uniform(0.05, 0.3), t] = np.nan

    def write(path, names, values):
        with open(path, "w") as fh:
            fh.write("#FID\tIID\t" + "\t".join(names) + "\n")
            for sid, row in zip(ids, values):
                fh.write(f"{sid}\t{sid}\t" + "\t".join("NA" if np.isnan(v) else f"{v:.6g}" for v in row) + "\n")
        return path

    return (write(root / "pheno.tsv", [f"q{t}" for t in range(n_traits)], y),
            write(root / "cov.tsv", [f"c{j}" for j in range(N_COVARIATES)], cov))


def run_gwas(root: Path, n: int, m: int, t: int, tag: str, cache: dict) -> tuple[float, float]:
    key = (n, m)
    if key not in cache:
        make_store(root / f"store-{n}-{m}", n, m)
        cache[key] = root / f"store-{n}-{m}"
    pheno, cov = _phenotypes(root, n, t)
    out = root / f"out-{tag}"
    cmd = [sys.executable, "-m", "hubscan.cli", "gwas", "--genotype-store", str(cache[key]), "--phenotypes",
           str(pheno), "--covariate", str(cov), "--block-size", "5000", "--out", str(out),
           "--spark-master", "local[2]"]
    m = run_measured(cmd, cwd=root)
    return m.wall, m.peak_mib


def _phenotypes(root: Path, n: int, t: int) -> tuple[Path, Path]:
    folder = root / f"pheno-{n}-{t}"
    if not folder.exists():
        folder.mkdir()
        make_phenotypes(folder, n, t)
    return folder / "pheno.tsv", folder / "cov.tsv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--variants", type=int, default=100_000)
    ap.add_argument("--traits", type=int, default=50)
    ap.add_argument("--small", action="store_true", help="4,000 samples x 20,000 variants x 10 traits")
    ap.add_argument("--no-series", action="store_true", help="only the full-size run")
    ap.add_argument("--workdir", type=Path, help="keep data here (default: a temporary folder)")
    args = ap.parse_args()
    n, m, t = (4000, 20_000, 10) if args.small else (args.samples, args.variants, args.traits)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        root = Path(tmp)
        cache: dict = {}
        rate = matmul_rate()
        print(f"machine: {os.cpu_count()} cores, matrix multiply {rate / 1e9:.1f} GFLOP/s, "
              f"load {load():.1f}")
        rows = []
        wall, mem = run_gwas(root, n, m, t, "full", cache)
        floor = 2 * n * m * (t + N_COVARIATES) / rate
        print(f"full: {n:,} samples x {m:,} variants x {t} traits: {wall:.1f} s, {mem:,.0f} MiB peak, "
              f"{wall / floor:.0f} x floor ({floor:.2f} s)")
        if not args.no_series:
            w0, _ = run_gwas(root, n // 4, 1000, 1, "start-up", cache)
            print(f"start-up (a {n // 4:,} x 1,000 x 1 run): {w0:.1f} s, subtracted below")
            series = {"samples": [(n // 4, m // 4, t), (n // 2, m // 4, t), (n, m // 4, t)],
                      "variants": [(n // 4, m // 4, t), (n // 4, m // 2, t), (n // 4, m, t)],
                      "traits": [(n // 4, m // 4, max(1, t // 5)), (n // 4, m // 4, max(1, t // 2)), (n // 4, m // 4, t)]}
            print(f"\n{'series':<9}{'samples':>9}{'variants':>10}{'traits':>7}{'s':>9}{'MiB':>8}{'s per unit, rel.':>18}")
            for name, sizes in series.items():
                results = [(s, run_gwas(root, *s, f"{name}-{i}", cache)) for i, s in enumerate(sizes)]
                unit = [max(w - w0, 1e-9) / (s[0] * s[1] * s[2]) for s, (w, _) in results]
                for (s, (w, mm)), u in zip(results, unit):
                    print(f"{name:<9}{s[0]:>9,}{s[1]:>10,}{s[2]:>7}{w:>9.1f}{mm:>8,.0f}{u / unit[-1]:>18.2f}")
                    rows.append((name, s, w))
        print(f"\nload average at the end: {load():.1f} (2 cores; > 2 means other work shared them)")


if __name__ == "__main__":
    main()
