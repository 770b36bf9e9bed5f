"""Crosswalks to ICD: SNOMED CT, Read v2, CTV3 (or any vocabulary) codes translated to ICD codes so
that phecodes can be derived from GP or OMOP-standard records.

Two sources, combinable:

* **a user table** (CSV/TSV) with columns ``source_vocabulary, source_code, target_vocabulary,
  target_code`` (e.g. the NHS Read v2 -> ICD-10 or SNOMED -> ICD-10 maps reshaped to that form);
* **OMOP vocabularies**: ``concept`` and ``concept_relationship`` of an OMOP source. A code maps to
  its standard concept through ``Maps to``; it is translated to every ICD-9-CM/ICD-10(-CM) code
  that ``Maps to`` the same standard concept. This is many-to-many by nature (documented, as
  OHDSI's "source to source" mapping); the phecode engine counts distinct days, so a code
  translated to several ICD codes of one phecode still counts once a day.

Only events whose vocabulary is not ICD are translated; ICD events are used as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hubscan.errors import InputError
from phenotypes.sources.tables import read_table, require_columns
from phenotypes.vocab.codes import ICD_FAMILY, spark_canonical_vocabulary, spark_normalise

CROSSWALK_COLUMNS = ("source_vocabulary", "source_code", "target_vocabulary", "target_code")


@dataclass
class Crosswalk:
    """Spark frame (vocabulary, code, target_vocabulary, target_code), codes normalised."""

    frame: object

    def translate(self, events):
        """(patient_id, date, vocabulary, code) of the ICD codes the non-ICD events translate to."""
        from pyspark.sql import functions as F

        other = events.filter(~F.col("vocabulary").isin(*ICD_FAMILY)).select("patient_id", "date", "vocabulary", "code")
        return (other.join(F.broadcast(self.frame), ["vocabulary", "code"])
                .select("patient_id", "date", F.col("target_vocabulary").alias("vocabulary"),
                        F.col("target_code").alias("code")))


def read_crosswalk_table(spark, path: str | Path):
    from pyspark.sql import functions as F

    path = Path(path)
    if not path.exists():
        raise InputError(f"crosswalk table {path} does not exist")
    require_columns(path, CROSSWALK_COLUMNS, "a crosswalk table")
    t = read_table(spark, path, CROSSWALK_COLUMNS)
    sv = spark_canonical_vocabulary(F.col("source_vocabulary"))
    tv = spark_canonical_vocabulary(F.col("target_vocabulary"))
    frame = t.select(sv.alias("vocabulary"), spark_normalise(sv, F.col("source_code")).alias("code"),
                     tv.alias("target_vocabulary"), spark_normalise(tv, F.col("target_code")).alias("target_code"),
                     F.col("source_vocabulary").alias("_sv"), F.col("target_vocabulary").alias("_tv"))
    bad = frame.filter(F.col("vocabulary").isNull() | F.col("target_vocabulary").isNull()).limit(1).collect()
    if bad:
        raise InputError(f"{path}: unknown vocabulary {bad[0]['_sv'] if bad[0]['vocabulary'] is None else bad[0]['_tv']!r}")
    return frame.drop("_sv", "_tv").filter(F.col("target_vocabulary").isin(*ICD_FAMILY))


def omop_crosswalk_frame(spark, tables):
    """Source code -> ICD code pairs through shared standard concepts (``Maps to``)."""
    from pyspark.sql import functions as F

    if not (tables.has("concept") and tables.has("concept_relationship")):
        return None
    c = read_table(spark, tables.paths["concept"], ["concept_id", "vocabulary_id", "concept_code"])
    vocab = F.coalesce(spark_canonical_vocabulary(F.col("vocabulary_id")), F.upper(F.trim("vocabulary_id")))
    c = c.select(F.trim("concept_id").alias("id"), vocab.alias("vocabulary"),
                 spark_normalise(vocab, F.col("concept_code")).alias("code"))
    r = read_table(spark, tables.paths["concept_relationship"],
                   ["concept_id_1", "concept_id_2", "relationship_id", "invalid_reason"])
    r = r.filter((F.col("relationship_id") == "Maps to") & (F.coalesce(F.trim("invalid_reason"), F.lit("")) == ""))
    r = r.select(F.trim("concept_id_1").alias("id"), F.trim("concept_id_2").alias("standard"))
    mapped = c.join(r, "id")
    icd = (mapped.filter(F.col("vocabulary").isin(*ICD_FAMILY))
           .select("standard", F.col("vocabulary").alias("target_vocabulary"), F.col("code").alias("target_code")))
    src = mapped.filter(~F.col("vocabulary").isin(*ICD_FAMILY)).select("standard", "vocabulary", "code")
    return src.join(icd, "standard").select("vocabulary", "code", "target_vocabulary", "target_code").distinct()


def build_crosswalk(spark, table: str | Path | None, sources, scratch) -> Crosswalk:
    """The crosswalk from a user table and/or the vocabulary tables of OMOP ``sources``."""
    from phenotypes.sources.omop import open_omop

    frames = []
    if table is not None:
        frames.append(read_crosswalk_table(spark, table))
    for src in sources:
        if src.kind == "omop":
            f = omop_crosswalk_frame(spark, open_omop(src.path, scratch))
            if f is not None:
                frames.append(f)
    if not frames:
        raise InputError("a crosswalk was asked for but no table was given and no OMOP source has concept and "
                         "concept_relationship tables")
    frame = frames[0]
    for f in frames[1:]:
        frame = frame.unionByName(f)
    return Crosswalk(frame.distinct().cache())
