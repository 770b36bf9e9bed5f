"""Manhattan plot: -log10 p along the genome, chromosomes side by side in alternating colours,
genome-wide (5e-8) and suggestive (1e-5) lines. Rows must be sorted by chromosome then position
(as :func:`gwas.publish.rows.publishable_rows` returns them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gwas.publish.rows import chromosome_code
from gwas.publish.plots.style import COLOURS, DOUBLE_COLUMN, GENOME_WIDE, SUGGESTIVE, pyplot, save, thin


def genome_axis(rows: pd.DataFrame, gap: float = 0.02) -> tuple[np.ndarray, list[tuple[float, str]], np.ndarray]:
    """(x of each row, [(tick x, chromosome label)], chromosome index of each row): positions laid
    end to end per contig in row order, with a gap of ``gap`` x the genome span between contigs."""
    contig = rows["contig"].astype(str).to_numpy()
    pos = rows["position"].to_numpy(np.float64)
    names = list(dict.fromkeys(contig.tolist()))
    spans = {c: (pos[contig == c].min(), pos[contig == c].max()) for c in names}
    total = sum(max(hi - lo, 1.0) for lo, hi in spans.values())
    x = np.empty(len(rows))
    index = np.empty(len(rows), np.int64)
    ticks, start = [], 0.0
    for i, c in enumerate(names):
        lo, hi = spans[c]
        sel = contig == c
        x[sel] = start + pos[sel] - lo
        index[sel] = i
        if chromosome_code(c):  # unplaced / alternate contigs are drawn but not labelled
            label = c[3:] if c.lower().startswith("chr") else c
            ticks.append((start + (hi - lo) / 2, label.lstrip("0") or label))
        start += max(hi - lo, 1.0) + gap * total
    return x, ticks, index


def manhattan_plot(rows: pd.DataFrame, folder: Path, name: str, title: str) -> list[Path]:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(DOUBLE_COLUMN, 2.8))
    if len(rows):
        x, ticks, index = genome_axis(rows)
        y = rows["neg_log10_p"].to_numpy(np.float64)
        from matplotlib.colors import to_rgba_array

        colours = to_rgba_array(COLOURS)[index % 2]
        keep = thin(x, y)
        ax.scatter(x[keep], y[keep], s=3, c=colours[keep], linewidths=0, rasterized=True)
        # label every chromosome when there is room, else every other one
        step = 1 if len(ticks) <= 24 else 2
        ax.set_xticks([t for t, _ in ticks[::step]], [label for _, label in ticks[::step]])
        ax.set_xlim(x.min() - 0.01 * np.ptp(x), x.max() + 0.01 * np.ptp(x))
        ax.set_ylim(0, max(GENOME_WIDE + 1, float(np.nanmax(y)) * 1.05))
    ax.axhline(GENOME_WIDE, color="#c00000", linewidth=0.7, linestyle="--", label="p = 5e-8")
    ax.axhline(SUGGESTIVE, color="#7f7f7f", linewidth=0.6, linestyle=":", label="p = 1e-5")
    ax.set_xlabel("chromosome")
    ax.set_ylabel("-log$_{10}$ p")
    ax.set_title(title)
    ax.legend(loc="upper right", frameon=False)
    fig.tight_layout()
    return save(fig, folder, name)
