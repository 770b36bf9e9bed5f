"""The records every phenotype is derived from: one event table and one person table.

**Events** (Spark DataFrame, persisted): ``patient_id`` (string), ``date`` (date), ``vocabulary``
(canonical name, :mod:`phenotypes.vocab.codes`), ``code`` (normalised), ``value`` (double or
null: a measurement's number), ``unit`` (string or null, as written), ``source`` (the file).

**Persons** (pandas, one row per patient): ``patient_id``, ``sex`` (``M``/``F``/None),
``birth_date``, ``death_date``, ``obs_start``, ``obs_end`` (observation period, OMOP), ``site``
(care site or the label given to a source), ``first_record``/``last_record`` (earliest and latest
kept event or observation-period date), ``n_events``.

Bad rows, and what happens to them (every count is in :attr:`Records.report`):

==========================  ===============================================================
unknown vocabulary          always an :class:`~hubscan.errors.InputError` naming file and line
unparsable or missing date  error (``bad_dates="error"``, default) or excluded and counted
event before birth          excluded and counted (``implausible="exclude"``, default) or error
event after death           excluded and counted (same option)
no patient id or no code    excluded and counted
unparsable value            the value becomes null, counted
duplicated person row       error naming the table and the line
==========================  ===============================================================
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hubscan.errors import ConfigError, InputError
from phenotypes.sources.tables import locate

log = logging.getLogger(__name__)

PERSON_COLUMNS = ("patient_id", "sex", "birth_date", "death_date", "obs_start", "obs_end", "site")
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T].*)?$"


@dataclass
class RawEvents:
    """Events of one source before validation: text columns plus where they came from.

    ``frame`` has ``patient_id, date_text, vocab_text, vocabulary, code, value_text, unit`` (``code``
as written, trimmed: :func:`normalise_codes` normalises every source's codes at once);
    ``columns`` names the file's columns holding date, vocabulary and code (lower case) so that
    a bad value can be located in ``path``; None when the value does not come from the file.
    """

    frame: object
    path: Path
    columns: dict[str, str | None]


@dataclass
class QualityPolicy:
    """What to do with bad rows: ``"error"`` or ``"exclude"`` (excluded rows are counted)."""

    bad_dates: str = "error"
    implausible: str = "exclude"

    def __post_init__(self):
        for name in ("bad_dates", "implausible"):
            if getattr(self, name) not in ("error", "exclude"):
                raise ConfigError(f"{name} must be 'error' or 'exclude', not {getattr(self, name)!r}")


@dataclass
class Records:
    events: object                     # Spark DataFrame (persisted)
    persons: pd.DataFrame
    report: dict = field(default_factory=dict)

    def release(self) -> None:
        """Drop the cached events from Spark's memory."""
        self.events.unpersist()


def parse_date(col):
    """ISO ``YYYY-MM-DD`` (a time part after it is ignored) as a Spark date; anything else null."""
    from pyspark.sql import functions as F

    text = F.trim(col)
    return F.when(text.rlike(DATE_PATTERN), F.to_date(F.substring(text, 1, 10), "yyyy-MM-dd"))


def sex_code(col):
    """``M``/``F`` from OMOP gender concepts (8507/8532), M/F/male/female/1/2; else null."""
    from pyspark.sql import functions as F

    v = F.upper(F.trim(col))
    return (F.when(v.isin("8507", "M", "MALE", "1"), F.lit("M"))
            .when(v.isin("8532", "F", "FEMALE", "2"), F.lit("F")))


def validate_events(raws: list[RawEvents], persons_frame, policy: QualityPolicy, known_persons: bool):
    """Parse, check and filter the events of every source (one Spark job for all the counts).

    Returns ``(events, report)``: the persisted event frame and per-source counts.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    frames = []
    for i, raw in enumerate(raws):
        frames.append(raw.frame.withColumn("_source", F.lit(i)))
    frame = frames[0]
    for other in frames[1:]:
        frame = frame.unionByName(other)
    frame = normalise_codes(frame)
    frame = (frame.withColumn("date", parse_date(F.col("date_text")))
             .withColumn("value", F.col("value_text").cast("double")))
    people = persons_frame.select("patient_id", "birth_date", "death_date", F.lit(True).alias("_person"))
    frame = frame.join(people, "patient_id", "left")
    blank = lambda c: F.col(c).isNull() | (F.trim(F.col(c)) == "")  # noqa: E731
    # exclusion reasons are exclusive, in this order: missing id/code, bad date, before birth, after death
    missing = blank("patient_id") | blank("code")
    bad_date = ~missing & F.col("date").isNull()
    before = ~missing & (F.col("date") < F.col("birth_date"))
    after = ~missing & (F.col("date") > F.col("death_date"))
    flags = {
        "unknown_vocabulary": F.col("vocabulary").isNull(),
        "missing_patient_or_code": missing,
        "bad_date": bad_date,
        "before_birth": F.coalesce(before, F.lit(False)),
        "after_death": F.coalesce(after, F.lit(False)) & ~F.coalesce(before, F.lit(False)),
        "unparsable_value": F.col("value").isNull() & ~blank("value_text"),
        "no_person_record": F.col("_person").isNull() & ~blank("patient_id"),
    }
    frame = frame.select("*", *[F.coalesce(cond, F.lit(False)).alias(f"_{name}") for name, cond in flags.items()])
    sums = [F.sum(F.col(f"_{name}").cast("long")).alias(name) for name in flags]
    counts = frame.groupBy("_source").agg(F.count(F.lit(1)).alias("rows"), *sums).collect()
    report = {}
    for row in counts:
        raw = raws[row["_source"]]
        report[str(raw.path)] = {k: int(row[k] or 0) for k in ["rows", *flags]}
    for i, raw in enumerate(raws):
        c = report.get(str(raw.path))
        if c is None:
            report[str(raw.path)] = {k: 0 for k in ["rows", *flags]}
            continue
        if c["unknown_vocabulary"]:
            _raise_unknown_vocabulary(frame, i, raw, c["unknown_vocabulary"])
        for flag, what, hint in policy_errors(policy):
            if c[flag]:
                _raise_bad_value(frame, i, raw, f"_{flag}", "date_text", "date", c[flag], what, hint)
    keep = ~(F.col("_unknown_vocabulary") | F.col("_missing_patient_or_code") | F.col("_bad_date")
             | F.col("_before_birth") | F.col("_after_death"))
    events = (frame.filter(keep)
              .select(F.trim("patient_id").alias("patient_id"), "date", "vocabulary", "code",
                      F.when(~F.col("_unparsable_value"), F.col("value")).alias("value"), "unit",
                      F.col("_source").cast("int").alias("source_index"))
              .persist(StorageLevel.MEMORY_AND_DISK))
    for path, c in report.items():
        c["kept"] = c["rows"] - c["missing_patient_or_code"] - c["bad_date"] - c["before_birth"] - c["after_death"]
        if not known_persons:
            c["no_person_record"] = None
        excluded = c["rows"] - c["kept"]
        if excluded:
            log.warning("%s: %d of %d events excluded (missing patient/code %d, bad date %d, before birth %d, "
                        "after death %d)", Path(path).name, excluded, c["rows"], c["missing_patient_or_code"],
                        c["bad_date"], c["before_birth"], c["after_death"])
    return events, report


def policy_errors(policy: QualityPolicy) -> list[tuple[str, str, str]]:
    """(flag, what, hint) of the exclusion flags that are errors under ``policy``, in the order
    they are checked."""
    out = []
    if policy.bad_dates == "error":
        out.append(("bad_date", "unparsable or missing date (expected YYYY-MM-DD)",
                    "or pass --bad-dates exclude to drop and count such rows"))
    if policy.implausible == "error":
        hint = "or pass --implausible exclude to drop and count such rows"
        out += [("before_birth", "event before the patient's birth", hint),
                ("after_death", "event after the patient's death", hint)]
    return out


def normalise_codes(frame):
    """``frame`` with its ``code`` column (as the source wrote it) normalised by
    :func:`phenotypes.vocab.codes.normalise_code` for its ``vocabulary``: the distinct (vocabulary,
    code) pairs are collected, normalised in Python and joined back (broadcast). A hub has some
    thousands of distinct codes for millions of events, and the per-event regular expressions this
    replaces cost ~7 us an event (a 10 M-event extract: minutes)."""
    from pyspark.sql import functions as F

    from phenotypes.vocab.codes import normalise_code

    pairs = [(r[0], r[1]) for r in frame.select("vocabulary", "code").distinct().collect()]
    rows = [(v, c, normalise_code(v, c)) for v, c in pairs]
    mapping = frame.sparkSession.createDataFrame(rows, "_vocabulary string, _raw string, _code string")
    joined = frame.withColumnRenamed("code", "_raw_code").join(
        F.broadcast(mapping), F.col("vocabulary").eqNullSafe(F.col("_vocabulary"))
        & F.col("_raw_code").eqNullSafe(F.col("_raw")), "left")
    return joined.drop("_vocabulary", "_raw", "_raw_code").withColumnRenamed("_code", "code")


def _raise_unknown_vocabulary(frame, index: int, raw: RawEvents, n: int):
    from pyspark.sql import functions as F

    names = [r[0] for r in frame.filter((F.col("_source") == index) & F.col("_unknown_vocabulary"))
             .select("vocab_text").distinct().limit(5).collect()]
    raise unknown_vocabulary_error(raw, n, names)


def unknown_vocabulary_error(raw: RawEvents, n: int, names: list) -> InputError:
    """The error for ``n`` events of ``raw`` with an unknown vocabulary (``names``: a few of them)."""
    shown = ", ".join(repr(x) for x in names)
    where = ""
    col = raw.columns.get("vocabulary")
    if col and names:
        first = names[0]
        where = " (first at " + locate(raw.path, lambda r: (r.get(col) or "").strip() == (first or "").strip()) + ")"
    from phenotypes.vocab.codes import VOCABULARIES

    return InputError(f"{raw.path}: {n} event(s) with an unknown vocabulary {shown}{where}; known vocabularies: "
                      f"{', '.join(VOCABULARIES)} (and their usual spellings)")


def _raise_bad_value(frame, index: int, raw: RawEvents, flag: str, text_col: str, file_key: str, n: int,
                     what: str, hint: str):
    from pyspark.sql import functions as F

    rows = frame.filter((F.col("_source") == index) & F.col(flag)).select(text_col).limit(3).collect()
    raise bad_value_error(raw, file_key, n, [r[0] for r in rows], what, hint)


def bad_value_error(raw: RawEvents, file_key: str, n: int, values: list, what: str, hint: str) -> InputError:
    """The error for ``n`` events of ``raw`` with a bad ``file_key`` value (``values``: a few)."""
    where = ""
    col = raw.columns.get(file_key)
    if col and values:
        first = values[0]
        where = " first at " + locate(raw.path, lambda r: (r.get(col) or None) == (first or None)
                                      if first is not None else not (r.get(col) or "").strip())
    shown = ", ".join(repr(v) for v in values)
    return InputError(f"{raw.path}: {n} row(s) with {what}{where} (values {shown}); fix the file {hint}")


def finish_persons(persons_frame, events, span_dates, sites: dict[int, str | None]) -> pd.DataFrame:
    """Add each patient's record span and event count; collect to pandas (one Spark job).

    ``span_dates`` (patient_id, date, source_index) are the kept events plus any visit dates.
    Patients with events but no person row get a row with unknown sex, birth and death.
    Raises InputError for a patient id with more than one person row in one source.
    """
    from pyspark.sql import functions as F

    span = span_dates.groupBy("patient_id").agg(
        F.min("date").alias("first_event"), F.max("date").alias("last_event"),
        F.count("source_index").alias("n_events"), F.min("source_index").alias("first_source"))
    joined = persons_frame.join(span, "patient_id", "full_outer")
    return finish_persons_frame(joined.toPandas(), sites)


def finish_persons_frame(pdf: pd.DataFrame, sites: dict[int, str | None]) -> pd.DataFrame:
    """The person table from the persons (``PERSON_COLUMNS`` + ``_duplicates``) fully joined with
    the record spans (``first_event``, ``last_event``, ``n_events``, ``first_source``)."""
    duplicated = int((pdf["_duplicates"].fillna(0) > 0).sum())
    if duplicated:
        raise InputError(f"person table: {duplicated} patient id(s) with more than one person row; every patient "
                         "must have exactly one")
    pdf = pdf[pdf["patient_id"].notna()].drop(columns=["_duplicates"])
    for c in ("birth_date", "death_date", "obs_start", "obs_end", "first_event", "last_event"):
        pdf[c] = pd.to_datetime(pdf[c])
    pdf["first_record"] = pdf[["obs_start", "first_event"]].min(axis=1)
    pdf["last_record"] = pdf[["obs_end", "last_event"]].max(axis=1)
    pdf["n_events"] = pdf["n_events"].fillna(0).astype("int64")
    missing_site = pdf["site"].isna() & pdf["first_source"].notna()
    pdf.loc[missing_site, "site"] = pdf.loc[missing_site, "first_source"].map(lambda s: sites.get(int(s)))
    pdf = pdf.drop(columns=["first_event", "last_event", "first_source"])
    return pdf.sort_values("patient_id", kind="stable").reset_index(drop=True)
