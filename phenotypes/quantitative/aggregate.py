"""Per-person aggregation of measurements and the rank-based inverse normal transform (array core).

Aggregates (per sample, over its kept measurements): ``first`` / ``last`` (by date; several on the
same day: the smallest value first, the largest last, so results never depend on input order),
``mean``, ``median`` (average of the two middle values for an even count), ``min``, ``max``.

Rank-based inverse normal transform (Blom 1958): ``Phi^-1((r - 3/8) / (n + 1/4))`` of the ranks r
(ties get their average rank) of the n non-missing values; NaN stays NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BLOM = 3.0 / 8.0


def aggregate(rows: np.ndarray, days: np.ndarray, values: np.ndarray, n_samples: int, how: str) -> np.ndarray:
    """One value per sample (NaN without measurements). rows/days/values are per measurement."""
    out = np.full(n_samples, np.nan)
    if len(rows) == 0:
        return out
    frame = pd.DataFrame({"row": rows, "day": days, "value": values}).sort_values(["row", "day", "value"],
                                                                                    kind="stable")
    g = frame.groupby("row", sort=True)["value"]
    result = {"first": g.first, "last": g.last, "mean": g.mean, "median": g.median, "min": g.min,
              "max": g.max}[how]()
    out[result.index.to_numpy()] = result.to_numpy()
    return out


def inverse_normal(values: np.ndarray) -> np.ndarray:
    """Blom rank-based inverse normal transform of the non-NaN entries."""
    from scipy.special import ndtri
    from scipy.stats import rankdata

    out = np.full(len(values), np.nan)
    ok = ~np.isnan(values)
    n = int(ok.sum())
    if n:
        ranks = rankdata(values[ok], method="average")
        out[ok] = ndtri((ranks - BLOM) / (n - 2 * BLOM + 1))
    return out
