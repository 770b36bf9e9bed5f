"""Results browser at scale: a simulated release of TRAITS x VARIANTS built into a site
(``hubscan browse``: wall time, CPU, peak memory of the whole process), then a trait page and a
variant page loaded in Debian's headless Chromium (time to first render: navigation start to the
page drawn with its data, ``body[data-rendered-ms]``; a fresh browser context per load, so no cache).

The issue's size is 1,000 traits x 1,000,000 variants (1e9 released rows: ~53 GB of Parquet to
simulate, ~30 GB of build spill, ~18 GB of site); on a shared 2-core machine run it reduced in both
directions to show how time, memory and size grow, e.g.

    python bench/browse.py --traits 100 --variants 100000     # 1e7 rows
    python bench/browse.py --traits 1000 --variants 100000    # 1e8 rows: many traits (PheWAS chunks)
    python bench/browse.py --traits 100 --variants 1000000    # 1e8 rows: many variants (Manhattan)

Printed per run: build wall/CPU/peak RSS (whole process tree), CPU microseconds and site bytes per
released row, and the machine's load average (the machine is shared: CPU seconds are the fairer
figure).

The release is written in ``hubscan publish``'s layout (publish.json + parquet/<trait>.parquet):
null -log10 p = -log10 U, two planted peaks per trait, beta = z * se with se from the allele
frequency and n.

``--pheweb PATH`` (a ``pheweb`` executable, PheWeb 1.3.16 in its own venv: see bench/README.md)
times PheWeb's ``pheweb process`` steps on the same rows (one TSV per trait: chrom pos ref alt pval
beta sebeta af; writing them is not timed): phenolist glob, parse-input-files, sites, augment-phenos,
matrix, manhattan, qq, top-hits. Its annotation steps (make-gene-aliases-sqlite3, add-rsids,
add-genes) download dbSNP and GENCODE files, which this machine cannot: sites.tsv is made from
sites-unannotated.tsv with empty rsids/nearest_genes columns instead (not timed), so PheWeb does
less work than in a real deployment and the comparison favours it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from measure import load, run_measured  # noqa: E402

#: GRCh38 autosome lengths, Mb (rounded)
LENGTHS_MB = [248, 242, 198, 190, 181, 171, 159, 145, 138, 134, 135, 133, 114, 107, 102, 90, 83, 80, 59, 64, 47, 51]
CATEGORIES = ["circulatory system", "congenital anomalies", "dermatologic", "digestive", "endocrine/metabolic",
              "genitourinary", "hematopoietic", "infectious diseases", "injuries & poisonings", "mental disorders",
              "musculoskeletal", "neoplasms", "neurological", "pregnancy complications", "respiratory",
              "sense organs", "symptoms"]


def simulate_release(out: Path, n_traits: int, n_variants: int, seed: int = 1) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from scipy import special

    rng = np.random.default_rng(seed)
    (out / "parquet").mkdir(parents=True)
    share = np.array(LENGTHS_MB, float) / sum(LENGTHS_MB)
    per = np.maximum(rng.multinomial(n_variants - 22, share) + 1, 1)
    chrom = np.repeat([str(c) for c in range(1, 23)], per).astype(object)
    pos = np.concatenate([np.sort(rng.choice(LENGTHS_MB[c] * 1_000_000, k, replace=False)) + 1
                          for c, k in enumerate(per)]).astype(np.int64)
    bases = np.array(list("ACGT"))
    ref = bases[rng.integers(0, 4, n_variants)]
    alt = bases[(np.searchsorted(bases, ref) + rng.integers(1, 4, n_variants)) % 4]
    ids = np.where(rng.random(n_variants) < 0.7, np.char.add("rs", np.arange(1, n_variants + 1).astype(str)), ".")
    af = rng.uniform(0.01, 0.5, n_variants)
    n = 50_000
    se = 1 / np.sqrt(2 * n * af * (1 - af))
    fixed = [pa.array(chrom.tolist(), pa.string()), pa.array(pos), pa.array(ids.tolist(), pa.string()),
             pa.array(alt.tolist(), pa.string()), pa.array(ref.tolist(), pa.string())]
    traits = []
    for t in range(n_traits):
        nlp = -np.log10(rng.random(n_variants))
        for centre in rng.integers(0, n_variants, 2):
            lo, hi = max(centre - 10, 0), min(centre + 11, n_variants)
            nlp[lo:hi] = np.maximum(nlp[lo:hi], rng.uniform(8, 30) * np.exp(-np.abs(np.arange(lo, hi) - centre) / 4))
        z = -special.ndtri_exp(-nlp * np.log(10) - np.log(2))
        beta = np.where(rng.random(n_variants) < 0.5, -1, 1) * z * se
        stem = f"phecode_{100 + t}"
        table = pa.table(fixed + [pa.array(beta), pa.array(se), pa.array(af), pa.array(10.0 ** -nlp), pa.array(nlp),
                                  pa.array(np.full(n_variants, n, np.int64))],
                         names=["chromosome", "base_pair_location", "variant_id", "effect_allele", "other_allele",
                                "beta", "standard_error", "effect_allele_frequency", "p_value", "neg_log10_p_value",
                                "n"])
        pq.write_table(table, out / "parquet" / f"{stem}.parquet", compression="zstd")
        traits.append({"name": stem, "stem": stem, "type": "binary", "category": CATEGORIES[t % len(CATEGORIES)],
                       "description": f"simulated phecode {100 + t}", "n": n, "n_cases": 5_000, "n_controls": 45_000,
                       "withheld": None, "variants_published": n_variants, "files": [f"parquet/{stem}.parquet"]})
    summary = {"format": "hubscan-publication", "created_by": "bench/browse.py", "genome_build": "GRCh38",
               "date": "2026-01-01", "source": {"job": "gwas"}, "traits": traits, "disclosure": {}, "files": {}}
    (out / "publish.json").write_text(json.dumps(summary))
    return summary


def page_loads(site: Path, paths: list[str], repeats: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    from gwas.browse.serve import make_server

    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    srv = make_server(site, 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}/"
    out = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
            for path in paths:
                times = []
                for _ in range(repeats + 1):          # the first load warms the browser process only
                    context = browser.new_context(viewport={"width": 1300, "height": 1000})
                    page = context.new_page()
                    page.goto(base + path)
                    page.wait_for_selector("body[data-ready='yes']", timeout=60_000)
                    times.append(float(page.evaluate("document.body.dataset.renderedMs")))
                    context.close()
                out[path] = times[1:]
            browser.close()
    finally:
        srv.shutdown()
        srv.server_close()
    return out


def pheweb_process(pheweb: str, work: Path, env: dict) -> dict:
    import gzip

    import pyarrow.parquet as pq

    folder = work / "pheweb"
    (folder / "input").mkdir(parents=True)
    for f in sorted((work / "release" / "parquet").glob("*.parquet")):
        t = pq.read_table(f).to_pandas()
        t = t.rename(columns={"chromosome": "chrom", "base_pair_location": "pos", "other_allele": "ref",
                              "effect_allele": "alt", "p_value": "pval", "standard_error": "sebeta",
                              "effect_allele_frequency": "af"})
        t[["chrom", "pos", "ref", "alt", "pval", "beta", "sebeta", "af"]].to_csv(folder / "input" / f"{f.stem}.tsv",
                                                                               sep="\t", index=False)
    total = {"wall": 0.0, "cpu": 0.0, "peak": 0.0}

    def step(*cmd):
        r = run_measured([pheweb, *cmd], env=env, cwd=folder)
        total["wall"] += r.wall
        total["cpu"] += r.cpu
        total["peak"] = max(total["peak"], r.peak_mib)
        print(f"  pheweb {' '.join(cmd)}: {r.wall:.1f} s", flush=True)

    step("phenolist", "glob", "--simple-phenocode", "input/*")
    step("parse-input-files")
    step("sites")
    sites = folder / "generated-by-pheweb" / "sites"
    with gzip.open(sites / "sites-unannotated.tsv", "rt") as f, open(sites / "sites.tsv", "w") as out:
        out.write(f.readline().rstrip("\n") + "\trsids\tnearest_genes\n")
        for line in f:
            out.write(line.rstrip("\n") + "\t\t\n")
    for name in ("augment-phenos", "matrix", "manhattan", "qq", "top-hits"):
        step(name)
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--traits", type=int, default=1000)
    ap.add_argument("--variants", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--work", type=Path, default=Path("bench/results/browse"))
    ap.add_argument("--keep", action="store_true", help="keep the simulated release and the site")
    ap.add_argument("--reuse", action="store_true", help="reuse the release a --keep run left (same size)")
    ap.add_argument("--pheweb", help="path of a `pheweb` executable to compare `pheweb process` with")
    args = ap.parse_args()
    import shutil

    work = args.work / f"{args.traits}x{args.variants}"
    if args.reuse and (work / "release" / "publish.json").is_file():
        shutil.rmtree(work / "site", ignore_errors=True)
        print(f"release of {args.traits} traits x {args.variants:,} variants reused from {work / 'release'}")
    else:
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        t0 = time.perf_counter()
        simulate_release(work / "release", args.traits, args.variants)
        print(f"simulated release: {args.traits} traits x {args.variants:,} variants in "
              f"{time.perf_counter() - t0:.0f} s (load {load():.1f} on {os.cpu_count()} cores)", flush=True)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    m = run_measured([sys.executable, "-m", "hubscan.cli", "--log-level", "WARNING", "browse", str(work / "release"),
                      "--out", str(work / "site"), "--no-release-files"], env=env)
    files = [p for p in (work / "site").rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    rows = args.traits * args.variants
    if m.stdout.count("variant files") != 1:
        raise SystemExit(f"hubscan browse failed:\n{m.stderr[-3000:]}")
    chunks = [p for p in files if p.name.endswith(".bin.gz")]
    chunk_size = sum(p.stat().st_size for p in chunks)
    print(f"hubscan browse: {m.wall:.1f} s wall, {m.cpu:.1f} s CPU ({1e6 * m.cpu / rows:.2f} us/row), peak RSS "
          f"{m.peak_mib:.0f} MiB; site {size / 2**20:.0f} MiB in {len(files):,} files ({size / rows:.1f} bytes/row; "
          f"variant chunks {chunk_size / 2**20:.0f} MiB in {len(chunks):,} files, largest "
          f"{max((p.stat().st_size for p in chunks), default=0) / 2**20:.2f} MiB); load {load():.1f}", flush=True)
    hits = json.loads((work / "site" / "data" / "tophits.json").read_text())
    traits = json.loads((work / "site" / "data" / "traits.json").read_text())
    from urllib.parse import quote

    biggest = max(traits, key=lambda t: t["n_rows"])
    paths = [f"trait.html?t={quote(biggest['stem'])}", f"variant.html?id={quote(hits[0]['id'], safe='')}", "index.html"]
    loads = page_loads(work / "site", paths, args.repeats)
    for path, times in loads.items():
        print(f"first render {path.split('?')[0]:<13} median {statistics.median(times):7.0f} ms, max {max(times):7.0f} ms "
              f"({len(times)} cold loads)")
    if args.pheweb:
        pw = pheweb_process(args.pheweb, work, env)
        print(f"pheweb process (steps above): {pw['wall']:.1f} s wall, {pw['cpu']:.1f} s CPU, peak RSS "
              f"{pw['peak']:.0f} MiB; hubscan browse / pheweb wall = {m.wall / pw['wall']:.2f}, "
              f"CPU = {m.cpu / pw['cpu']:.2f}")
    if not args.keep:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
