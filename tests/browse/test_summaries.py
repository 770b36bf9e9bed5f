"""Trait-page summaries against plain references: λGC against the median of every row's χ²
(scipy), Manhattan bins against a brute-force loop (both the packed-key and the row-unique paths),
peaks against a greedy loop."""

import numpy as np
import pytest
from scipy import stats

from gwas.browse.summaries import lambda_gc, manhattan_bins, peaks


@pytest.mark.parametrize("n", [1, 2, 999, 1000])
def test_lambda_gc_is_the_median_chi2_over_its_expectation(n):
    nlp = -np.log10(np.random.default_rng(n).random(n))
    want = np.median(stats.chi2.isf(10.0 ** -nlp, 1)) / stats.chi2.ppf(0.5, 1)
    assert lambda_gc(nlp) == pytest.approx(want, rel=1e-12)
    assert lambda_gc(np.zeros(0)) is None


def _bins_reference(chrom, pos, nlp, keep, bin_bp):
    order = sorted(range(len(nlp)), key=lambda i: (-nlp[i], i))
    points = set(order[:keep])
    bins = {}
    for i in range(len(nlp)):
        if i not in points:
            bins.setdefault((int(chrom[i]), int(pos[i]) // bin_bp * bin_bp), set()).add(round(nlp[i] * 10))
    return order[:keep], bins


@pytest.mark.parametrize("huge", [False, True])
def test_manhattan_bins_against_brute_force(huge):
    rng = np.random.default_rng(3)
    n = 3000
    chrom = rng.integers(0, 5, n)
    pos = rng.integers(1, 50_000_000, n)
    nlp = -np.log10(rng.random(n))
    if huge:   # a -log10 p beyond the packed key's range takes the row-unique path
        nlp[17] = 2_000_000.0
    got = manhattan_bins(chrom, pos, nlp, keep=40, bin_bp=3_000_000)
    points, bins = _bins_reference(chrom, pos, nlp, 40, 3_000_000)
    assert got.points.tolist() == points
    levels = {}
    for c, start, runs in got.bins:
        levels[(c, start)] = {q for lo, hi in runs for q in range(round(lo * 10), round(hi * 10) + 1)}
        assert all(hi >= lo for lo, hi in runs)
        # runs are maximal: consecutive runs never touch
        assert all(b[0] * 10 - a[1] * 10 > 1.5 for a, b in zip(runs, runs[1:]))
    assert levels == bins


def test_peaks_one_per_window_most_significant_first():
    chrom = np.array([0, 0, 0, 1, 0])
    pos = np.array([1_000_000, 1_400_000, 1_600_001, 1_000_000, 5_000_000])
    nlp = np.array([9.0, 10.0, 7.0, 6.5, 5.0])
    assert peaks(chrom, pos, nlp, peak_p=1e-6, window=500_000).tolist() == [1, 3]
    assert peaks(chrom, pos, nlp, peak_p=1e-6, window=100_000).tolist() == [1, 0, 2, 3]
