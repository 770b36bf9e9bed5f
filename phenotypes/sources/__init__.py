"""Record sources: OMOP CDM tables and hub long-form extracts, read into one event table and one
person table (:class:`~phenotypes.sources.records.Records`).

>>> records = load_records(spark, [Source("omop", "Synthea27Nj_5.4.zip"),
...                                Source("hub", "hub_events.csv", persons="persons.csv", site="hubA")],
...                        scratch="run/_work")
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from hubscan.errors import ConfigError
from phenotypes.sources.omop import OmopOptions
from phenotypes.sources.records import QualityPolicy, Records

log = logging.getLogger(__name__)

SOURCE_KINDS = ("omop", "hub")


@dataclass
class Source:
    """One input: ``kind`` "omop" (folder or zip of CDM tables) or "hub" (long-form extract).

    ``site`` labels every patient first seen in this source (used for site indicators when the
    records carry no care site); ``persons`` is a hub extract's optional demographics file.
    """

    kind: str
    path: str | Path
    site: str | None = None
    persons: str | Path | None = None
    omop: OmopOptions = field(default_factory=OmopOptions)

    def __post_init__(self):
        if self.kind not in SOURCE_KINDS:
            raise ConfigError(f"source kind must be one of {', '.join(SOURCE_KINDS)}, not {self.kind!r}")
        self.path = Path(self.path)


def load_records(spark, sources: list[Source], scratch: str | Path,
                 policy: QualityPolicy | None = None) -> Records:
    """Read, check and combine every source (three Spark jobs plus reading).

    Patient ids must be in one namespace across sources (the one the linkage table uses).
    """
    from pyspark.sql import functions as F

    from phenotypes.sources.hub import read_hub_events, read_hub_persons
    from phenotypes.sources.omop import open_omop, read_omop_events, read_omop_persons, read_visit_dates
    from phenotypes.sources.records import finish_persons, validate_events

    if not sources:
        raise ConfigError("no record source given (an OMOP folder/zip or a hub extract)")
    policy = policy or QualityPolicy()
    raws, person_frames, visit_frames, sites = [], [], [], {}
    for order, src in enumerate(sources):
        if src.kind == "omop":
            tables = open_omop(src.path, scratch)
            new = read_omop_events(spark, tables, src.omop)
            person_frames.append((order, read_omop_persons(spark, tables, src.omop, src.site)))
            visits = read_visit_dates(spark, tables, src.omop)
            if visits is not None:
                visit_frames.append(visits)
        else:
            new = [read_hub_events(spark, src.path)]
            persons = read_hub_persons(spark, src.persons, src.site)
            if persons is not None:
                person_frames.append((order, persons))
        for raw in new:
            sites[len(raws)] = src.site
            raws.append(raw)
    known_persons = bool(person_frames)
    if person_frames:
        persons = None
        for order, frame in person_frames:
            frame = frame.withColumn("_order", F.lit(order))
            persons = frame if persons is None else persons.unionByName(frame)
        # A patient in several person sources: the first source's fields win (deterministic).
        persons = persons.groupBy("patient_id").agg(
            *[F.min(F.struct(F.col("_order"), F.col(c))).getField(c).alias(c)
              for c in ("sex", "birth_date", "death_date", "site")],
            F.min("obs_start").alias("obs_start"), F.max("obs_end").alias("obs_end"),
            (F.count(F.lit(1)) - F.countDistinct("_order")).alias("_duplicates"))
    else:
        schema = "patient_id string, sex string, birth_date date, death_date date, obs_start date, obs_end date, site string, _duplicates long"
        persons = spark.createDataFrame([], schema)
    events, report = validate_events(raws, persons, policy, known_persons)
    span_events = events.select("patient_id", "date", "source_index")
    for v in visit_frames:
        span_events = span_events.unionByName(v.withColumn("source_index", F.lit(None).cast("int")))
    persons_pdf = finish_persons(persons, events, span_events, sites)
    report["persons"] = persons_report(persons_pdf)
    return Records(events, persons_pdf, report)


def persons_report(persons) -> dict:
    """The ``persons`` counts of the records report (and a log line)."""
    out = {"patients": int(len(persons)), "with_events": int((persons["n_events"] > 0).sum()),
           "sex_unknown": int(persons["sex"].isna().sum()), "birth_unknown": int(persons["birth_date"].isna().sum())}
    log.info("records: %d patients, %d with events", len(persons), out["with_events"])
    return out
