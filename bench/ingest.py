"""Benchmark: ingesting a simulated cohort's VCF.gz and BGEN into the genotype store, against
bio2zarr (vcf2zarr) and plink2 converting the same files, in one run.

Data: ``hubscan simulate``'s genotype writer (N samples x M variants on chromosomes 1-22, 20 %
imputed rows with GT:DS:GP in the VCF, 8-bit BGEN, 0.5 % missing calls).

Tools (each its own process; 2 cores where the tool can use them):

  VCF   hubscan ingest            without Spark: one process, 2 threads; default chunks 10,000 x 1,000
        hubscan ingest --spark    parts as tasks on an embedded local[2] Spark (JVM start included)
        vcf2zarr convert -p 2     bio2zarr; converts every FORMAT field (GT, DS and GP) - more output
        plink2 --vcf dosage=DS --make-pgen --threads 2
  BGEN  hubscan ingest            as above, and --spark
        plink2 --bgen ref-first --make-pgen --threads 2
        Hail (--hail)             index_bgen + import_bgen(entry_fields=['dosage']) + MatrixTable write on
                                  local[2] (JVM start included)

Columns: whole-process wall seconds; peak memory = the largest sum of RSS over the process and all
its descendants (sampled every 50 ms, so it includes the Spark JVM and worker processes); output
size and its ratio to the 8-bit BGEN's size; peer / hubscan time ratio. Peers get
OPENBLAS_NUM_THREADS=1 (bench/README.md). The machine is shared: the 1-minute load average before
and after is printed; speed is reported, never asserted.

    .venv/bin/python bench/ingest.py --samples 5000 --variants 20000
    .venv/bin/python bench/ingest.py --small            # 1,000 x 5,000
    .venv/bin/python bench/ingest.py --samples 10000 --variants 100000 --hail   # the issue's size
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))


def make_data(root: Path, n: int, m: int) -> tuple[Path, Path, Path]:
    from hubscan.simulate.cohort import CohortSpec, simulate_samples
    from hubscan.simulate.genotypes import write_genotype_files

    spec = CohortSpec(n_samples=n, n_variants=m, seed=1)
    files = write_genotype_files(spec, simulate_samples(spec), root / "cohort")
    return files.vcf, files.bgen, files.bgen_sample


HAIL_SCRIPT = """
import sys, hail as hl
bgen, sample, out, tmp = sys.argv[1:5]
hl.init(master="local[2]", quiet=True, log=tmp + "/hail.log", tmp_dir=tmp, local_tmpdir=tmp,
        spark_conf={"spark.ui.enabled": "false", "spark.driver.memory": "4g"})
hl.index_bgen(bgen, index_file_map={bgen: tmp + "/x.idx2"}, reference_genome=None)
mt = hl.import_bgen(bgen, entry_fields=["dosage"], sample_file=sample, index_file_map={bgen: tmp + "/x.idx2"})
mt.write(out, overwrite=True)
hl.stop()
"""


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        procs = [proc] + proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def timed(args: list[str], env=None) -> tuple[float, float]:
    """Wall seconds and peak process-tree RSS (MiB) of one command."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen([str(a) for a in args], stdout=out, stderr=subprocess.STDOUT, env=env, text=True)
        watched = psutil.Process(proc.pid)
        peak = [0]

        def sample():
            while proc.poll() is None:
                peak[0] = max(peak[0], _tree_rss(watched))
                time.sleep(0.05)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        proc.wait()
        seconds = time.perf_counter() - started
        t.join()
        if proc.returncode != 0:
            out.seek(0)
            raise SystemExit(f"{args[0]} failed:\n{out.read()[-3000:]}")
    return seconds, peak[0] / 2**20


def du(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--variants", type=int, default=20000)
    parser.add_argument("--small", action="store_true", help="1,000 samples x 5,000 variants")
    parser.add_argument("--no-spark", action="store_true", help="skip the hubscan --spark runs")
    parser.add_argument("--hail", action="store_true", help="also time Hail import_bgen + write")
    parser.add_argument("--no-vcf2zarr", action="store_true", help="skip bio2zarr (slow at large sizes)")
    parser.add_argument("--data", metavar="DIR", help="simulate the cohort into DIR once and reuse it on later "
                        "runs (kept; default: a temporary folder removed at the end)")
    args = parser.parse_args()
    n, m = (1000, 5000) if args.small else (args.samples, args.variants)
    for tool in ("plink2",):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed")
    vcf2zarr = Path(sys.executable).parent / "vcf2zarr"
    hubscan = [sys.executable, "-m", "hubscan.cli"]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", SPARK_LOCAL_IP="127.0.0.1",
               NUMBA_CACHE_DIR=str(PROJECT / ".numba_cache"), PYTHONPATH=str(PROJECT))
    root = Path(tempfile.mkdtemp(prefix="hubscan-bench-ingest-"))
    rows = []
    try:
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        if args.data and (Path(args.data) / "cohort" / "genotypes.sample").is_file():
            cohort = Path(args.data) / "cohort"
            vcf, bgen, sample = cohort / "genotypes.vcf.gz", cohort / "genotypes.bgen", cohort / "genotypes.sample"
        else:
            vcf, bgen, sample = make_data(Path(args.data) if args.data else root, n, m)
        print(f"data: {n} samples x {m} variants -> {root} ({time.perf_counter() - started:.0f} s; "
              f"VCF.gz {du(vcf):.0f} MiB, BGEN {du(bgen):.0f} MiB)", flush=True)
        # warm the Numba cache so no run pays the first compile (the VCF and the BGEN kernels)
        timed([*hubscan, "ingest", vcf, "--out", root / "warm", "--variants-chunk", "2000"], env)
        timed([*hubscan, "ingest", bgen, "--sample-file", sample, "--ref-first", "--out", root / "warm-bgen"], env)
        shutil.rmtree(root / "warm")
        shutil.rmtree(root / "warm-bgen")
        spark = [] if args.no_spark else [("hubscan --spark", ["--spark", "--spark-master", "local[2]"])]
        (root / "hail_import.py").write_text(HAIL_SCRIPT)  # not hail.py: it would shadow the module
        (root / "hail-tmp").mkdir()
        hail = [("Hail", [sys.executable, root / "hail_import.py", bgen, sample, root / "hail.mt", root / "hail-tmp"],
                 root / "hail.mt")] if args.hail else []
        b2z = [] if args.no_vcf2zarr else [
            ("vcf2zarr", [vcf2zarr, "convert", "-p", "2", "-Q", vcf, root / "b2z.vcz"], root / "b2z.vcz")]
        runs = {
            "VCF": [("hubscan", [*hubscan, "ingest", vcf, "--out", root / "h-vcf"], root / "h-vcf"),
                    *[(name, [*hubscan, "ingest", vcf, "--out", root / "hs-vcf", *extra], root / "hs-vcf")
                      for name, extra in spark],
                    *b2z,
                    ("plink2", ["plink2", "--vcf", vcf, "dosage=DS", "--make-pgen", "--threads", "2",
                                "--out", root / "p-vcf"], root / "p-vcf.pgen")],
            "BGEN": [("hubscan", [*hubscan, "ingest", bgen, "--sample-file", sample, "--ref-first", "--out", root / "h-bgen"],
                      root / "h-bgen"),
                     *[(name, [*hubscan, "ingest", bgen, "--sample-file", sample, "--ref-first", "--out", root / "hs-bgen", *extra],
                        root / "hs-bgen") for name, extra in spark],
                     ("plink2", ["plink2", "--bgen", bgen, "ref-first", "--sample", sample, "--make-pgen",
                                 "--threads", "2", "--out", root / "p-bgen"], root / "p-bgen.pgen"),
                     *hail],
        }
        bgen_mib = du(bgen)
        print(f"\n{'input':<6}{'tool':<17}{'seconds':>9}{'peak MiB':>10}{'out MiB':>9}{'out/BGEN':>9}"
              f"{'tool/hubscan':>14}")
        for kind, tools in runs.items():
            base = None
            for name, cmd, output in tools:
                seconds, mib = timed(cmd, env)
                base = base or seconds
                size = du(output) if output.exists() else float("nan")
                rows.append({"input": kind, "tool": name, "seconds": seconds, "peak_mib": mib, "out_mib": size,
                             "out_over_bgen": size / bgen_mib})
                print(f"{kind:<6}{name:<17}{seconds:>9.1f}{mib:>10.0f}{size:>9.0f}{size / bgen_mib:>9.2f}"
                      f"{seconds / base:>14.2f}", flush=True)
        load_after = os.getloadavg()[0]
        print(f"\nload average (1 min) before {load_before:.2f}, after {load_after:.2f}; 2 cores. "
              "tool/hubscan: wall time relative to hubscan without Spark on the same input; "
              f"out/BGEN: output size over the 8-bit BGEN's ({bgen_mib:.0f} MiB).")
        results = PROJECT / "bench" / "results"
        results.mkdir(exist_ok=True)
        (results / f"ingest-{n}x{m}.json").write_text(json.dumps(
            {"samples": n, "variants": m, "bgen_mib": bgen_mib, "load_before": load_before, "load_after": load_after,
             "runs": rows},
            indent=1))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
