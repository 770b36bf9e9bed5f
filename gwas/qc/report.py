"""QC report: plots (PNG and SVG) and one HTML page that gathers them with the run's numbers.

Plots: PC1–PC2 and PC3–PC4 coloured by a sample label (population, hub) when given, else by
whether the sample was in the PCA fit or projected; histograms of sample call rate and autosomal
heterozygosity rate with the thresholds; X-chromosome F by recorded sex. Aggregate only: no sample
identifier appears in the plots or the page.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

PLOT_SIZE = (6.0, 4.5)  # inches: readable at publication size


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "hubscan-qc"  # fixed SVG element ids: reruns give the same bytes

    return plt, plt.subplots(figsize=PLOT_SIZE, dpi=150)


def _save(plt, fig, folder: Path, name: str) -> str:
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(folder / f"{name}.{ext}", metadata={"Date": None} if ext == "svg" else None)
    plt.close(fig)
    return f"{name}.png"


def _pc_plot(folder: Path, samples: pd.DataFrame, labels: dict[str, str] | None, x: str, y: str) -> str | None:
    if y not in samples or samples[y].isna().all():
        return None
    plt, (fig, ax) = _figure()
    data = samples[samples[x].notna()]
    groups = (data["s"].map(labels).fillna("unlabelled") if labels else data["pc_source"].fillna("none"))
    for name in sorted(groups.unique()):
        sel = groups == name
        ax.scatter(data.loc[sel, x], data.loc[sel, y], s=6, alpha=0.7, label=f"{name} ({int(sel.sum())})")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"Principal components {x} and {y}")
    ax.legend(fontsize=7, markerscale=2, loc="best")
    return _save(plt, fig, folder, f"pcs_{x}_{y}".lower())


def _histogram(folder: Path, values: pd.Series, name: str, xlabel: str, lines: list[float]) -> str:
    plt, (fig, ax) = _figure()
    ax.hist(values.dropna(), bins=50, color="#4472c4")
    for v in lines:
        ax.axvline(v, color="#c00000", linestyle="--", linewidth=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("samples")
    return _save(plt, fig, folder, name)


def write_report(folder: Path, samples: pd.DataFrame, variants: pd.DataFrame, pairs: pd.DataFrame,
                 summary: dict, labels: dict[str, str] | None = None) -> Path:
    """Write the plots and ``report.html`` into ``folder``; returns the HTML path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    t = summary["thresholds"]
    plots = [_pc_plot(folder, samples, labels, "PC1", "PC2"), _pc_plot(folder, samples, labels, "PC3", "PC4"),
             _histogram(folder, samples["call_rate"], "sample_call_rate", "sample call rate (autosomes)",
                        [t["min_sample_call_rate"]])]
    het = samples["het_rate"]
    passing = samples["fail_reasons"].str.contains("call_rate|no_calls") == False  # noqa: E712
    mean, sd = het[passing].mean(), het[passing].std()
    plots.append(_histogram(folder, het, "heterozygosity", "heterozygosity rate (autosomes)",
                            [mean - t["het_sd"] * sd, mean + t["het_sd"] * sd] if np.isfinite(sd) else []))
    if samples["x_f"].notna().any():
        plt, (fig, ax) = _figure()
        for code, name in ((1, "recorded male"), (2, "recorded female")):
            sel = samples["recorded_sex"] == code
            if sel.any():
                ax.hist(samples.loc[sel, "x_f"].dropna(), bins=40, alpha=0.6, label=name)
        rest = samples["recorded_sex"].isna()
        if rest.any():
            ax.hist(samples.loc[rest, "x_f"].dropna(), bins=40, alpha=0.6, label="not recorded")
        for v in (t["female_f"], t["male_f"]):
            ax.axvline(v, color="#c00000", linestyle="--", linewidth=1)
        ax.set_xlabel("X chromosome inbreeding coefficient F")
        ax.set_ylabel("samples")
        ax.legend(fontsize=8)
        plots.append(_save(plt, fig, folder, "sex_check"))
    counts = {k: v for k, v in summary.items() if isinstance(v, int)}
    reasons = samples["fail_reasons"].str.split(";").explode()
    reason_counts = reasons[reasons != ""].value_counts().to_dict()
    v_reasons = variants["fail_reasons"].str.split(";").explode()
    v_counts = v_reasons[v_reasons != ""].value_counts().to_dict()
    degrees = pairs["degree"].value_counts().to_dict() if not pairs.empty else {}
    page = ["<!doctype html><html><head><meta charset='utf-8'><title>hubscan QC report</title>",
            "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}td,th{padding:2px 10px}"
            "img{max-width:48%;margin:1%}</style></head><body>",
            "<h1>hubscan genetic QC</h1>", f"<p>hubscan {html.escape(summary['hubscan_version'])}</p>",
            _table("Counts", counts), _table("Samples failing, by reason", reason_counts),
            _table("Variants failing, by reason", v_counts), _table("Related pairs, by degree", degrees),
            _table("Thresholds", t), "<h2>Plots</h2>"]
    page += [f"<img src='{p}' alt='{p[:-4]}'>" for p in plots if p]
    page.append(f"<h2>Eigenvalues</h2><p>{html.escape(json.dumps([round(v, 3) for v in summary['eigenvalues']]))}</p>")
    page.append("</body></html>")
    path = folder / "report.html"
    path.write_text("\n".join(page))
    return path


def _table(title: str, values: dict) -> str:
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in values.items())
    return f"<h2>{html.escape(title)}</h2><table>{rows or '<tr><td>none</td></tr>'}</table>"
