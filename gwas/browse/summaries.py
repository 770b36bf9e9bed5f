"""Per-trait summaries drawn on a trait page: Manhattan binning, QQ thinning, λGC and peaks.

Pure functions of arrays (one trait's released rows: chromosome index, position, -log10 p).

* **Manhattan** (as PheWeb does it): the ``keep`` most significant variants are kept as points
  (hover, click); every other variant only adds its -log10 p rounded to 0.1 to its bin
  (chromosome, ``bin_bp`` window), and each bin is drawn as the runs of those rounded values
  (``extents``), so a million variants draw as a few thousand line segments.
* **QQ**: observed -log10 p sorted against expected -log10((i - 0.5) / n); the ``exact`` largest
  points as they are, the rest rounded to 0.01 on both axes and deduplicated.
* **λGC**: median of the 1-df χ² with each row's p divided by the χ² median (0.4549...).
* **Peaks**: greedy, most significant first, one per ``window`` bp on each side, at most p
  ``peak_p`` (PheWeb's top hits: 1e-6, 500 kb).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: the 1-df chi-squared median, chi2.ppf(0.5, 1)
CHI2_MEDIAN = 0.45493642311957283


@dataclass
class Manhattan:
    points: np.ndarray          # row indices kept as points, most significant first
    bins: list                  # [chrom index, bin start bp, [[lo, hi], ...] -log10 p runs]


def manhattan_bins(chrom: np.ndarray, position: np.ndarray, nlp: np.ndarray, keep: int = 500,
                   bin_bp: int = 3_000_000) -> Manhattan:
    n = len(nlp)
    order = np.lexsort((np.arange(n), -nlp))          # most significant first, ties by row
    points = order[:keep]
    rest = np.ones(n, bool)
    rest[points] = False
    if not rest.any():
        return Manhattan(points, [])
    c, b = chrom[rest].astype(np.int64), position[rest] // bin_bp
    q = np.round(nlp[rest] * 10).astype(np.int64)
    if q.max() >= 1 << 24 or b.max() >= 1 << 28 or c.max() >= 1 << 11:
        keys = np.unique(np.stack([c, b, q], axis=1), axis=0)
    else:   # one int64 key per row: a plain sort (np.unique over rows is much slower)
        packed = np.unique((c << 52) | (b << 24) | q)
        keys = np.stack([packed >> 52, (packed >> 24) & ((1 << 28) - 1), packed & ((1 << 24) - 1)], axis=1)
    bins = []
    starts = np.flatnonzero(np.r_[True, (keys[1:, 0] != keys[:-1, 0]) | (keys[1:, 1] != keys[:-1, 1])])
    for s, e in zip(starts, np.r_[starts[1:], len(keys)]):
        qs = keys[s:e, 2]
        breaks = np.flatnonzero(np.diff(qs) != 1) + 1
        runs = [[round(float(r[0]) / 10, 1), round(float(r[-1]) / 10, 1)] for r in np.split(qs, breaks)]
        bins.append([int(keys[s, 0]), int(keys[s, 1]) * bin_bp, runs])
    return Manhattan(points, bins)


def qq_points(nlp: np.ndarray, exact: int = 200) -> list[list[float]]:
    """[[expected, observed], ...] -log10 p, most significant first (see module docstring)."""
    n = len(nlp)
    if n == 0:
        return []
    obs = np.sort(nlp)[::-1]
    exp = -np.log10((np.arange(1, n + 1) - 0.5) / n)
    head = [[round(float(e), 3), float(o)] for e, o in zip(exp[:exact], obs[:exact])]
    tail = np.round(np.stack([exp[exact:], obs[exact:]], axis=1), 2)
    if np.isfinite(tail).all():
        # both columns descend, so the distinct pairs are the ones that differ from the pair before
        # (the same pairs, in the same order, as np.unique(..., axis=0)[::-1], without its sort)
        keep = np.r_[True, (tail[1:] != tail[:-1]).any(axis=1)] if len(tail) else np.zeros(0, bool)
        tail = tail[keep]
    else:
        tail = np.unique(tail, axis=0)[::-1]
    return head + tail.tolist()


def lambda_gc(nlp: np.ndarray) -> float | None:
    """Genomic inflation: median 1-df χ² of the p-values over the χ² median (None without rows).
    χ² is monotone in -log10 p, so only the middle one or two rows are converted (the median of
    the χ² of every row, without converting a million p-values)."""
    from scipy import stats

    n = len(nlp)
    if n == 0:
        return None
    middle = np.partition(nlp, [(n - 1) // 2, n // 2])[[(n - 1) // 2, n // 2]]
    with np.errstate(over="ignore", under="ignore"):
        chi2 = stats.chi2.isf(10.0 ** -middle, 1)
    return float(chi2.mean() / CHI2_MEDIAN)


def peaks(chrom: np.ndarray, position: np.ndarray, nlp: np.ndarray, peak_p: float = 1e-6,
          window: int = 500_000) -> np.ndarray:
    """Row indices of the peaks, most significant first (see module docstring)."""
    cand = np.flatnonzero(nlp >= -np.log10(peak_p))
    cand = cand[np.lexsort((cand, -nlp[cand]))]
    chosen: list[int] = []
    taken: dict[int, list[int]] = {}
    for i in cand.tolist():
        near = taken.setdefault(int(chrom[i]), [])
        if any(abs(int(position[i]) - p) <= window for p in near):
            continue
        near.append(int(position[i]))
        chosen.append(i)
    return np.array(chosen, dtype=np.int64)
