"""OMOP CDM v5.4 tables (CSV, TSV or Parquet; a folder or a zip as OHDSI ships Eunomia data sets).

Tables read (names case-insensitive, ``PERSON.csv`` or ``person.parquet``): ``person`` (required),
``condition_occurrence``, ``observation``, ``measurement`` (events), ``observation_period``,
``visit_occurrence`` (record span), ``death``; ``concept`` and ``concept_relationship`` when
present, for vocabularies and mapping.

An event's code is the table's ``*_source_value`` and its vocabulary the ``vocabulary_id`` of its
``*_source_concept_id`` in ``concept`` (OMOP's ``Read`` is READ2, ``ICD10CM`` stays ICD10CM...).
When that concept is 0 or unknown (no vocabulary tables, as many hub exports), the vocabulary is
the table default: ``condition_vocabulary`` (ICD10: WHO ICD-10), ``measurement_vocabulary`` and
``observation_vocabulary`` (LOINC). With ``include_standard=True`` the standard concept
(``*_concept_id``) is added as a second event when it differs from the source concept.

Person fields: sex from ``gender_concept_id`` (8507 male, 8532 female) or ``gender_source_value``;
birth from ``birth_datetime``, else ``year_of_birth`` with ``month_of_birth``/``day_of_birth``
(1 when missing); death the earliest ``death_date``; site ``care_site_id``, else ``location_id``,
else the source's site label. The patient id used for linkage is ``person_id`` or, with
``patient_id="person_source_value"``, the source value (hub pseudonyms).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hubscan.errors import ConfigError, InputError
from phenotypes.sources.records import RawEvents, parse_date, sex_code
from phenotypes.sources.tables import find_table, read_table, require_columns, unpack_if_zip
from phenotypes.vocab.codes import spark_canonical_vocabulary

#: table -> (date column, code column, source concept, standard concept, value column, unit column)
EVENT_TABLES = {
    "condition_occurrence": ("condition_start_date", "condition_source_value", "condition_source_concept_id",
                             "condition_concept_id", None, None),
    "observation": ("observation_date", "observation_source_value", "observation_source_concept_id",
                    "observation_concept_id", "value_as_number", "unit_source_value"),
    "measurement": ("measurement_date", "measurement_source_value", "measurement_source_concept_id",
                    "measurement_concept_id", "value_as_number", "unit_source_value"),
}
PATIENT_ID_COLUMNS = ("person_id", "person_source_value")


def event_columns(table: str) -> list[str]:
    """The columns an event table of :data:`EVENT_TABLES` is read with (both engines); a table
    without a value or unit column reads the standard names, which it may lack."""
    date_col, code_col, source_concept, standard_concept, value_col, unit_col = EVENT_TABLES[table]
    return ["person_id", date_col, code_col, source_concept, standard_concept,
            value_col or "value_as_number", unit_col or "unit_source_value"]


@dataclass
class OmopOptions:
    patient_id: str = "person_id"
    condition_vocabulary: str = "ICD10"
    measurement_vocabulary: str = "LOINC"
    observation_vocabulary: str = "LOINC"
    include_standard: bool = False

    def default_vocabulary(self, table: str) -> str:
        """The vocabulary of an event table's source codes without a (known) source concept."""
        return {"condition_occurrence": self.condition_vocabulary, "measurement": self.measurement_vocabulary,
                "observation": self.observation_vocabulary}[table]

    def __post_init__(self):
        if self.patient_id not in PATIENT_ID_COLUMNS:
            raise ConfigError(f"OMOP patient id must be one of {', '.join(PATIENT_ID_COLUMNS)}, not {self.patient_id!r}")


@dataclass
class OmopTables:
    folder: Path
    paths: dict[str, Path]

    def has(self, name: str) -> bool:
        return name in self.paths


def open_omop(path: str | Path, scratch: str | Path) -> OmopTables:
    """Locate the CDM tables in a folder or zip; ``person`` is required."""
    folder = unpack_if_zip(path, scratch)
    if not folder.is_dir():
        raise InputError(f"OMOP input {path} must be a folder or a zip archive of CDM tables")
    names = ["person", "observation_period", "visit_occurrence", "death", "concept", "concept_relationship",
             *EVENT_TABLES]
    paths = {n: p for n in names if (p := find_table(folder, n)) is not None}
    if "person" not in paths:
        raise InputError(f"{path}: no OMOP person table (person.csv / PERSON.csv / person.parquet) found")
    return OmopTables(folder, paths)


def _patient_map(spark, tables: OmopTables, options: OmopOptions):
    """person_id -> patient id (only needed when the patient id is the source value)."""
    from pyspark.sql import functions as F

    t = read_table(spark, tables.paths["person"], ["person_id", "person_source_value"])
    return t.select(F.trim("person_id").alias("person_id"), F.trim("person_source_value").alias("patient_id"))


def _with_patient(frame, patients, options: OmopOptions):
    from pyspark.sql import functions as F

    if options.patient_id == "person_id":
        return frame.withColumn("patient_id", F.trim("person_id"))
    return frame.withColumn("person_id", F.trim("person_id")).join(patients, "person_id", "left")


def read_omop_persons(spark, tables: OmopTables, options: OmopOptions, site: str | None = None):
    """The person frame (``PERSON_COLUMNS``) from person, death and observation_period."""
    from pyspark.sql import functions as F

    require_columns(tables.paths["person"], ["person_id"], "the OMOP person table")
    p = read_table(spark, tables.paths["person"],
                   ["person_id", "person_source_value", "gender_concept_id", "gender_source_value", "year_of_birth",
                    "month_of_birth", "day_of_birth", "birth_datetime", "care_site_id", "location_id"])
    year = F.col("year_of_birth").cast("int")
    month = F.coalesce(F.col("month_of_birth").cast("int"), F.lit(1))
    day = F.coalesce(F.col("day_of_birth").cast("int"), F.lit(1))
    birth = F.coalesce(parse_date(F.col("birth_datetime")), F.make_date(year, month, day))
    persons = p.select(
        F.trim(F.col(options.patient_id)).alias("patient_id"), F.trim("person_id").alias("person_id"),
        F.coalesce(sex_code(F.col("gender_concept_id")), sex_code(F.col("gender_source_value"))).alias("sex"),
        birth.alias("birth_date"),
        F.coalesce(F.trim("care_site_id"), F.trim("location_id"), F.lit(site)).alias("site"))
    if tables.has("death"):
        d = read_table(spark, tables.paths["death"], ["person_id", "death_date"])
        d = d.groupBy(F.trim("person_id").alias("person_id")).agg(F.min(parse_date(F.col("death_date"))).alias("death_date"))
        persons = persons.join(d, "person_id", "left")
    else:
        persons = persons.withColumn("death_date", F.lit(None).cast("date"))
    if tables.has("observation_period"):
        o = read_table(spark, tables.paths["observation_period"],
                       ["person_id", "observation_period_start_date", "observation_period_end_date"])
        o = o.groupBy(F.trim("person_id").alias("person_id")).agg(
            F.min(parse_date(F.col("observation_period_start_date"))).alias("obs_start"),
            F.max(parse_date(F.col("observation_period_end_date"))).alias("obs_end"))
        persons = persons.join(o, "person_id", "left")
    else:
        persons = persons.withColumn("obs_start", F.lit(None).cast("date")).withColumn("obs_end", F.lit(None).cast("date"))
    return persons.select("patient_id", "sex", "birth_date", "death_date", "obs_start", "obs_end", "site")


def _concepts(spark, tables: OmopTables):
    from pyspark.sql import functions as F

    if not tables.has("concept"):
        return None
    c = read_table(spark, tables.paths["concept"], ["concept_id", "vocabulary_id", "concept_code"])
    vocab = F.coalesce(spark_canonical_vocabulary(F.col("vocabulary_id")), F.upper(F.trim("vocabulary_id")))
    return F.broadcast(c.select(F.trim("concept_id").alias("concept_id"), vocab.alias("concept_vocabulary"),
                                F.trim("concept_code").alias("concept_code")))


def read_omop_events(spark, tables: OmopTables, options: OmopOptions) -> list[RawEvents]:
    """Raw events of every event table present (one :class:`RawEvents` per table)."""
    from pyspark.sql import functions as F

    concepts = _concepts(spark, tables)
    patients = _patient_map(spark, tables, options) if options.patient_id != "person_id" else None
    out = []
    for table, (date_col, code_col, source_concept, standard_concept, value_col, unit_col) in EVENT_TABLES.items():
        if not tables.has(table):
            continue
        path = tables.paths[table]
        require_columns(path, ["person_id", date_col], f"the OMOP {table} table")
        t = read_table(spark, path, event_columns(table))
        t = _with_patient(t, patients, options)
        value = F.col(value_col) if value_col else F.lit(None).cast("string")
        unit = F.when(F.trim(F.col(unit_col)) != "", F.trim(F.col(unit_col))) if unit_col else F.lit(None).cast("string")
        default = F.lit(options.default_vocabulary(table))
        base = t.select("patient_id", F.col(date_col).alias("date_text"), F.trim(F.col(code_col)).alias("source_code"),
                        F.trim(F.col(source_concept)).alias("concept_id"),
                        F.trim(F.col(standard_concept)).alias("standard_id"),
                        value.alias("value_text"), unit.alias("unit"))
        if concepts is not None:
            base = base.join(concepts, "concept_id", "left")
            vocab_text = F.when(F.col("concept_id") != "0", F.col("concept_vocabulary")).otherwise(default)
            code = F.when((F.col("concept_id") != "0") & (F.coalesce(F.col("source_code"), F.lit("")) == ""),
                          F.col("concept_code")).otherwise(F.col("source_code"))
            vocab_text = F.coalesce(vocab_text, default)
        else:
            vocab_text, code = default, F.col("source_code")
        vocab = F.coalesce(spark_canonical_vocabulary(vocab_text), F.upper(vocab_text))
        frame = base.select("patient_id", "date_text", vocab_text.alias("vocab_text"), vocab.alias("vocabulary"),
                            F.trim(code).alias("code"), "value_text", "unit",
                            "concept_id", "standard_id")
        if options.include_standard and concepts is not None:
            std = (frame.filter((F.col("standard_id") != "0") & (F.col("standard_id") != F.coalesce("concept_id", F.lit(""))))
                   .drop("vocab_text", "vocabulary", "code")
                   .join(concepts.withColumnRenamed("concept_id", "standard_id"), "standard_id", "inner")
                   .select("patient_id", "date_text", F.col("concept_vocabulary").alias("vocab_text"),
                           F.col("concept_vocabulary").alias("vocabulary"),
                           F.trim(F.col("concept_code")).alias("code"),
                           "value_text", "unit", "concept_id", "standard_id"))
            frame = frame.unionByName(std)
        frame = frame.drop("concept_id", "standard_id")
        out.append(RawEvents(frame, path, {"date": date_col, "vocabulary": None, "code": code_col}))
    return out


def read_visit_dates(spark, tables: OmopTables, options: OmopOptions):
    """(patient_id, visit date) of visit_occurrence, for the record span; None without the table."""
    from pyspark.sql import functions as F

    if not tables.has("visit_occurrence"):
        return None
    t = read_table(spark, tables.paths["visit_occurrence"], ["person_id", "visit_start_date"])
    patients = _patient_map(spark, tables, options) if options.patient_id != "person_id" else None
    t = _with_patient(t, patients, options)
    return t.select("patient_id", parse_date(F.col("visit_start_date")).alias("date")).filter(F.col("date").isNotNull())
