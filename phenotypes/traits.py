"""What every trait producer (custom definitions, measurements) hands to the matrix writer."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class DerivedTraits:
    """Traits held whole in memory: ``values`` (samples, traits) float64, NaN = not analysed.

    ``counts[j]`` has the catalogue categories of trait j; ``first_dates`` (row, trait, date) the
    first qualifying date of each case (binary traits) when the producer knows it.
    """

    names: list[str]
    types: list[str]
    source: str
    definitions: list[str]
    values: np.ndarray
    counts: list[dict]
    first_dates: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["row", "trait", "date"]))
    report: dict = field(default_factory=dict)


def binary_counts(values: np.ndarray, excluded: np.ndarray, excluded_sex: np.ndarray, missing: np.ndarray) -> dict:
    """Catalogue counts of one binary column given the boolean reason masks (disjoint)."""
    return {"cases": int((values == 1).sum()), "controls": int((values == 0).sum()),
            "excluded": int(excluded.sum()), "excluded_sex": int(excluded_sex.sum()), "missing": int(missing.sum())}
