"""Evaluate YAML binary definitions on the records (Spark), then the status rule (NumPy core).

Rule for a binary definition (per linked sample):

1. **excluded** (missing): any event matching an ``exclude`` rule, at any date; or the include
   codes on 1..min_days-1 distinct days;
2. **excluded by sex**: ``sex:`` given and the sample is of the other or of unknown sex;
3. **case**: include codes on at least ``min_days`` distinct days, counting only events inside the
   ``dates`` window and the ``age`` window (age at the event in years = days since birth /
   365.25; an unknown birth date never satisfies an age window);
4. **missing**: not linked to a patient of the records; **control**: everyone else.

Exclusion overrides case (a person with a type 1 diabetes code is not a type 2 case), sex
overrides both. The first-occurrence date is the earliest qualifying include event.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from phenotypes.definitions.spec import BinaryDefinition
from phenotypes.matrix.io import BINARY
from phenotypes.traits import DerivedTraits, binary_counts

log = logging.getLogger(__name__)
INCLUDE, EXCLUDE = 0, 1
DAYS_PER_YEAR = 365.25


def match_codes(codes: pd.DataFrame, definitions: list[BinaryDefinition]) -> pd.DataFrame:
    """Which (trait, include/exclude) each distinct (vocabulary, code) matches.

    Returns (vocabulary, code, trait, kind) rows; ``trait`` is the index in ``definitions``.
    """
    exact, prefix = {}, {}
    for t, d in enumerate(definitions):
        for kind, rules in ((INCLUDE, d.include), (EXCLUDE, d.exclude)):
            for r in rules:
                table = exact if r.match == "exact" else prefix
                table.setdefault((r.vocabulary, r.code), set()).add((t, kind))
    max_len = max((len(c) for _, c in prefix), default=0)
    out = []
    for vocab, code in codes[["vocabulary", "code"]].itertuples(index=False):
        hits = set(exact.get((vocab, code), ()))
        for n in range(1, min(len(code), max_len) + 1):
            hits |= prefix.get((vocab, code[:n]), set())
        out.extend((vocab, code, t, kind) for t, kind in hits)
    return pd.DataFrame(out, columns=["vocabulary", "code", "trait", "kind"]).sort_values(
        ["vocabulary", "code", "trait", "kind"], kind="stable").reset_index(drop=True)


def definition_status(include_days: np.ndarray, excluded_hit: np.ndarray, in_records: np.ndarray, sex: np.ndarray,
                      min_days: int, sex_only: int = 0):
    """(values, counts) of one binary definition; arrays are per sample.

    include_days: distinct qualifying days; excluded_hit: an exclusion code ever; sex: 0/1/2
    (unknown/male/female); sex_only: 0 both, 1 male only, 2 female only.
    """
    values = np.where(include_days >= min_days, 1.0, 0.0)
    excluded = excluded_hit | ((include_days > 0) & (include_days < min_days))
    sex_out = (sex != sex_only) if sex_only else np.zeros(len(values), dtype=bool)
    missing = ~in_records
    excluded = excluded & ~sex_out & ~missing
    sex_out = sex_out & ~missing
    values[excluded | sex_out | missing] = np.nan
    return values, binary_counts(values, excluded, sex_out, missing)


def evaluate_definitions(spark, events, definitions: list[BinaryDefinition], patient_rows: pd.DataFrame,
                         samples: pd.DataFrame, crosswalk=None) -> DerivedTraits:
    """Every binary definition for the genotype samples (two Spark jobs)."""
    from pyspark.sql import functions as F

    vocabs = sorted({r.vocabulary for d in definitions for r in (*d.include, *d.exclude)})
    codes = events.filter(F.col("vocabulary").isin(*vocabs)).select("vocabulary", "code").distinct().toPandas()
    matches = match_codes(codes.sort_values(["vocabulary", "code"], kind="stable"), definitions)
    if not matches.empty and not patient_rows.empty:
        windows = pd.DataFrame({
            "trait": np.arange(len(definitions), dtype=np.int32),
            "date_lo": [d.dates[0] for d in definitions], "date_hi": [d.dates[1] for d in definitions],
            "age_lo": [d.age[0] for d in definitions], "age_hi": [d.age[1] for d in definitions]})
        m = matches.merge(windows, on="trait")
        m_df = spark.createDataFrame(m.astype({"trait": "int32", "kind": "int32"}).astype(object).where(m.notna(), None),
                                     "vocabulary string, code string, trait int, kind int, date_lo date, date_hi date, "
                                     "age_lo double, age_hi double")
        birth = samples.loc[patient_rows["row"].to_numpy(), "birth_date"]
        rows = patient_rows.assign(birth_date=pd.to_datetime(birth.to_numpy()).date)
        rows = rows.astype(object).where(rows.notna(), None)
        r_df = spark.createDataFrame(rows[["patient_id", "row", "birth_date"]], "patient_id string, row int, birth_date date")
        age = F.datediff(F.col("date"), F.col("birth_date")) / DAYS_PER_YEAR
        in_window = ((F.col("date_lo").isNull() | (F.col("date") >= F.col("date_lo")))
                     & (F.col("date_hi").isNull() | (F.col("date") <= F.col("date_hi")))
                     & (F.col("age_lo").isNull() | (age >= F.col("age_lo")))
                     & (F.col("age_hi").isNull() | (age < F.col("age_hi"))))
        hits = (events.join(F.broadcast(m_df), ["vocabulary", "code"]).join(F.broadcast(r_df), "patient_id")
                .filter((F.col("kind") == EXCLUDE) | F.coalesce(in_window, F.lit(False)))
                .groupBy("row", "trait", "kind")
                .agg(F.countDistinct("date").alias("days"),
                     F.datediff(F.min("date"), F.lit("1970-01-01")).alias("first"))).toPandas()
    else:
        hits = pd.DataFrame(columns=["row", "trait", "kind", "days", "first"])
    return definition_traits(hits, matches, definitions, samples)


def definition_traits(hits: pd.DataFrame, matches: pd.DataFrame, definitions: list[BinaryDefinition],
                      samples: pd.DataFrame) -> DerivedTraits:
    """The traits from ``hits`` (row, trait, kind, days: distinct days, first: first day since
    1970-01-01) of the linked samples: the status rule of the module docstring."""
    n = len(samples)
    include_days = np.zeros((n, len(definitions)), dtype=np.int64)
    excluded_hit = np.zeros((n, len(definitions)), dtype=bool)
    first = np.full((n, len(definitions)), np.iinfo(np.int64).max)
    inc = hits[hits["kind"] == INCLUDE]
    exc = hits[hits["kind"] == EXCLUDE]
    include_days[inc["row"].to_numpy(np.int64), inc["trait"].to_numpy(np.int64)] = inc["days"].to_numpy(np.int64)
    first[inc["row"].to_numpy(np.int64), inc["trait"].to_numpy(np.int64)] = inc["first"].to_numpy(np.int64)
    excluded_hit[exc["row"].to_numpy(np.int64), exc["trait"].to_numpy(np.int64)] = True
    in_records = samples["in_records"].to_numpy(bool)
    sex = samples["sex_code"].to_numpy(np.int8)
    values = np.empty((n, len(definitions)))
    counts, first_rows = [], []
    for t, d in enumerate(definitions):
        values[:, t], c = definition_status(include_days[:, t], excluded_hit[:, t], in_records, sex, d.min_days,
                                            {"M": 1, "F": 2}.get(d.sex, 0))
        counts.append(c)
        cases = np.flatnonzero(values[:, t] == 1.0)
        first_rows.append(pd.DataFrame({"row": cases, "trait": d.name, "date": first[cases, t]}))
    report = {"codes_matched": int(matches[["vocabulary", "code"]].drop_duplicates().shape[0]),
              "traits": {d.name: c for d, c in zip(definitions, counts)}}
    return DerivedTraits([d.name for d in definitions], [BINARY] * len(definitions), "custom",
                         [d.summary() for d in definitions], values, counts,
                         pd.concat(first_rows, ignore_index=True), report)
