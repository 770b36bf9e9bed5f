"""Figure set-up shared by the publication plots: Agg backend, print sizes, deterministic files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DOUBLE_COLUMN = 7.09  # inches (180 mm)
SINGLE_COLUMN = 3.46  # inches (88 mm)
DPI = 300
GENOME_WIDE = -__import__("math").log10(5e-8)
SUGGESTIVE = 5.0
COLOURS = ("#1f4e79", "#6fa8dc")


def pyplot():
    """matplotlib.pyplot on the Agg backend with the print style (small fonts, fixed SVG ids)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "xtick.labelsize": 7,
                         "ytick.labelsize": 7, "legend.fontsize": 7, "svg.hashsalt": "hubscan",
                         "svg.fonttype": "none", "axes.spines.top": False, "axes.spines.right": False})
    return plt


def thin(x, y, keep_above: float = 2.0, grid: tuple[int, int] = (800, 100)) -> np.ndarray:
    """Indices of the points worth drawing: every point with ``y >= keep_above`` and, below it, one
    point per cell of a ``grid`` over the plot (finer than the printed dots, so the picture does not
    change) — a million-variant Manhattan or QQ plot draws a few tens of thousands of points."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    low = np.flatnonzero(y < keep_above)
    if len(low) <= grid[0]:
        return np.arange(len(x))
    span = max(float(np.ptp(x)), 1e-300)
    cx = np.floor((x[low] - x.min()) / span * grid[0]).astype(np.int64)
    cy = np.floor(np.clip(y[low], 0, keep_above) / keep_above * grid[1]).astype(np.int64)
    _, first = np.unique(cx * (grid[1] + 1) + cy, return_index=True)
    return np.sort(np.concatenate([low[first], np.flatnonzero(~(y < keep_above))]))


def save(fig, folder: Path, name: str) -> list[Path]:
    """Write ``name``.png and ``name``.svg into ``folder``; close the figure; return both paths."""
    import matplotlib.pyplot as plt

    paths = [folder / f"{name}.png", folder / f"{name}.svg"]
    fig.savefig(paths[0], dpi=DPI, metadata={"Software": None})
    fig.savefig(paths[1], metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return paths
