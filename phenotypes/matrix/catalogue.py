"""The trait catalogue: one row per trait of the matrix.

Columns: ``name``, ``type`` (binary/quantitative), ``source`` (phecode1.2, phecodeX, custom,
measurement), ``definition`` (readable summary), ``cases``, ``controls`` (binary), ``excluded``
(excluded by the trait's own rules: too few days, exclusion ranges or codes, implausible values),
``excluded_sex`` (sex restriction), ``missing`` (not linked or not in the records), ``n`` (samples
in the analysis: cases + controls, or quantitative values), ``mean``, ``sd`` (quantitative).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hubscan.files import atomic_file

COLUMNS = ("name", "type", "source", "definition", "cases", "controls", "excluded", "excluded_sex", "missing",
           "n", "mean", "sd")


@dataclass
class Catalogue:
    rows: list[dict] = field(default_factory=list)

    def add(self, name: str, type_: str, source: str, definition: str, counts: dict, values=None) -> None:
        row = {"name": name, "type": type_, "source": source, "definition": definition}
        for k in ("cases", "controls", "excluded", "excluded_sex", "missing"):
            v = counts.get(k)
            row[k] = None if v is None else int(v)
        if type_ == "binary":
            row["n"] = row["cases"] + row["controls"]
            row["mean"] = row["sd"] = None
        else:
            x = np.asarray(values, dtype=np.float64)
            x = x[~np.isnan(x)]
            row["n"] = int(len(x))
            row["mean"] = float(x.mean()) if len(x) else None
            row["sd"] = float(x.std(ddof=1)) if len(x) > 1 else None
        self.rows.append(row)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=list(COLUMNS)).astype(
            {k: "Int64" for k in ("cases", "controls", "excluded", "excluded_sex", "missing", "n")})

    def write(self, path) -> None:
        with atomic_file(path) as tmp:
            self.frame().to_csv(tmp, sep="\t", index=False, na_rep="NA", float_format="%.6g")


def read_catalogue(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", na_values=["NA"], keep_default_na=False,
                       dtype={"name": str, "definition": str})
