"""OMOP CDM tables for the in-process engine: the rules of :mod:`phenotypes.sources.omop` (which
documents them) on polars frames; event tables are streamed, person and vocabulary tables read whole."""

from __future__ import annotations

import polars as pl

from phenotypes.columnar.records import EventSource, canonical_vocabulary, parse_date, sex_code
from phenotypes.columnar.tables import expected_rows, iter_table, read_whole
from phenotypes.sources.omop import EVENT_TABLES, OmopOptions, OmopTables, event_columns, open_omop
from phenotypes.sources.records import RawEvents
from phenotypes.sources.tables import require_columns
from phenotypes.vocab.codes import ICD_FAMILY


def _trim(name: str) -> pl.Expr:
    return pl.col(name).str.strip_chars(" ")


def _vocabulary(col: pl.Expr) -> pl.Expr:
    """Canonical name, or the name upper-cased when hubscan does not know it (OMOP's own ids)."""
    return pl.coalesce(canonical_vocabulary(col), col.str.strip_chars(" ").str.to_uppercase())


def _patients(tables: OmopTables, options: OmopOptions) -> pl.DataFrame | None:
    if options.patient_id == "person_id":
        return None
    t = read_whole(tables.paths["person"], ["person_id", "person_source_value"])
    return t.select(_trim("person_id").alias("person_id"), _trim("person_source_value").alias("patient_id"))


def _with_patient(frame: pl.DataFrame, patients: pl.DataFrame | None) -> pl.DataFrame:
    if patients is None:
        return frame.with_columns(_trim("person_id").alias("patient_id"))
    return frame.with_columns(_trim("person_id").alias("person_id")).join(patients, on="person_id", how="left",
                                                                           maintain_order="left")


def omop_persons(tables: OmopTables, options: OmopOptions, site: str | None) -> pl.DataFrame:
    require_columns(tables.paths["person"], ["person_id"], "the OMOP person table")
    p = read_whole(tables.paths["person"],
                   ["person_id", "person_source_value", "gender_concept_id", "gender_source_value", "year_of_birth",
                    "month_of_birth", "day_of_birth", "birth_datetime", "care_site_id", "location_id"])

    def part(name: str, default: int | None, width: int) -> pl.Expr:
        v = pl.col(name).str.strip_chars().cast(pl.Int32, strict=False)
        if default is not None:
            v = v.fill_null(default)
        return v.cast(pl.String).str.zfill(width)

    made = pl.concat_str([part("year_of_birth", None, 4), part("month_of_birth", 1, 2), part("day_of_birth", 1, 2)],
                         separator="-").str.to_date("%Y-%m-%d", strict=False)
    persons = p.select(
        _trim(options.patient_id).alias("patient_id"), _trim("person_id").alias("person_id"),
        pl.coalesce(sex_code(pl.col("gender_concept_id")), sex_code(pl.col("gender_source_value"))).alias("sex"),
        pl.coalesce(parse_date(pl.col("birth_datetime")), made).alias("birth_date"),
        pl.coalesce(_trim("care_site_id"), _trim("location_id"), pl.lit(site, pl.String)).alias("site"))
    if tables.has("death"):
        d = read_whole(tables.paths["death"], ["person_id", "death_date"])
        d = d.group_by(_trim("person_id").alias("person_id")).agg(parse_date(pl.col("death_date")).min()
                                                                   .alias("death_date"))
        persons = persons.join(d, on="person_id", how="left", maintain_order="left")
    else:
        persons = persons.with_columns(pl.lit(None, pl.Date).alias("death_date"))
    if tables.has("observation_period"):
        o = read_whole(tables.paths["observation_period"],
                       ["person_id", "observation_period_start_date", "observation_period_end_date"])
        o = o.group_by(_trim("person_id").alias("person_id")).agg(
            parse_date(pl.col("observation_period_start_date")).min().alias("obs_start"),
            parse_date(pl.col("observation_period_end_date")).max().alias("obs_end"))
        persons = persons.join(o, on="person_id", how="left", maintain_order="left")
    else:
        persons = persons.with_columns(pl.lit(None, pl.Date).alias("obs_start"), pl.lit(None, pl.Date).alias("obs_end"))
    return persons.select("patient_id", "sex", "birth_date", "death_date", "obs_start", "obs_end", "site")


def _concepts(tables: OmopTables) -> pl.DataFrame | None:
    if not tables.has("concept"):
        return None
    c = read_whole(tables.paths["concept"], ["concept_id", "vocabulary_id", "concept_code"])
    return c.select(_trim("concept_id").alias("concept_id"), _vocabulary(pl.col("vocabulary_id")).alias("concept_vocabulary"),
                    _trim("concept_code").alias("concept_code"))


def omop_events(tables: OmopTables, options: OmopOptions, site: str | None) -> list[EventSource]:
    concepts = _concepts(tables)
    patients = _patients(tables, options)
    out = []
    for table, (date_col, code_col, source_concept, standard_concept, value_col, unit_col) in EVENT_TABLES.items():
        if not tables.has(table):
            continue
        path = tables.paths[table]
        require_columns(path, ["person_id", date_col], f"the OMOP {table} table")
        columns = event_columns(table)

        def batches(path=path, columns=columns, table=table, date_col=date_col, code_col=code_col,
                    source_concept=source_concept, standard_concept=standard_concept, value_col=value_col,
                    unit_col=unit_col):
            default = pl.lit(options.default_vocabulary(table), pl.String)
            for t in iter_table(path, columns):
                t = _with_patient(t, patients)
                value = pl.col(value_col) if value_col else pl.lit(None, pl.String)
                unit = (pl.when(_trim(unit_col) != "").then(_trim(unit_col)) if unit_col
                        else pl.lit(None, pl.String))
                base = t.select("patient_id", pl.col(date_col).alias("date_text"),
                                _trim(code_col).alias("source_code"), _trim(source_concept).alias("concept_id"),
                                _trim(standard_concept).alias("standard_id"), value.alias("value_text"),
                                unit.alias("unit"))
                if concepts is not None:
                    base = base.join(concepts, on="concept_id", how="left", maintain_order="left")
                    known = pl.col("concept_id").is_not_null() & (pl.col("concept_id") != "0")
                    vocab_text = pl.coalesce(pl.when(known).then(pl.col("concept_vocabulary")).otherwise(default),
                                             default)
                    code = (pl.when(known & (pl.col("source_code").fill_null("") == ""))
                            .then(pl.col("concept_code")).otherwise(pl.col("source_code")))
                else:
                    vocab_text, code = default, pl.col("source_code")
                frame = base.select("patient_id", "date_text", vocab_text.alias("vocab_text"),
                                    _vocabulary(vocab_text).alias("vocabulary"),
                                    code.str.strip_chars(" ").alias("code"), "value_text", "unit",
                                    "concept_id", "standard_id")
                if options.include_standard and concepts is not None:
                    std = (frame.filter((pl.col("standard_id") != "0")
                                        & (pl.col("standard_id") != pl.col("concept_id").fill_null("")))
                           .drop("vocab_text", "vocabulary", "code")
                           .join(concepts.rename({"concept_id": "standard_id"}), on="standard_id", how="inner",
                                 maintain_order="left")
                           .select("patient_id", "date_text", pl.col("concept_vocabulary").alias("vocab_text"),
                                   pl.col("concept_vocabulary").alias("vocabulary"),
                                   pl.col("concept_code").str.strip_chars(" ").alias("code"),
                                   "value_text", "unit", "concept_id", "standard_id"))
                    frame = pl.concat([frame, std])
                yield frame.drop("concept_id", "standard_id")

        raw = RawEvents(None, path, {"date": date_col, "vocabulary": None, "code": code_col})
        out.append(EventSource(raw, batches, expected_rows(path), site))
    return out


def omop_visits(tables: OmopTables, options: OmopOptions) -> pl.DataFrame | None:
    """(patient_id, day) of visit_occurrence, for the record span; None without the table."""
    if not tables.has("visit_occurrence"):
        return None
    t = read_whole(tables.paths["visit_occurrence"], ["person_id", "visit_start_date"])
    t = _with_patient(t, _patients(tables, options))
    return (t.select("patient_id", parse_date(pl.col("visit_start_date")).cast(pl.Int32).alias("day"))
            .filter(pl.col("day").is_not_null()))


def omop_sources(src, scratch):
    """(event sources, persons, visits) of one OMOP source."""
    tables = open_omop(src.path, scratch)
    return (omop_events(tables, src.omop, src.site), omop_persons(tables, src.omop, src.site),
            omop_visits(tables, src.omop))


def omop_crosswalk_frame(tables: OmopTables) -> pl.DataFrame | None:
    """Source code -> ICD code pairs through shared standard concepts (``Maps to``)."""
    from phenotypes.columnar.crosswalk import normalise

    if not (tables.has("concept") and tables.has("concept_relationship")):
        return None
    c = read_whole(tables.paths["concept"], ["concept_id", "vocabulary_id", "concept_code"])
    c = c.select(_trim("concept_id").alias("id"), _vocabulary(pl.col("vocabulary_id")).alias("vocabulary"),
                 pl.col("concept_code").str.strip_chars(" ").alias("raw"))
    r = read_whole(tables.paths["concept_relationship"],
                   ["concept_id_1", "concept_id_2", "relationship_id", "invalid_reason"])
    r = r.filter((pl.col("relationship_id") == "Maps to") & (_trim("invalid_reason").fill_null("") == ""))
    r = r.select(_trim("concept_id_1").alias("id"), _trim("concept_id_2").alias("standard"))
    mapped = c.join(r, on="id")
    mapped = mapped.with_columns(normalise(pl.col("vocabulary"), pl.col("raw")).alias("code"))
    icd = (mapped.filter(pl.col("vocabulary").is_in(list(ICD_FAMILY)))
           .select("standard", pl.col("vocabulary").alias("target_vocabulary"), pl.col("code").alias("target_code")))
    src = mapped.filter(~pl.col("vocabulary").is_in(list(ICD_FAMILY))).select("standard", "vocabulary", "code")
    return src.join(icd, on="standard").select("vocabulary", "code", "target_vocabulary", "target_code").unique()
