"""QQ plot of observed against expected -log10 p under the null, with the 95 % band of uniform
order statistics and the genomic inflation factor λGC in the title.

λGC (Devlin & Roeder 1999) = median of the 1-df chi² statistics / 0.4549364 (the median of χ²₁);
the statistics come from the p-values in log space, so p below 1e-308 count correctly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gwas.publish.plots.style import SINGLE_COLUMN, pyplot, save, thin
from gwas.publish.rows import chi2_from_neg_log10_p

CHI2_1DF_MEDIAN = 0.4549364231195724


def lambda_gc(neg_log10_p) -> float:
    """Genomic inflation factor from -log10 p (NaN ignored; NaN when there is no value)."""
    nlp = np.asarray(neg_log10_p, dtype=np.float64)
    nlp = nlp[np.isfinite(nlp)]
    if not len(nlp):
        return float("nan")
    return float(np.median(chi2_from_neg_log10_p(nlp)) / CHI2_1DF_MEDIAN)


def qq_plot(neg_log10_p, folder: Path, name: str, title: str) -> tuple[list[Path], float]:
    """Draw the QQ plot; return (files, λGC)."""
    from scipy import stats

    plt = pyplot()
    observed = np.sort(np.asarray(neg_log10_p, dtype=np.float64)[np.isfinite(neg_log10_p)])[::-1]
    n = len(observed)
    lam = lambda_gc(observed)
    fig, ax = plt.subplots(figsize=(SINGLE_COLUMN, SINGLE_COLUMN))
    if n:
        i = np.arange(1, n + 1)
        expected = -np.log10((i - 0.5) / n)
        keep = thin(expected, observed)
        # 95 % band of the i-th smallest of n uniform p-values (Beta(i, n - i + 1)), on a log-spaced subset
        band = np.unique(np.round(np.geomspace(1, n, min(n, 400))).astype(np.int64))
        lo = -np.log10(stats.beta.ppf(0.975, band, n - band + 1))
        hi = -np.log10(stats.beta.ppf(0.025, band, n - band + 1))
        ax.fill_between(-np.log10((band - 0.5) / n), lo, hi, color="#d9d9d9", linewidth=0, label="95 % band")
        ax.scatter(expected[keep], observed[keep], s=3, color="#1f4e79", linewidths=0, rasterized=True)
        top = float(expected.max())
        ax.plot([0, top], [0, top], color="#c00000", linewidth=0.7)
    ax.set_xlabel("expected -log$_{10}$ p")
    ax.set_ylabel("observed -log$_{10}$ p")
    ax.set_title(f"{title}\nλGC = {lam:.3f} ({n:,} variants)")
    fig.tight_layout()
    return save(fig, folder, name), lam
