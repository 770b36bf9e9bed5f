"""Unit harmonisation through a units table.

The table (CSV/TSV) has columns ``from_unit, to_unit, factor`` and optionally ``offset`` and
``code``: ``value_in_to_unit = value * factor + offset``; a row with a ``code`` applies to that
measurement code only (analyte-specific conversions such as LDL mg/dL -> mmol/L, factor 1/38.67),
a row without one to every code. Units compare case-insensitively with blanks removed
(``mg/dL`` = ``MG/DL``); a value already in the target unit needs no row. A unit with no route to
the target is reported and the value excluded (counted), never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hubscan.errors import InputError
from hubscan.files import require_file


def unit_key(unit) -> str:
    return "" if unit is None or (isinstance(unit, float) and np.isnan(unit)) else "".join(str(unit).split()).lower()


@dataclass
class UnitTable:
    """(code or "", from, to) -> (factor, offset); keys as :func:`unit_key`."""

    rules: dict[tuple[str, str, str], tuple[float, float]] = field(default_factory=dict)

    def conversion(self, code: str, from_unit: str, to_unit: str) -> tuple[float, float] | None:
        f, t = unit_key(from_unit), unit_key(to_unit)
        if f == t:
            return (1.0, 0.0)
        return self.rules.get((code, f, t)) or self.rules.get(("", f, t))

    def convert(self, code: str, values: np.ndarray, units: np.ndarray, to_unit: str) -> tuple[np.ndarray, np.ndarray]:
        """(converted values, convertible mask) for one code's values and units."""
        out = np.full(len(values), np.nan)
        ok = np.zeros(len(values), dtype=bool)
        keys = np.array([unit_key(u) for u in units], dtype=object)
        for key in np.unique(keys):
            conv = self.conversion(code, key, to_unit)
            if conv is None:
                continue
            sel = keys == key
            out[sel] = values[sel] * conv[0] + conv[1]
            ok[sel] = True
        return out, ok


def read_units(path: str | Path | None) -> UnitTable:
    if path is None:
        return UnitTable()
    path = require_file(path, "units table")
    with open(path, encoding="utf-8-sig") as fh:
        sep = "\t" if "\t" in fh.readline() else ","
    t = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    cols = {c.strip().lower(): c for c in t.columns}
    for need in ("from_unit", "to_unit", "factor"):
        if need not in cols:
            raise InputError(f"{path}: a units table needs from_unit, to_unit, factor (header: {', '.join(t.columns)})")
    rules = {}
    for i, row in enumerate(t.itertuples(index=False), start=2):
        r = dict(zip(t.columns, row))
        try:
            factor = float(r[cols["factor"]])
            offset = float(r[cols["offset"]]) if "offset" in cols and r[cols["offset"]].strip() else 0.0
        except ValueError:
            raise InputError(f"{path}: line {i}: factor/offset is not a number") from None
        if not np.isfinite(factor) or factor == 0:
            raise InputError(f"{path}: line {i}: factor must be a finite non-zero number")
        code = r[cols["code"]].strip() if "code" in cols else ""
        rules[(code, unit_key(r[cols["from_unit"]]), unit_key(r[cols["to_unit"]]))] = (factor, offset)
    return UnitTable(rules)
