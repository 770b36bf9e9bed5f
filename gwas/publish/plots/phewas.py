"""PheWAS plot of one variant: -log10 p of every published trait, grouped and coloured by phecode
category (traits without one go to "other"), triangles pointing up for positive effects and down
for negative, and the Bonferroni line 0.05 / (traits tested)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from gwas.publish.plots.style import DOUBLE_COLUMN, pyplot, save

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")


def bonferroni_line(n_tests: int, alpha: float = 0.05) -> float:
    """-log10 of the Bonferroni threshold alpha / n_tests."""
    return -math.log10(alpha / max(n_tests, 1))


def phewas_plot(hits: pd.DataFrame, n_tests: int, folder: Path, name: str, title: str,
                label_top: int = 5) -> list[Path]:
    """``hits``: one row per trait with ``trait``, ``category``, ``neg_log10_p``, ``beta``."""
    plt = pyplot()
    data = hits.assign(category=hits["category"].fillna("other").replace("", "other"))
    data = data.assign(_last=data["category"] == "other")  # "other" at the right end
    data = data.sort_values(["_last", "category", "trait"], kind="mergesort").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(DOUBLE_COLUMN, 3.2))
    categories = list(dict.fromkeys(data["category"]))
    ticks = []
    for k, category in enumerate(categories):
        sel = (data["category"] == category).to_numpy()
        x = np.flatnonzero(sel)
        colour = PALETTE[k % len(PALETTE)]
        up = data.loc[sel, "beta"].to_numpy() >= 0
        y = data.loc[sel, "neg_log10_p"].to_numpy()
        ax.scatter(x[up], y[up], marker="^", s=14, color=colour, linewidths=0)
        ax.scatter(x[~up], y[~up], marker="v", s=14, color=colour, linewidths=0)
        ticks.append((x.mean(), category))
    line = bonferroni_line(n_tests)
    ax.axhline(line, color="#c00000", linewidth=0.7, linestyle="--", label=f"Bonferroni 0.05/{n_tests}")
    for i in data.nlargest(label_top, "neg_log10_p").index:
        if data.at[i, "neg_log10_p"] >= line:
            ax.annotate(str(data.at[i, "trait"]), (i, data.at[i, "neg_log10_p"]), fontsize=6,
                        xytext=(3, 2), textcoords="offset points")
    ax.set_xticks([t for t, _ in ticks], [c for _, c in ticks], rotation=45, ha="right")
    ax.set_xlim(-1, max(len(data), 1))
    top = float(data["neg_log10_p"].max()) if len(data) else 0.0
    ax.set_ylim(0, max(line, top) * 1.1 + 0.5)
    ax.set_ylabel("-log$_{10}$ p")
    ax.set_title(title)
    ax.legend(loc="upper right", frameon=False)
    fig.tight_layout()
    return save(fig, folder, name)
