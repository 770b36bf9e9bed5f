"""Covariates per genotype sample, from the records and the genotypes.

========================  ===================================================================
``sex``                   1 male, 0 female, NaN unknown
``age``                   years (days / 365.25) at ``reference_date`` (default: each person's
                          last record; a fixed ISO date when given), NaN without a birth date
``age_first_record``      years at the first record (event, visit or observation period start)
``record_years``          length of record: last minus first record date, in years
``site_<name>``           0/1 indicators of each site except the reference (most samples; ties
                          by name), so that they can sit beside an intercept
``PC1``...                genetic covariates joined by sample id from a plink2-layout file
                          (``FID IID PC1 ...``, e.g. ``hubscan qc``'s ``pcs.tsv``)
========================  ===================================================================

Unlinked samples have NaN everywhere except the genetic columns.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hubscan.errors import ConfigError
from phenotypes.matrix.io import QUANTITATIVE, TraitMatrix, read_text

DAYS_PER_YEAR = 365.25
CHOICES = ("sex", "age", "age_first_record", "record_years", "site")


@dataclass
class CovariateOptions:
    include: list[str] = field(default_factory=lambda: ["sex", "age", "record_years"])
    reference_date: dt.date | None = None
    genetic: str | Path | None = None
    genetic_columns: list[str] | None = None

    def __post_init__(self):
        bad = [c for c in self.include if c not in CHOICES]
        if bad:
            raise ConfigError(f"unknown covariate(s) {', '.join(bad)}; choose from {', '.join(CHOICES)}")


def _years(later: pd.Series, earlier: pd.Series) -> np.ndarray:
    return ((pd.to_datetime(later) - pd.to_datetime(earlier)).dt.days / DAYS_PER_YEAR).to_numpy(np.float64)


def build_covariates(samples: pd.DataFrame, options: CovariateOptions) -> TraitMatrix:
    """The covariate matrix for ``samples`` (:func:`phenotypes.linkage.sample_table`)."""
    n = len(samples)
    names, columns = [], []
    linked = samples["in_records"].to_numpy(bool)
    for item in options.include:
        if item == "sex":
            x = samples["sex"].map({"M": 1.0, "F": 0.0}).to_numpy(np.float64)
            names.append("sex")
            columns.append(x)
        elif item == "age":
            ref = (pd.Series(pd.Timestamp(options.reference_date), index=samples.index)
                   if options.reference_date else samples["last_record"])
            names.append("age")
            columns.append(_years(ref, samples["birth_date"]))
        elif item == "age_first_record":
            names.append("age_first_record")
            columns.append(_years(samples["first_record"], samples["birth_date"]))
        elif item == "record_years":
            names.append("record_years")
            columns.append(_years(samples["last_record"], samples["first_record"]))
        elif item == "site":
            site = samples["site"].where(linked)
            counts = site.value_counts()
            if len(counts):
                levels = sorted(counts.index, key=lambda s: (-counts[s], str(s)))
                for level in levels[1:]:
                    x = np.where(linked, (site == level).to_numpy(np.float64), np.nan)
                    names.append("site_" + re.sub(r"[^A-Za-z0-9_.\-]", "_", str(level)))
                    columns.append(x)
    values = np.column_stack(columns) if columns else np.empty((n, 0))
    values[~linked] = np.nan
    sample_ids = samples["sample_id"].to_numpy(object)
    matrix = TraitMatrix(sample_ids, names, values, [QUANTITATIVE] * len(names))
    if options.genetic is not None:
        pcs = read_text(options.genetic, missing_value=None)
        cols = options.genetic_columns or pcs.names
        missing = [c for c in cols if c not in pcs.names]
        if missing:
            raise ConfigError(f"{options.genetic}: no column(s) {', '.join(missing)}")
        pcs = pcs.select(cols).align(sample_ids)
        matrix = TraitMatrix(sample_ids, names + cols, np.hstack([values, pcs.values]),
                             matrix.types + [QUANTITATIVE] * len(cols))
    return matrix
