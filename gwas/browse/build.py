"""``build_site()``: a release folder into a static, PheWeb-style results browser.

Site layout (appears whole or not at all: written to a temporary sibling, renamed at the end)::

    index.html trait.html variant.html region.html   pages (one template, assets/pages/page.html; data fetched as JSON)
    assets/                      our JS/CSS (no outside network: nothing loaded from elsewhere)
    data/site.json               build, chromosome layout, options, release summary
    data/traits.json             released traits: names, categories, protected counts, λGC, peaks
    data/tophits.json            peaks of every trait, most significant first
    data/traits/<stem>.json      Manhattan (points + bins), QQ, peaks and top rows of one trait
    data/variants/<chrom>/<pos>.bin.gz  every released (variant, trait) row of consecutive
                                 variants from position <pos> (about chunk_rows rows; whole
                                 variants): gzip of a JSON header (variants) + float64/int32
                                 columns, the release's values bit for bit (gwas.browse.phewas)
    data/variants/<chrom>/index.json  the chromosome's chunk start positions, ascending
    data/rsid/<prefix>.json      rsid -> chrom:pos:ref:alt, by the rsid's first two digits
    data/ld/<chrom>/<chunk>.json, data/ldchunks.json   r² pairs (only with an LD reference)
    downloads/<stem>.top.tsv     a trait's top rows (as released); the release's own files
                                 under downloads/release/ (hard links when possible)

Numbers are the release's (float64: exact in the binary chunks, shortest round-trip text in
JSON); derived ones are λGC, QQ expectations and rounded bin levels. Each trait's file is read
once. Memory is bounded by one trait's (chromosome, position, -log10 p) arrays (20 bytes a row)
one spill bucket (traits x variants in spill_bp, see :mod:`gwas.browse.phewas`) and the
spill's held-back rows (a million, ~70 MB).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gwas.browse.phewas import Spill, finite_list, safe_name, write_chunks
from gwas.browse.release import Release, open_release
from gwas.browse.summaries import lambda_gc, manhattan_bins, peaks, qq_points
from hubscan.errors import ConfigError, InputError, OutputError
from hubscan.files import atomic_dir
from hubscan.progress import Progress

log = logging.getLogger("gwas.browse")
SITE_FORMAT = "hubscan-browser"
#: page -> title; every page is assets/pages/page.html with its name, title and script filled in
PAGES = {"index": "Results browser", "trait": "Trait", "variant": "Variant", "region": "Region"}
_NAMED = {"X": 23, "Y": 24, "M": 25, "MT": 25}


@dataclass(frozen=True)
class BrowseOptions:
    """``points``: Manhattan points kept unbinned per trait; ``bin_bp``: Manhattan bin width;
    ``peak_p`` / ``peak_window``: top hits (one per window each side); ``top_rows``: rows in a
    trait's top table and download; ``chunk_bp``: variant-data window; ``spill_bp``: build bucket
    (a multiple of ``chunk_bp``; memory grows with it); ``phecode_info``: a file with ``phecode``
    and ``category`` columns giving categories to released ``phecode_*`` traits that have none;
    ``copy_release``: put the release's files under downloads/release/; ``ld``: a PLINK ``--r2``
    table (:mod:`gwas.browse.ld`) colouring region pages by r² with the lead variant."""

    points: int = 500
    bin_bp: int = 3_000_000
    peak_p: float = 1e-6
    peak_window: int = 500_000
    top_rows: int = 200
    chunk_rows: int = 100_000
    chunk_bp: int = 100_000
    spill_bp: int = 10_000_000
    phecode_info: str | None = None
    copy_release: bool = True
    ld: str | None = None

    def __post_init__(self):
        if self.points < 1 or self.bin_bp < 1 or self.top_rows < 1 or self.peak_window < 0 or self.chunk_rows < 1:
            raise ConfigError("points, bin width, top rows and chunk rows must be >= 1, peak window >= 0")
        if not 0 < self.peak_p <= 1:
            raise ConfigError(f"peak p-value must be in (0, 1], got {self.peak_p}")
        if self.chunk_bp < 1 or self.spill_bp < self.chunk_bp or self.spill_bp % self.chunk_bp:
            raise ConfigError(f"spill window ({self.spill_bp} bp) must be a multiple of the chunk window "
                              f"({self.chunk_bp} bp)")


@dataclass
class SiteResult:
    out: Path
    traits: int
    variants: int
    rows: int
    chunks: int


def chrom_order_key(name: str) -> tuple:
    """1-22, X, Y, MT first (with or without 'chr'), then other contigs by name."""
    s = name[3:] if name.lower().startswith("chr") else name
    if s.isdigit() and 1 <= int(s) <= 22:
        return (int(s), name)
    return (_NAMED.get(s.upper(), 100), name)


def phecode_categories(path) -> dict[str, str]:
    """phecode -> category from a CSV/TSV with ``phecode`` and ``category`` columns
    (``phecode_definitions1.2.csv``, ``phecodeX_info.csv``, the demo's phecode_info.csv)."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: phecode information file not found")
    try:
        table = pd.read_csv(path, sep=None, engine="python", dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as CSV/TSV ({exc})") from None
    cols = {c.lower().strip(): c for c in table.columns}
    if "phecode" not in cols or "category" not in cols:
        raise InputError(f"{path}: needs 'phecode' and 'category' columns (header: {', '.join(table.columns)})")
    return {p.strip(): c.strip() for p, c in zip(table[cols["phecode"]], table[cols["category"]]) if c.strip()}


def build_site(release: str | os.PathLike, out: str | os.PathLike, options: BrowseOptions | None = None) -> SiteResult:
    """Build the site of ``release`` into ``out`` (see the module docstring)."""
    options = options or BrowseOptions()
    rel = open_release(release)
    out = Path(out)
    if out.resolve() == rel.path.resolve() or rel.path.resolve() in out.resolve().parents:
        raise OutputError(f"site folder {out} is inside the release {rel.path}")
    if out.exists() and not out.is_dir():
        raise OutputError(f"site folder {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "data" / "site.json").is_file():
        raise OutputError(f"site folder {out} is not empty and holds no earlier site: choose a new folder")
    if not rel.traits:
        raise InputError(f"{rel.path}: the release publishes no trait")
    categories = phecode_categories(options.phecode_info) if options.phecode_info else {}
    if options.ld and not Path(options.ld).is_file():
        raise InputError(f"{options.ld}: LD reference not found")
    for t in rel.traits:
        rel.data_file(t)  # every trait readable before anything is written
    with atomic_dir(out) as tmp:
        result = _build(rel, tmp, options, categories)
    result.out = out
    log.info("site: %d traits, %d variants, %d rows, %d chunk files", result.traits, result.variants, result.rows,
             result.chunks)
    return result


def _trait_category(t: dict, categories: dict) -> str:
    if t.get("category"):
        return t["category"]
    m = re.match(r"^phecode(?:X)?_(.+)$", t["name"])
    return categories.get(m.group(1), "other") if m else "other"


def _build(rel: Release, tmp: Path, options: BrowseOptions, categories: dict) -> SiteResult:
    template = _asset("page.html").read_text(encoding="utf-8")
    for page, title in PAGES.items():
        (tmp / f"{page}.html").write_text(template.format(page=page, title=title), encoding="utf-8")
    shutil.copytree(_asset("assets"), tmp / "assets")
    for sub in ("data/traits", "data/variants", "data/rsid", "downloads", ".spill"):
        (tmp / sub).mkdir(parents=True)
    chroms: dict[str, int] = {}
    chrom_max: dict[str, int] = {}
    spill = Spill(tmp / ".spill", options.spill_bp)
    traits, hits = [], []
    progress = Progress("traits", total=len(rel.traits))
    for ti, t in enumerate(rel.traits):
        info = {"i": ti, "name": t["name"], "stem": t["stem"], "type": t.get("type"),
                "category": _trait_category(t, categories), "description": t.get("description"),
                "n": t.get("n"), "n_cases": t.get("n_cases"), "n_controls": t.get("n_controls"),
                "variants_published": t.get("variants_published"), "lambda_gc_release": t.get("lambda_gc")}
        summary = _trait(rel, t, ti, tmp, options, spill, chroms, chrom_max)
        info.update(lambda_gc=summary.pop("lambda_gc"), n_rows=summary["n_rows"], n_peaks=len(summary["peaks"]),
                    top=summary["peaks"][0] if summary["peaks"] else (summary["top"][0] if summary["top"] else None))
        hits += [dict(p, trait=ti) for p in summary["peaks"]]
        (tmp / "data" / "traits" / f"{t['stem']}.json").write_text(json.dumps(summary, separators=(",", ":")))
        traits.append(info)
        progress.advance()
    progress.finish()
    order = sorted(chroms, key=chrom_order_key)
    hits.sort(key=lambda h: (-h["p"], h["trait"], h["id"]))
    (tmp / "data" / "tophits.json").write_text(json.dumps(hits, separators=(",", ":")))
    (tmp / "data" / "traits.json").write_text(json.dumps(traits, separators=(",", ":")))
    variants, chunks = _variants(tmp, spill, chroms, options, len(traits))
    shutil.rmtree(tmp / ".spill")
    if options.ld:
        from gwas.browse.ld import write_ld

        ld_index = write_ld(options.ld, tmp, options.chunk_bp, set(chroms))
        (tmp / "data" / "ldchunks.json").write_text(json.dumps(ld_index, separators=(",", ":")))
    offset, layout = 0, []
    for c in order:
        layout.append({"chrom": c, "dir": safe_name(c), "index": chroms[c], "offset": offset,
                       "length": chrom_max[c]})
        offset += chrom_max[c]
    s = rel.summary
    site = {"format": SITE_FORMAT, "genome_build": rel.genome_build, "chromosomes": layout,
            "n_traits": len(traits), "n_variants": variants, "bonferroni_p": 0.05 / len(traits),
            "options": {k: v for k, v in asdict(options).items() if k not in ("phecode_info", "spill_bp", "ld")},
            "release": {"date": s.get("date"), "created_by": s.get("created_by"), "job": (s.get("source") or {}).get("job"),
                        "traits_withheld": len(rel.withheld_traits)},
            "ld": bool(options.ld)}
    (tmp / "data" / "site.json").write_text(json.dumps(site, indent=1))
    return SiteResult(tmp, len(traits), variants, spill.rows, chunks)


def _asset(name: str) -> Path:
    """A bundled file: ``pages/<name>`` or the ``static`` folder (copied to the site's assets/)."""
    base = Path(str(resources.files("gwas.browse"))) / "assets"
    return base / "static" if name == "assets" else base / "pages" / name


def _trait(rel: Release, t: dict, ti: int, tmp: Path, options: BrowseOptions, spill: Spill, chroms: dict,
           chrom_max: dict) -> dict:
    """Stream one trait once: spill its rows, keep (chromosome index, position, -log10 p) and the
    few rows that can be shown as points or peaks (each batch's ``points`` most significant and
    every row at the peak threshold: the trait's points and peaks are among them), then summarise."""
    cidx, pos, nlp, kept, kept_rows = [], [], [], [], []
    threshold = -np.log10(options.peak_p)
    start = 0
    for batch in rel.batches(t):
        chrom = batch.column("chrom")
        names = pc.unique(chrom)
        for name in names.to_pylist():
            chroms.setdefault(str(name), len(chroms))
        lookup = np.array([chroms[str(x)] for x in names.to_pylist()], np.int32)
        codes = lookup[pc.index_in(chrom, value_set=names).to_numpy()]
        p = batch.column("pos").to_numpy()
        for k, name in enumerate(names.to_pylist()):
            chrom_max[str(name)] = max(chrom_max.get(str(name), 0), int(p[codes == lookup[k]].max()))
        spill.add(ti, codes, batch)
        v = batch.column("p").to_numpy()
        cidx.append(codes)
        pos.append(p)
        nlp.append(v)
        rank = np.lexsort((np.arange(len(v)), -v))[:options.points]
        keep = np.union1d(rank, np.flatnonzero(v >= threshold))
        kept.append(batch.take(pa.array(keep)))
        kept_rows.append(keep + start)
        start += len(v)
    cidx = np.concatenate(cidx) if cidx else np.zeros(0, np.int32)
    pos = np.concatenate(pos) if pos else np.zeros(0, np.int64)
    nlp = np.concatenate(nlp) if nlp else np.zeros(0)
    man = manhattan_bins(cidx, pos, nlp, options.points, options.bin_bp)
    peak_rows = peaks(cidx, pos, nlp, options.peak_p, options.peak_window)
    details = _details(kept, np.concatenate(kept_rows) if kept_rows else np.zeros(0, np.int64))
    names = {v: k for k, v in chroms.items()}
    point = lambda i: {"id": details[i]["id"], "rsid": details[i]["rsid"], "chrom": names[int(cidx[i])],  # noqa: E731
                       "c": int(cidx[i]), "pos": int(pos[i]), "p": float(nlp[i]), "b": details[i]["b"],
                       "s": details[i]["s"], "f": details[i]["f"], "n": details[i]["n"]}
    top = [point(i) for i in man.points.tolist()]
    out = {"name": t["name"], "stem": t["stem"], "n_rows": int(len(nlp)), "lambda_gc": lambda_gc(nlp),
           "points": top, "bins": man.bins, "qq": qq_points(nlp), "peaks": [point(i) for i in peak_rows.tolist()],
           "top": top[:options.top_rows], "downloads": _downloads(rel, t, tmp, top[:options.top_rows], options)}
    return out


def _details(kept: list, rows: np.ndarray) -> dict[int, dict]:
    """Row number (file order) -> id, rsid and values of the rows kept while streaming."""
    out = {}
    if not kept:
        return out
    table = pa.Table.from_batches(kept).to_pydict()
    for k, i in enumerate(rows.tolist()):
        vid = table["vid"][k]
        out[i] = {"id": f"{table['chrom'][k]}:{table['pos'][k]}:{table['ref'][k]}:{table['alt'][k]}",
                  "rsid": vid if re.match(r"^rs[0-9]+$", vid) else "",
                  **{key: finite_list(np.array([table[key][k]]), integer=key == "n")[0] for key in ("b", "s", "f", "n")}}
    return out


def _downloads(rel: Release, t: dict, tmp: Path, top: list[dict], options: BrowseOptions) -> list[dict]:
    """The trait's top rows as TSV, and the release's own files (hard-linked or copied)."""
    path = tmp / "downloads" / f"{t['stem']}.top.tsv"
    fmt = lambda v: "NA" if v is None else repr(v)  # noqa: E731
    lines = ["variant\trsid\tchromosome\tposition\tneg_log10_p\tbeta\tstandard_error\teffect_allele_frequency\tn"]
    lines += [f"{r['id']}\t{r['rsid'] or 'NA'}\t{r['chrom']}\t{r['pos']}\t{fmt(r['p'])}\t{fmt(r['b'])}\t{fmt(r['s'])}"
              f"\t{fmt(r['f'])}\t{'NA' if r['n'] is None else r['n']}" for r in top]
    path.write_text("\n".join(lines) + "\n")
    out = [{"label": f"top {len(top)} rows (TSV)", "href": f"downloads/{path.name}"}]
    if options.copy_release:
        for f in rel.download_files(t):
            target = tmp / "downloads" / "release" / f
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(rel.path / f, target)
            except OSError:
                shutil.copyfile(rel.path / f, target)
            out.append({"label": f, "href": f"downloads/release/{f}"})
    return out


def list_ahead(items):
    """(item, next item or None) pairs of an iterator, reading one ahead."""
    it = iter(items)
    current = next(it, None)
    while current is not None:
        following = next(it, None)
        yield current, following
        current = following


def _variants(tmp: Path, spill: Spill, chroms: dict, options: BrowseOptions, n_traits: int) -> tuple[int, int]:
    names = {v: k for k, v in chroms.items()}
    rsid_dir = tmp / ".spill" / "rsid"
    rsid_dir.mkdir()
    handles: dict[str, object] = {}

    def add_rsid(rsid: str, vid: str) -> None:
        key = rsid[2:4]
        f = handles.get(key)
        if f is None:
            f = handles[key] = open(rsid_dir / key, "a")
        f.write(f"{rsid}\t{vid}\n")

    variants, index = 0, {}
    carry = None      # the chromosome's last rows, not yet a full chunk
    buckets = list_ahead(spill.buckets())
    for (c, _, table), following in buckets:
        if carry is not None:
            table = pa.concat_tables([carry, table])
        last = following is None or following[0] != c
        v, written, carry = write_chunks(tmp, names[c], table, options.chunk_rows, n_traits, add_rsid, last)
        variants += v
        index.setdefault(safe_name(names[c]), []).extend(written)
    for c, starts in index.items():
        (tmp / "data" / "variants" / c / "index.json").write_text(json.dumps(starts, separators=(",", ":")))
    chunks = sum(len(v) for v in index.values())
    for key, f in handles.items():
        f.close()
        pairs: dict[str, list[str]] = {}
        for line in sorted((rsid_dir / key).read_text().splitlines()):
            rsid, vid = line.split("\t")
            pairs.setdefault(rsid, []).append(vid)
        (tmp / "data" / "rsid" / f"{key}.json").write_text(json.dumps(pairs, separators=(",", ":")))
    return variants, chunks
