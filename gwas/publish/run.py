"""``publish()``: a results store into the files a hub can release.

Output folder (appears whole or not at all: written to a temporary sibling, renamed at the end)::

    publish.json                      what was published, protected counts, options, md5 of every file
    report.html                       run metadata, traits, disclosure summary, plots
    checksums.md5                     md5sum -c list of every file
    gwas-ssf/<trait>.tsv.gz           GWAS-SSF v1.0 + <file>-meta.yaml + <file>.md5
    regenie/<trait>.regenie.gz        REGENIE step-2 style
    plink2/<trait>.glm.{linear,logistic}.gz
    parquet/<trait>.parquet
    plots/<trait>.{manhattan,qq,regional}.{png,svg}  (not for PheWAS stores: few variants)
    plots/phewas-<variant>.{png,svg}  top variants (one per region) across the published traits
    disclosure/disclosure.json        rules applied with their parameters, traits withheld, rows
                                      withheld per trait and reason (counted, never named)
    disclosure/withheld_traits.tsv    trait and reason (no count of a withheld trait anywhere)

Every check of the input (store complete and of a readable version, metadata fields present,
every published trait's files there, genome build known) happens before anything is written.
``<trait>`` is the trait name with characters other than letters, digits, '.', '_' and '-'
replaced by '_' (publish.json maps names to files). No file names a local path: publish.json
records where the results came from by job and software, not by folder.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gwas.publish import FORMATS
from gwas.publish.disclosure import DisclosureRules, disclosure_report, protect_trait_counts, trait_decision
from gwas.results.store import metadata_path
from hubscan.errors import ConfigError, InputError, OutputError
from hubscan.files import atomic_dir

log = logging.getLogger("gwas.publish")

PUBLISH_FORMAT = "hubscan-publication"
BUILDS = {"grch37": "GRCh37", "hg19": "GRCh37", "37": "GRCh37", "grch38": "GRCh38", "hg38": "GRCh38",
          "38": "GRCh38"}


@dataclass(frozen=True)
class PublishOptions:
    """What to write. ``effect``: auto (odds_ratio for binary traits in GWAS-SSF), beta or odds-ratio;
    ``p_format``: p (exact text below 1e-308) or neg-log10 (GWAS-SSF ``neg_log_10_p_value``);
    ``genome_build``: GRCh37/GRCh38 (default: the store's metadata); ``date``: YYYY-MM-DD for the
    GWAS-SSF metadata (default: SOURCE_DATE_EPOCH or today, UTC); ``hit_p``: a regional plot is
    drawn around each trait's lead variant when its p is at most this; ``phewas_variants``: PheWAS
    plots for this many top variants (when two or more traits are published)."""

    rules: DisclosureRules = field(default_factory=DisclosureRules)
    formats: tuple[str, ...] = FORMATS
    effect: str = "auto"
    p_format: str = "p"
    genome_build: str | None = None
    date: str | None = None
    plots: bool = True
    hit_p: float = 5e-8
    region_window: int = 250_000
    phewas_variants: int = 5

    def __post_init__(self):
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown or not self.formats:
            raise ConfigError(f"formats must be among {', '.join(FORMATS)}, got {', '.join(unknown) or 'none'}")
        if self.effect not in ("auto", "beta", "odds-ratio"):
            raise ConfigError(f"effect must be auto, beta or odds-ratio, got {self.effect!r}")
        if self.p_format not in ("p", "neg-log10"):
            raise ConfigError(f"p_format must be p or neg-log10, got {self.p_format!r}")
        if not 0 < self.hit_p <= 1:
            raise ConfigError(f"hit p-value must be in (0, 1], got {self.hit_p}")
        if self.region_window < 1 or self.phewas_variants < 0:
            raise ConfigError("region window must be >= 1 bp and phewas variants >= 0")


@dataclass
class PublishResult:
    out: Path
    traits_published: int
    traits_withheld: int
    variants_published: int
    rows_withheld: int
    files: int


def file_stem(name: str, taken: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).lstrip(".") or "trait"
    base, k = stem, 2
    while stem.lower() in taken:
        stem, k = f"{base}-{k}", k + 1
    taken.add(stem.lower())
    return stem


def _genome_build(options: PublishOptions, metadata: dict) -> str:
    given = options.genome_build or metadata.get("genome_build") or (metadata.get("config") or {}).get("genome_build")
    if not given:
        raise ConfigError("the results store does not record its genome build: pass --genome-build GRCh37 or GRCh38")
    build = BUILDS.get(str(given).lower())
    if build is None:
        raise ConfigError(f"genome build {given!r} is not GRCh37 or GRCh38 (nor hg19/hg38)")
    return build


def _date(options: PublishOptions) -> datetime.date:
    if options.date:
        try:
            return datetime.date.fromisoformat(options.date)
        except ValueError:
            raise ConfigError(f"date {options.date!r} is not YYYY-MM-DD") from None
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    now = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch else \
        datetime.datetime.now(datetime.timezone.utc)
    return now.date()


def check_traits(store) -> list[dict]:
    """The store's trait entries, each checked for the fields publishing needs (InputError naming
    the trait and field otherwise), and the files of every tested trait present."""
    where = metadata_path(store.path)
    entries = store.metadata["traits"]
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{where}: 'traits' lists no trait")
    names = set()
    for i, t in enumerate(entries):
        if not isinstance(t, dict) or "name" not in t:
            raise InputError(f"{where}: traits entry {i + 1} has no name")
        if t["name"] in names:
            raise InputError(f"{where}: trait {t['name']!r} listed twice")
        names.add(t["name"])
        if t.get("type") not in ("quantitative", "binary"):
            raise InputError(f"{where}: trait {t['name']!r} has type {t.get('type')!r} (expected quantitative or binary)")
        if t.get("status", "tested") != "tested":
            continue
        needed = ["n", "test"] + (["n_cases", "n_controls"] if t["type"] == "binary" else [])
        missing = [k for k in needed if t.get(k) is None]
        if missing:
            raise InputError(f"{where}: trait {t['name']!r} lacks {', '.join(missing)}")
        if not store.files([t["name"]]):
            raise InputError(f"{store.path}: incomplete results store: no result files for trait {t['name']!r}")
    return entries


def _check_out(out: Path, source: Path) -> None:
    if out.resolve() == source.resolve() or source.resolve() in out.resolve().parents:
        raise OutputError(f"output folder {out} is inside the results store {source}")
    if out.exists() and not out.is_dir():
        raise OutputError(f"output folder {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "publish.json").is_file():
        raise OutputError(f"output folder {out} is not empty and holds no earlier publication: "
                          "choose a new folder (publishing replaces the whole folder)")


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _trait_counts(entry: dict, rules: DisclosureRules) -> dict:
    """A published trait's n (and for a binary trait n_cases, n_controls) as published (None when
    suppressed; see :func:`protect_trait_counts`)."""
    value = lambda k: -1 if entry.get(k) is None else entry[k]  # noqa: E731
    counts = protect_trait_counts(value("n"), value("n_cases"), value("n_controls"), rules)
    keys = ("n", "n_cases", "n_controls") if entry.get("type") == "binary" else ("n",)
    return {k: int(v[0]) if math.isfinite(v[0]) else None for k, v in zip(keys, counts)}


def publish(results: str | os.PathLike, out: str | os.PathLike, options: PublishOptions | None = None) -> PublishResult:
    """Publish the results store ``results`` into the folder ``out`` (see the module docstring)."""
    from gwas.results.store import open_results

    options = options or PublishOptions()
    store = open_results(results)
    entries = check_traits(store)
    build = _genome_build(options, store.metadata)
    date = _date(options)
    out = Path(out)
    _check_out(out, store.path)
    with atomic_dir(out) as tmp:
        result = _write(store, entries, tmp, options, build, date)
    result.out = out
    log.info("published %d traits (%d withheld), %d variant rows, %d rows withheld, %d files",
             result.traits_published, result.traits_withheld, result.variants_published, result.rows_withheld,
             result.files)
    return result


def _write(store, entries, tmp: Path, options: PublishOptions, build: str, date) -> PublishResult:
    from gwas.publish import ssf, text
    from gwas.publish.report import write_report
    from gwas.publish.rows import df_offset, publishable_rows
    from hubscan import __version__

    rules = options.rules
    meta = store.metadata
    folders = {f: tmp / f for f in options.formats}
    folders.update(plots=tmp / "plots", disclosure=tmp / "disclosure")
    for f in folders.values():
        f.mkdir()
    covariates = meta.get("covariates") or []
    software = f"hubscan {__version__}"
    taken: set[str] = set()
    traits, withheld_rows, plots = [], [], {"Manhattan plots": [], "QQ plots": [], "Regional plots": [],
                                             "PheWAS plots": []}
    leads: list[tuple] = []  # (neg_log10_p, variant_index, contig, position) of each trait's top rows
    for k, entry in enumerate(entries):
        name = entry["name"]
        decision = trait_decision(entry, rules)
        info = {"name": name, "type": entry.get("type"), "test": entry.get("test"),
                "category": entry.get("category"), "description": entry.get("description"), "withheld": decision}
        traits.append(info)
        if decision:  # a withheld trait publishes no count at all (its complement would give it back)
            log.info("trait %d/%d withheld: %s", k + 1, len(entries), decision)
            continue
        info.update(_trait_counts(entry, rules), files=[])
        stem = file_stem(name, taken)
        binary = entry["type"] == "binary"
        try:
            rows, withheld = publishable_rows(store, name, rules, df_offset(entry, meta))
        except (OSError, ValueError) as exc:  # pyarrow errors are ValueError / OSError subclasses
            raise InputError(f"{store.path}: result files of trait {name!r} cannot be read ({exc})") from None
        files = []
        withheld = withheld.assign(scope="all formats")
        if "gwas-ssf" in options.formats:
            min_maf = (meta.get("config") or {}).get("min_maf")
            meta_args = dict(genome_build=build, date=date, software=software, covariates=covariates, min_maf=min_maf,
                             counts={k: info.get(k) for k in ("n", "n_cases", "n_controls")},
                             notes=_notes(rules), step1=meta.get("step1"))
            written, left_out = ssf.write_ssf(folders["gwas-ssf"], stem, rows, entry, effect=options.effect,
                                              p_format=options.p_format, meta_args=meta_args)
            files += written
            withheld = pd.concat([withheld, left_out.assign(scope="gwas-ssf")], ignore_index=True)
        if "regenie" in options.formats or "plink2" in options.formats:
            coded, left_out = text.coded_rows(rows)
            text_scope = ", ".join(f for f in ("regenie", "plink2") if f in options.formats)
            withheld = pd.concat([withheld, left_out.assign(scope=text_scope)], ignore_index=True)
        if "regenie" in options.formats:
            files.append(text.write_regenie(folders["regenie"], stem, coded))
        if "plink2" in options.formats:
            files.append(text.write_plink2(folders["plink2"], stem, coded, binary))
        if "parquet" in options.formats:
            files.append(text.write_parquet(folders["parquet"], stem, rows))
        withheld_rows.append(withheld.assign(trait=name))
        info.update(stem=stem, variants_published=int(len(rows)),
                    variants_withheld={f"{scope}: {reason}": int(n) for (scope, reason), n in
                                       withheld.groupby(["scope", "reason"]).size().items()})
        if len(rows):
            lead = int(rows["neg_log10_p"].to_numpy().argmax())
            info["lead_neg_log10_p"] = float(rows.at[lead, "neg_log10_p"])
            top = rows.nlargest(max(options.phewas_variants, 1) * 20, "neg_log10_p")
            leads.extend(top[["neg_log10_p", "variant_index", "contig", "position"]].itertuples(index=False))
        if options.plots and meta.get("job") != "phewas":  # a PheWAS has a few variants: PheWAS plots only
            info["lambda_gc"] = _trait_plots(rows, folders["plots"], stem, name, options, plots)
        files.sort()
        info["files"] = [str(p.relative_to(tmp)) for p in files]
        log.info("trait %d/%d: %d variants published, %d rows withheld", k + 1, len(entries), len(rows), len(withheld))
    published = [t for t in traits if t["withheld"] is None]
    if options.plots and len(published) >= 2 and options.phewas_variants:
        plots["PheWAS plots"] = _phewas(store, entries, published, leads, folders["plots"], options)
    report = disclosure_report(rules, traits, {t["name"]: t.get("variants_withheld", {}) for t in published})
    _write_disclosure(folders["disclosure"], report, traits)
    summary = {"format": PUBLISH_FORMAT, "created_by": software, "genome_build": build, "date": date.isoformat(),
               "source": {"job": meta.get("job"), "created_by": meta.get("created_by"),
                          "software": meta.get("software"), "n_variants": meta.get("n_variants"),
                          "covariates": covariates},
               "options": {**asdict(options), "formats": list(options.formats)},
               "traits": traits, "disclosure": report, "files": {}}
    if options.plots:
        write_report(tmp / "report.html", summary, plots)
    summary["files"] = {str(p.relative_to(tmp)): _md5(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
    (tmp / "publish.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    all_files = sorted(p for p in tmp.rglob("*") if p.is_file())
    (tmp / "checksums.md5").write_text("".join(f"{_md5(p)}  {p.relative_to(tmp)}\n" for p in all_files))
    n_rows = sum(len(w) for w in withheld_rows)
    return PublishResult(tmp, len(published), len(traits) - len(published),
                         sum(t.get("variants_published", 0) for t in published), n_rows, len(all_files) + 1)


def _notes(rules: DisclosureRules) -> str:
    return (f"Published with hubscan under disclosure control: counts of {rules.suppress_at_or_below} or fewer "
            f"suppressed, others rounded to the nearest {rules.round_to}; effect allele frequency = rounded "
            f"allele count / (2 x rounded called samples); variants with possibly fewer than "
            f"{rules.min_carriers} minor-allele carriers withheld. Effect allele = ALT of the genotype data.")


def _trait_plots(rows, folder, stem, name, options, plots) -> float:
    from gwas.publish.plots.manhattan import manhattan_plot
    from gwas.publish.plots.qq import qq_plot
    from gwas.publish.plots.regional import regional_plot

    rel = lambda paths: f"plots/{paths[0].name}"  # noqa: E731
    plots["Manhattan plots"].append(rel(manhattan_plot(rows, folder, f"{stem}.manhattan", name)))
    paths, lam = qq_plot(rows["neg_log10_p"].to_numpy(), folder, f"{stem}.qq", name)
    plots["QQ plots"].append(rel(paths))
    if len(rows):
        lead = int(rows["neg_log10_p"].to_numpy().argmax())
        if rows.at[lead, "neg_log10_p"] >= -math.log10(options.hit_p):
            plots["Regional plots"].append(rel(regional_plot(rows, lead, options.region_window, folder,
                                                             f"{stem}.regional", f"{name}: lead variant ±"
                                                             f"{options.region_window // 1000} kb")))
    return None if math.isnan(lam) else lam


def _phewas(store, entries, published, leads, folder, options) -> list[str]:
    """PheWAS plots of the top variants (by -log10 p in any published trait)."""
    import pyarrow.parquet as pq

    from gwas.publish.plots.phewas import phewas_plot
    from gwas.publish.rows import READ_COLUMNS, df_offset, protect_rows, withhold_reasons

    # strongest first, one variant per region (window): neighbours in LD would repeat the same signal
    candidates, chosen = [], []
    for nlp, index, contig, position in sorted(leads, key=lambda t: (-t[0], t[1])):
        if len(candidates) == options.phewas_variants:
            break
        if index in candidates or any(c == contig and abs(p - position) <= options.region_window for c, p in chosen):
            continue
        candidates.append(int(index))
        chosen.append((contig, position))
    by_name = {e["name"]: e for e in entries}
    parts = []
    for t in published:
        for path in store.files([t["name"]]):
            table = pq.read_table(path, columns=READ_COLUMNS, filters=[("variant_index", "in", candidates)])
            frame = table.to_pandas()
            frame = frame[withhold_reasons(frame, options.rules) == ""]
            frame = protect_rows(frame, options.rules, df_offset(by_name[t["name"]], store.metadata))
            frame = frame[np.isfinite(frame["neg_log10_p"].to_numpy())]
            parts.append(frame.assign(trait=t["name"], category=by_name[t["name"]].get("category") or "other"))
    hits = pd.concat(parts, ignore_index=True)
    out = []
    taken: set[str] = set()
    for index in candidates:
        h = hits[hits["variant_index"] == index]
        if not len(h):
            continue
        first = h.iloc[0]
        label = first["variant_id"] if first["variant_id"] not in ("", ".") else \
            f"{first['contig']}:{first['position']}:{first['ref']}:{first['alt']}"
        stem = file_stem(f"phewas-{label}", taken)
        phewas_plot(h, len(published), folder, stem, f"PheWAS of {label} (effect allele {first['alt']})")
        out.append(f"plots/{stem}.png")
    return out


def _write_disclosure(folder: Path, report: dict, traits: list[dict]) -> None:
    """disclosure.json and withheld_traits.tsv. Withheld variants are counted by reason in
    disclosure.json, never listed: naming a variant withheld as rare, monomorphic or not fitted
    tells that few people (or everyone) in the cohort carry an allele."""
    (folder / "disclosure.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = ["trait\treason"] + [f"{t['name']}\t{t['withheld']}" for t in traits if t["withheld"]]
    (folder / "withheld_traits.tsv").write_text("\n".join(lines) + "\n")
