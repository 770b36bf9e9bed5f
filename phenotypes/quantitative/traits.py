"""Quantitative traits from measurements: select (Spark), harmonise units, drop implausible values,
aggregate per person and optionally inverse-normal transform (driver, NumPy).

Per trait, every measurement of the linked samples matching the trait's codes is counted in
exactly one of: ``outside_window`` (dates/age), ``no_value``, ``missing_unit`` (no unit and
``missing_unit: exclude``), ``unit_unconvertible`` (no route to the target unit in the units
table), ``implausible`` (outside ``limits`` after conversion, or not finite), ``kept``. The counts
are in the report; samples whose measurements were all dropped are ``excluded`` in the catalogue.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from phenotypes.definitions.spec import Definitions
from phenotypes.matrix.io import QUANTITATIVE
from phenotypes.quantitative.aggregate import aggregate, inverse_normal
from phenotypes.quantitative.units import read_units
from phenotypes.traits import DerivedTraits

log = logging.getLogger(__name__)
DAYS_PER_YEAR = 365.25


def measurements_for(spark, events, definitions, patient_rows: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    """(row, trait, code, day, value, unit, age) of every matching measurement of linked samples."""
    from pyspark.sql import functions as F

    pairs = pd.DataFrame([(d.vocabulary, c, t) for t, d in enumerate(definitions) for c in d.codes],
                         columns=["vocabulary", "code", "trait"]).astype({"trait": "int32"})
    if pairs.empty or patient_rows.empty:
        return pd.DataFrame(columns=["row", "trait", "code", "day", "value", "unit", "age"])
    p_df = spark.createDataFrame(pairs, "vocabulary string, code string, trait int")
    birth = samples.loc[patient_rows["row"].to_numpy(), "birth_date"]
    rows = patient_rows.assign(birth_date=pd.to_datetime(birth.to_numpy()).date)
    rows = rows.astype(object).where(rows.notna(), None)
    r_df = spark.createDataFrame(rows[["patient_id", "row", "birth_date"]], "patient_id string, row int, birth_date date")
    out = (events.join(F.broadcast(p_df), ["vocabulary", "code"]).join(F.broadcast(r_df), "patient_id")
           .select("row", "trait", "code", F.datediff("date", F.lit("1970-01-01")).alias("day"), "value", "unit",
                   (F.datediff("date", "birth_date") / DAYS_PER_YEAR).alias("age"))).toPandas()
    return out.sort_values(["row", "trait", "day", "value", "unit"], kind="stable", na_position="last")


def evaluate_measurements(spark, events, definitions: Definitions, patient_rows: pd.DataFrame,
                          samples: pd.DataFrame) -> DerivedTraits:
    """Every quantitative definition for the genotype samples (one Spark job)."""
    return measurement_traits(measurements_for(spark, events, definitions.quantitative, patient_rows, samples),
                              definitions, samples)


def measurement_traits(m: pd.DataFrame, definitions: Definitions, samples: pd.DataFrame) -> DerivedTraits:
    """The quantitative traits from the matching measurements ``m`` (:func:`measurements_for`)."""
    defs = definitions.quantitative
    units = read_units(definitions.units)
    n = len(samples)
    in_records = samples["in_records"].to_numpy(bool)
    values = np.full((n, len(defs)), np.nan)
    counts, report = [], {}
    for t, d in enumerate(defs):
        x = m[m["trait"] == t]
        day = x["day"].to_numpy(np.int64)
        v = x["value"].to_numpy(np.float64)
        age = x["age"].to_numpy(np.float64)
        window = np.ones(len(x), dtype=bool)
        if d.dates[0] is not None:
            window &= day >= (np.datetime64(d.dates[0], "D") - np.datetime64("1970-01-01", "D")).astype(np.int64)
        if d.dates[1] is not None:
            window &= day <= (np.datetime64(d.dates[1], "D") - np.datetime64("1970-01-01", "D")).astype(np.int64)
        if d.age[0] is not None:
            window &= age >= d.age[0]
        if d.age[1] is not None:
            window &= age < d.age[1]
        no_value = window & np.isnan(v)
        unit = x["unit"].to_numpy(object)
        no_unit = np.array([u is None or (isinstance(u, float) and np.isnan(u)) or not str(u).strip() for u in unit],
                           dtype=bool)
        if d.missing_unit == "assume":
            unit = np.where(no_unit, d.unit, unit)
            missing_unit = np.zeros(len(x), dtype=bool)
        else:
            missing_unit = window & ~no_value & no_unit
        converted = np.full(len(x), np.nan)
        convertible = np.zeros(len(x), dtype=bool)
        # conversion rules may be analyte-specific: each measurement uses its own code's rules
        code_of = x["code"].to_numpy(object)
        for code in d.codes:
            sel = code_of == code
            c, ok = units.convert(code, v[sel], unit[sel], d.unit)
            converted[sel] = c
            convertible[sel] = ok
        considered = window & ~no_value & ~missing_unit
        unconvertible = considered & ~convertible
        lo, hi = d.limits
        plausible = np.isfinite(converted)
        if lo is not None:
            plausible &= converted >= lo
        if hi is not None:
            plausible &= converted <= hi
        implausible = considered & convertible & ~plausible
        kept = considered & convertible & plausible
        rows = x["row"].to_numpy(np.int64)
        col = aggregate(rows[kept], day[kept], converted[kept], n, d.aggregate)
        col[~in_records] = np.nan
        if d.transform == "inverse_normal":
            col = inverse_normal(col)
        values[:, t] = col
        has = ~np.isnan(col)
        counts.append({"cases": None, "controls": None, "excluded": int((in_records & ~has).sum()),
                       "excluded_sex": 0, "missing": int((~in_records).sum())})
        report[d.name] = {"measurements": int(len(x)), "outside_window": int((~window).sum()),
                          "no_value": int(no_value.sum()), "missing_unit": int(missing_unit.sum()),
                          "unit_unconvertible": int(unconvertible.sum()), "implausible": int(implausible.sum()),
                          "kept": int(kept.sum()), "samples_with_value": int(has.sum()),
                          "unconvertible_units": sorted({str(u) for u in unit[unconvertible]})[:20]}
        if implausible.any() or unconvertible.any():
            log.info("%s: %d implausible and %d unconvertible measurements excluded", d.name, int(implausible.sum()),
                     int(unconvertible.sum()))
    return DerivedTraits([d.name for d in defs], [QUANTITATIVE] * len(defs), "measurement",
                         [d.summary() for d in defs], values, counts, report=report)
