"""Records read in one streaming pass per source (polars): the in-process twin of
:func:`phenotypes.sources.load_records`, with the same validation rules, counts, errors and person
table, keeping only compact events of linked patients (:mod:`phenotypes.columnar.store`).

Linked patients are known before the pass (the linkage table is read first), so events of patients
without a genotype sample are counted and then dropped batch by batch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from hubscan.errors import ConfigError
from hubscan.progress import Progress
from phenotypes.columnar.codes import CodeTable
from phenotypes.columnar.store import EventStore
from phenotypes.columnar.tables import expected_rows, iter_table, read_whole
from phenotypes.sources.records import (DATE_PATTERN, QualityPolicy, RawEvents, bad_value_error, finish_persons_frame,
                                        policy_errors, unknown_vocabulary_error)
from phenotypes.vocab.codes import VOCABULARY_ALIASES

log = logging.getLogger(__name__)

FLAGS = ("unknown_vocabulary", "missing_patient_or_code", "bad_date", "before_birth", "after_death",
         "unparsable_value", "no_person_record")
SPAN_SCHEMA = {"patient_id": pl.String, "first_event": pl.Int32, "last_event": pl.Int32, "n_events": pl.Int64,
               "first_source": pl.Int32}
MEASUREMENT_SCHEMA = {"row": pl.Int32, "code_id": pl.Int32, "day": pl.Int32, "value": pl.Float64, "unit": pl.String}


@dataclass
class ColumnarRecords:
    """Validated records: the person table (as :class:`~phenotypes.sources.records.Records`), the
    code table, the compact events of linked patients and the measurements quantitative traits need."""

    persons: pd.DataFrame
    codes: CodeTable
    store: EventStore
    measurements: pl.DataFrame
    report: dict = field(default_factory=dict)

    def release(self) -> None:
        self.store.release()


# ------------------------------------------------------------------ column rules (as the Spark engine)
def parse_date(col: pl.Expr) -> pl.Expr:
    """ISO ``YYYY-MM-DD`` (a time part after it ignored) as a date; anything else null."""
    text = col.str.strip_chars(" ")
    return pl.when(text.str.contains(DATE_PATTERN)).then(text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))


def sex_code(col: pl.Expr) -> pl.Expr:
    v = col.str.strip_chars(" ").str.to_uppercase()
    return (pl.when(v.is_in(["8507", "M", "MALE", "1"])).then(pl.lit("M"))
            .when(v.is_in(["8532", "F", "FEMALE", "2"])).then(pl.lit("F")))


def canonical_vocabulary(col: pl.Expr) -> pl.Expr:
    return col.str.strip_chars(" ").str.to_uppercase().replace_strict(VOCABULARY_ALIASES, default=None,
                                                                       return_dtype=pl.String)


def _blank(col: pl.Expr) -> pl.Expr:
    return col.is_null() | (col.str.strip_chars(" ") == "")


# ------------------------------------------------------------------ sources
@dataclass
class EventSource:
    """One event table: ``batches()`` yields frames with ``patient_id, date_text, vocab_text,
    vocabulary, code, value_text, unit``; ``raw`` locates bad values in the file."""

    raw: RawEvents
    batches: object
    expected: int
    site: str | None


def hub_source(path: Path, site: str | None) -> EventSource:
    from hubscan.files import require_file
    from phenotypes.sources.hub import HUB_COLUMNS
    from phenotypes.sources.tables import require_columns

    path = require_file(path, "hub extract") if not Path(path).is_dir() else Path(path)
    require_columns(path, HUB_COLUMNS, "a hub extract")

    def batches():
        for t in iter_table(path, [*HUB_COLUMNS, "value", "unit"]):
            unit = pl.col("unit").str.strip_chars(" ")
            yield t.select(pl.col("patient_id"), pl.col("date").alias("date_text"),
                           pl.col("vocabulary").alias("vocab_text"),
                           canonical_vocabulary(pl.col("vocabulary")).alias("vocabulary"),
                           pl.col("code").str.strip_chars(" ").alias("code"), pl.col("value").alias("value_text"),
                           pl.when(unit != "").then(unit).alias("unit"))

    raw = RawEvents(None, path, {"date": "date", "vocabulary": "vocabulary", "code": "code"})
    return EventSource(raw, batches, expected_rows(path), site)


def hub_persons(path: Path | None, site: str | None) -> pl.DataFrame | None:
    from hubscan.files import require_file
    from phenotypes.sources.tables import require_columns

    if path is None:
        return None
    path = require_file(path, "persons file")
    require_columns(path, ["patient_id"], "a persons file")
    t = read_whole(path, ["patient_id", "sex", "birth_date", "death_date", "site"])
    return t.select(pl.col("patient_id").str.strip_chars(" "), sex_code(pl.col("sex")).alias("sex"),
                    parse_date(pl.col("birth_date")).alias("birth_date"),
                    parse_date(pl.col("death_date")).alias("death_date"),
                    pl.lit(None, pl.Date).alias("obs_start"), pl.lit(None, pl.Date).alias("obs_end"),
                    pl.coalesce(pl.col("site"), pl.lit(site, pl.String)).alias("site"))


def combine_persons(frames: list[tuple[int, pl.DataFrame]]) -> pl.DataFrame:
    """One row per patient: the first source's fields win; ``_duplicates`` counts extra rows of
    one patient within a source."""
    if not frames:
        return pl.DataFrame(schema={"patient_id": pl.String, "sex": pl.String, "birth_date": pl.Date,
                                    "death_date": pl.Date, "obs_start": pl.Date, "obs_end": pl.Date,
                                    "site": pl.String, "_duplicates": pl.Int64})
    allp = pl.concat([f.with_columns(pl.lit(order, pl.Int32).alias("_order")) for order, f in frames],
                     how="vertical_relaxed")
    return (allp.sort("_order", maintain_order=True).group_by("patient_id", maintain_order=True).agg(
        *[pl.col(c).first() for c in ("sex", "birth_date", "death_date", "site")],
        pl.col("obs_start").min(), pl.col("obs_end").max(),
        (pl.len() - pl.col("_order").n_unique()).cast(pl.Int64).alias("_duplicates")))


# ------------------------------------------------------------------ the pass
class _SourcePass:
    """Counts, first bad values and kept events of one source, batch by batch."""

    def __init__(self, index: int, source: EventSource):
        self.index, self.source = index, source
        self.counts = dict.fromkeys(("rows", *FLAGS), 0)
        self.samples: dict[str, list] = {f: [] for f in ("unknown_vocabulary", "bad_date", "before_birth",
                                                          "after_death")}


def _first_values(frame: pl.DataFrame, flag: str, column: str, have: list, limit: int, distinct: bool) -> None:
    if len(have) >= limit:
        return
    vals = frame.filter(pl.col(flag))[column]
    if distinct:
        vals = vals.unique(maintain_order=True)
    for v in vals.head(limit * 2).to_list():
        if len(have) >= limit:
            break
        if not distinct or v not in have:
            have.append(v)


def load_records_columnar(sources, scratch: str | Path, policy: QualityPolicy | None, candidate_rows: pd.DataFrame,
                          n_rows: int, measurement_codes: set[tuple[str, str]] = frozenset()) -> ColumnarRecords:
    """Read, check and combine every source in one pass each.

    candidate_rows: (patient_id, row) of the patients linked to a genotype sample (their events are
    kept, as ``(row, code id, day)``); measurement_codes: (vocabulary, code) pairs whose events of
    linked patients are kept with value and unit.
    """
    from phenotypes.sources import persons_report

    if not sources:
        raise ConfigError("no record source given (an OMOP folder/zip or a hub extract)")
    policy = policy or QualityPolicy()
    event_sources, person_frames, visit_frames = [], [], []
    for order, src in enumerate(sources):
        if src.kind == "omop":
            from phenotypes.columnar.omop import omop_sources

            new, persons, visits = omop_sources(src, scratch)
            person_frames.append((order, persons))
            if visits is not None:
                visit_frames.append(visits)
        else:
            new = [hub_source(src.path, src.site)]
            persons = hub_persons(src.persons, src.site)
            if persons is not None:
                person_frames.append((order, persons))
        event_sources.extend(new)
    known_persons = bool(person_frames)
    persons = combine_persons(person_frames)
    lookup = (persons.select("patient_id", pl.col("birth_date").cast(pl.Int32).alias("_birth"),
                             pl.col("death_date").cast(pl.Int32).alias("_death"), pl.lit(True).alias("_person"))
              .join(pl.from_pandas(candidate_rows[["patient_id", "row"]]).with_columns(pl.col("row").cast(pl.Int32)),
                    on="patient_id", how="full", coalesce=True))
    codes = CodeTable()
    store = EventStore(n_rows, sum(s.expected for s in event_sources), Path(scratch) / "events")
    measurement_codes = set(measurement_codes)
    measurements, spans = [], []
    passes = []
    progress = Progress("events", total=sum(s.expected for s in event_sources))
    for i, source in enumerate(event_sources):
        sp = _SourcePass(i, source)
        passes.append(sp)
        for batch in source.batches():
            _one_batch(batch, sp, codes, lookup, store, measurement_codes, measurements, spans)
            progress.advance(len(batch))
            if len(spans) > 16:
                spans[:] = [_combine_spans(spans)]
        c = sp.counts
        if c["unknown_vocabulary"]:
            raise unknown_vocabulary_error(source.raw, c["unknown_vocabulary"], sp.samples["unknown_vocabulary"])
        for flag, what, hint in policy_errors(policy):
            if c[flag]:
                raise bad_value_error(source.raw, "date", c[flag], sp.samples[flag], what, hint)
    progress.finish()
    report = {}
    for sp in passes:
        c = dict(sp.counts)
        c["kept"] = c["rows"] - c["missing_patient_or_code"] - c["bad_date"] - c["before_birth"] - c["after_death"]
        if not known_persons:
            c["no_person_record"] = None
        excluded = c["rows"] - c["kept"]
        path = str(sp.source.raw.path)
        if excluded:
            log.warning("%s: %d of %d events excluded (missing patient/code %d, bad date %d, before birth %d, "
                        "after death %d)", Path(path).name, excluded, c["rows"], c["missing_patient_or_code"],
                        c["bad_date"], c["before_birth"], c["after_death"])
        report[path] = c
    for v in visit_frames:
        spans.append(v.group_by("patient_id").agg(
            pl.col("day").min().alias("first_event"), pl.col("day").max().alias("last_event"),
            pl.lit(0, pl.Int64).alias("n_events"), pl.lit(None, pl.Int32).alias("first_source")))
    span = _combine_spans(spans)
    joined = persons.join(span, on="patient_id", how="full", coalesce=True)
    date_cols = ["birth_date", "death_date", "obs_start", "obs_end", "first_event", "last_event"]
    pdf = joined.with_columns(*[pl.col(c).cast(pl.Date).cast(pl.Datetime("ns")) for c in date_cols]).to_pandas()
    pdf = pdf.astype({c: object for c in ("patient_id", "sex", "site")})
    sites = {i: s.site for i, s in enumerate(event_sources)}
    persons_pdf = finish_persons_frame(pdf, sites)
    report["persons"] = persons_report(persons_pdf)
    meas = pl.concat(measurements) if measurements else pl.DataFrame(schema=MEASUREMENT_SCHEMA)
    log.info("records: %d events of linked patients kept in %d bucket(s)", store.n_events, store.n_buckets)
    return ColumnarRecords(persons_pdf, codes, store, meas, report)


def _combine_spans(spans: list[pl.DataFrame]) -> pl.DataFrame:
    if not spans:
        return pl.DataFrame(schema=SPAN_SCHEMA)
    allspans = pl.concat(spans, how="vertical_relaxed") if len(spans) > 1 else spans[0]
    return allspans.group_by("patient_id").agg(
        pl.col("first_event").min(), pl.col("last_event").max(), pl.col("n_events").sum(),
        pl.col("first_source").min())


def _one_batch(b: pl.DataFrame, sp: _SourcePass, codes: CodeTable, lookup: pl.DataFrame, store: EventStore,
               measurement_codes: set, measurements: list, spans: list) -> None:
    b = b.with_columns(codes.ids(b).alias("code_id"),
                       pl.col("patient_id").str.strip_chars(" ").alias("pid"),
                       parse_date(pl.col("date_text")).cast(pl.Int32).alias("day"),
                       pl.col("value_text").str.strip_chars().cast(pl.Float64, strict=False).alias("value"))
    b = b.join(lookup, left_on="pid", right_on="patient_id", how="left", maintain_order="left")
    raw_id = pl.col("patient_id") == pl.col("pid")   # persons are matched on the id as written
    birth = pl.when(raw_id).then(pl.col("_birth"))
    death = pl.when(raw_id).then(pl.col("_death"))
    missing = _blank(pl.col("patient_id")) | pl.col("code_id").is_null()
    before = (~missing & (pl.col("day") < birth)).fill_null(False)
    flags = {
        "unknown_vocabulary": pl.col("vocabulary").is_null(),
        "missing_patient_or_code": missing,
        "bad_date": (~missing & pl.col("day").is_null()),
        "before_birth": before,
        "after_death": ((~missing & (pl.col("day") > death)).fill_null(False) & ~before),
        "unparsable_value": pl.col("value").is_null() & ~_blank(pl.col("value_text")),
        "no_person_record": pl.when(raw_id).then(pl.col("_person")).is_null() & ~_blank(pl.col("patient_id")),
    }
    b = b.with_columns(*[cond.fill_null(False).alias(f"_{name}") for name, cond in flags.items()])
    sums = b.select(pl.len().alias("rows"), *[pl.col(f"_{name}").sum().alias(name) for name in flags]).row(0, named=True)
    for k, v in sums.items():
        sp.counts[k] += int(v or 0)
    if sums["unknown_vocabulary"]:
        _first_values(b, "_unknown_vocabulary", "vocab_text", sp.samples["unknown_vocabulary"], 5, True)
    for flag in ("bad_date", "before_birth", "after_death"):
        if sums[flag]:
            _first_values(b, f"_{flag}", "date_text", sp.samples[flag], 3, False)
    keep = ~(pl.col("_unknown_vocabulary") | pl.col("_missing_patient_or_code") | pl.col("_bad_date")
             | pl.col("_before_birth") | pl.col("_after_death"))
    k = b.filter(keep).select("pid", "day", "code_id", "row", "value", "unit")
    if not len(k):
        return
    spans.append(k.group_by("pid").agg(
        pl.col("day").min().alias("first_event"), pl.col("day").max().alias("last_event"),
        pl.len().cast(pl.Int64).alias("n_events"), pl.lit(sp.index, pl.Int32).alias("first_source"))
        .rename({"pid": "patient_id"}))
    ids = k["code_id"].to_numpy()
    codes.counts += np.bincount(ids, minlength=len(codes.counts)).astype(np.int64)
    linked = k.filter(pl.col("row").is_not_null())
    if len(linked):
        store.append(linked["row"].to_numpy(), linked["code_id"].to_numpy(), linked["day"].to_numpy())
        if measurement_codes:
            wanted = [i for i in (codes.id_of(v, c) for v, c in measurement_codes) if i is not None]
            if wanted:
                m = linked.filter(pl.col("code_id").is_in(wanted)).select(list(MEASUREMENT_SCHEMA))
                if len(m):
                    measurements.append(m.cast(MEASUREMENT_SCHEMA))
