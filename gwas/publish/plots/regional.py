"""Regional plot: -log10 p of the variants within ``window`` bp of a lead variant, position in Mb,
the lead marked and labelled. (No LD colouring: that needs genotypes, which never leave the hub.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gwas.publish.plots.style import GENOME_WIDE, SINGLE_COLUMN, pyplot, save


def region_rows(rows: pd.DataFrame, lead: int, window: int) -> pd.DataFrame:
    """Rows on the lead's contig within ``window`` bp of it (``lead`` is a row label of ``rows``)."""
    contig, pos = rows.at[lead, "contig"], int(rows.at[lead, "position"])
    sel = (rows["contig"] == contig) & (rows["position"] >= pos - window) & (rows["position"] <= pos + window)
    return rows.loc[sel]


def regional_plot(rows: pd.DataFrame, lead: int, window: int, folder: Path, name: str, title: str) -> list[Path]:
    plt = pyplot()
    region = region_rows(rows, lead, window)
    fig, ax = plt.subplots(figsize=(SINGLE_COLUMN * 1.6, SINGLE_COLUMN))
    x = region["position"].to_numpy(np.float64) / 1e6
    ax.scatter(x, region["neg_log10_p"], s=6, color="#1f4e79", linewidths=0, rasterized=True)
    lx, ly = rows.at[lead, "position"] / 1e6, rows.at[lead, "neg_log10_p"]
    ax.scatter([lx], [ly], s=28, marker="D", color="#c00000", linewidths=0)
    vid = rows.at[lead, "variant_id"]
    label = vid if vid and vid != "." else f"{rows.at[lead, 'contig']}:{rows.at[lead, 'position']}"
    ax.annotate(label, (lx, ly), xytext=(4, 0), textcoords="offset points", fontsize=7)
    ax.axhline(GENOME_WIDE, color="#c00000", linewidth=0.7, linestyle="--")
    ax.set_xlabel(f"position on {rows.at[lead, 'contig']} (Mb)")
    ax.set_ylabel("-log$_{10}$ p")
    ax.set_ylim(0, max(GENOME_WIDE, float(ly)) * 1.1)
    ax.set_title(title)
    fig.tight_layout()
    return save(fig, folder, name)
