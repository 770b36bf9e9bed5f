"""Hub extracts in the long form ``patient_id,date,vocabulary,code,value,unit`` (CSV/TSV or Parquet).

``value`` and ``unit`` may be absent (diagnosis-only extracts). ICD-10 may be dotted or HES-style
undotted (``E119``, ``I10X``); vocabulary names are matched through
:data:`phenotypes.vocab.codes.VOCABULARY_ALIASES` and an unknown one is an error naming the line.

A hub extract has no person table; demographics come from an optional persons file with
``patient_id`` and any of ``sex`` (M/F/male/female/1/2), ``birth_date``, ``death_date``,
``site`` (dates ISO ``YYYY-MM-DD``).
"""

from __future__ import annotations

from pathlib import Path

from hubscan.files import require_file
from phenotypes.sources.records import RawEvents, parse_date, sex_code
from phenotypes.sources.tables import read_table, require_columns
from phenotypes.vocab.codes import spark_canonical_vocabulary

HUB_COLUMNS = ("patient_id", "date", "vocabulary", "code")


def read_hub_events(spark, path: str | Path) -> RawEvents:
    """The hub long form as raw events (validated later with every other source)."""
    from pyspark.sql import functions as F

    path = require_file(path, "hub extract") if not Path(path).is_dir() else Path(path)
    require_columns(path, HUB_COLUMNS, "a hub extract")
    t = read_table(spark, path, [*HUB_COLUMNS, "value", "unit"])
    vocab = spark_canonical_vocabulary(F.col("vocabulary"))
    frame = t.select(F.col("patient_id"), F.col("date").alias("date_text"),
                     F.col("vocabulary").alias("vocab_text"), vocab.alias("vocabulary"),
                     F.trim(F.col("code")).alias("code"), F.col("value").alias("value_text"),
                     F.when(F.trim("unit") != "", F.trim("unit")).alias("unit"))
    return RawEvents(frame, path, {"date": "date", "vocabulary": "vocabulary", "code": "code"})


def read_hub_persons(spark, path: str | Path | None, site: str | None = None):
    """A persons file as the person frame (``PERSON_COLUMNS``), or None when no file is given."""
    from pyspark.sql import functions as F

    if path is None:
        return None
    path = require_file(path, "persons file")
    require_columns(path, ["patient_id"], "a persons file")
    t = read_table(spark, path, ["patient_id", "sex", "birth_date", "death_date", "site"])
    return t.select(F.trim("patient_id").alias("patient_id"), sex_code(F.col("sex")).alias("sex"),
                    parse_date(F.col("birth_date")).alias("birth_date"),
                    parse_date(F.col("death_date")).alias("death_date"),
                    F.lit(None).cast("date").alias("obs_start"), F.lit(None).cast("date").alias("obs_end"),
                    F.coalesce(F.col("site"), F.lit(site)).alias("site"))
