"""Interactive Manhattan, QQ and PheWAS plots for notebooks (Bokeh, installed with Hail): hover a
point for its variant, trait, effect and p; zoom and pan. Same data and layout as the static plots
(:mod:`gwas.publish.plots.manhattan`, ``qq``, ``phewas``); show them with
``bokeh.io.output_notebook()`` then ``bokeh.io.show(fig)``.

Effect allele: ALT (``beta`` per ALT copy), as everywhere in hubscan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gwas.publish.plots.manhattan import genome_axis
from gwas.publish.plots.phewas import PALETTE, bonferroni_line
from gwas.publish.plots.style import thin

GENOME_WIDE = -np.log10(5e-8)
_TOOLS = "pan,wheel_zoom,box_zoom,reset,save"


def _figure(title: str, **kwargs):
    from bokeh.plotting import figure

    return figure(title=title, tools=_TOOLS, height=360, sizing_mode="stretch_width", **kwargs)


def _hover(fig, fields: list[tuple[str, str]]) -> None:
    from bokeh.models import HoverTool

    fig.add_tools(HoverTool(tooltips=fields))


def manhattan_figure(rows: pd.DataFrame, title: str):
    """``rows``: sorted by chromosome and position (e.g. ``publishable_rows``), with ``contig``,
    ``position``, ``variant_id``, ``ref``, ``alt``, ``beta``, ``neg_log10_p``. Points below
    -log10 p = 2 are thinned on a grid as in the static plot."""
    from bokeh.models import ColumnDataSource, FixedTicker, Span

    x, ticks, index = genome_axis(rows)
    y = rows["neg_log10_p"].to_numpy(np.float64)
    keep = thin(x, y)
    data = rows.iloc[keep]
    source = ColumnDataSource({"x": x[keep], "y": y[keep], "colour": np.where(index[keep] % 2, "#1f4e79", "#7fa7cf"),
                               "variant": [f"{c}:{p}:{r}:{a}" for c, p, r, a in zip(data["contig"], data["position"],
                                                                                  data["ref"], data["alt"])],
                               "id": data["variant_id"].astype(str).to_numpy(), "beta": data["beta"].to_numpy()})
    fig = _figure(title, x_axis_label="chromosome", y_axis_label="-log10 p")
    fig.scatter("x", "y", source=source, color="colour", size=4)
    fig.add_layout(Span(location=GENOME_WIDE, dimension="width", line_color="#c00000", line_dash="dashed"))
    fig.xaxis.ticker = FixedTicker(ticks=[t for t, _ in ticks])
    fig.xaxis.major_label_overrides = {t: label for t, label in ticks}
    _hover(fig, [("variant", "@variant"), ("id", "@id"), ("beta (ALT)", "@beta{0.0000}"), ("-log10 p", "@y{0.00}")])
    return fig


def qq_figure(neg_log10_p, title: str):
    """Observed against expected -log10 p under the null (uniform p), with the identity line."""
    from bokeh.models import ColumnDataSource, Slope

    y = np.sort(np.asarray(neg_log10_p, np.float64)[np.isfinite(neg_log10_p)])[::-1]
    n = len(y)
    x = -np.log10((np.arange(1, n + 1) - 0.5) / max(n, 1))
    keep = thin(x, y)
    fig = _figure(title, x_axis_label="expected -log10 p", y_axis_label="observed -log10 p")
    fig.scatter("x", "y", source=ColumnDataSource({"x": x[keep], "y": y[keep]}), size=4, color="#1f4e79")
    fig.add_layout(Slope(gradient=1, y_intercept=0, line_color="#c00000", line_dash="dashed"))
    _hover(fig, [("expected", "@x{0.00}"), ("observed", "@y{0.00}")])
    return fig


def phewas_figure(hits: pd.DataFrame, n_tests: int, title: str):
    """``hits``: one row per trait with ``trait``, ``category``, ``neg_log10_p``, ``beta`` (one
    variant); grouped and coloured by category, triangles up for positive effects, down for
    negative, and the Bonferroni line 0.05 / ``n_tests``."""
    from bokeh.models import ColumnDataSource, FixedTicker, Span

    data = hits.assign(category=hits["category"].fillna("other").replace("", "other"))
    data = data.assign(_last=data["category"] == "other")
    data = data.sort_values(["_last", "category", "trait"], kind="mergesort").reset_index(drop=True)
    categories = list(dict.fromkeys(data["category"]))
    colours = {c: PALETTE[k % len(PALETTE)] for k, c in enumerate(categories)}
    source = ColumnDataSource({"x": np.arange(len(data)), "y": data["neg_log10_p"].to_numpy(np.float64),
                               "trait": data["trait"].astype(str).to_numpy(), "category": data["category"].to_numpy(),
                               "beta": data["beta"].to_numpy(np.float64),
                               "colour": [colours[c] for c in data["category"]],
                               "marker": np.where(data["beta"].to_numpy() >= 0, "triangle", "inverted_triangle")})
    fig = _figure(title, x_axis_label="trait (by category)", y_axis_label="-log10 p")
    fig.scatter("x", "y", source=source, color="colour", marker="marker", size=8)
    fig.add_layout(Span(location=bonferroni_line(n_tests), dimension="width", line_color="#c00000",
                        line_dash="dashed"))
    ticks = {float(np.flatnonzero(data["category"].to_numpy() == c).mean()): c for c in categories}
    fig.xaxis.ticker = FixedTicker(ticks=list(ticks))
    fig.xaxis.major_label_overrides = ticks
    fig.xaxis.major_label_orientation = 0.8
    _hover(fig, [("trait", "@trait"), ("category", "@category"), ("beta (ALT)", "@beta{0.0000}"),
                 ("-log10 p", "@y{0.00}")])
    return fig
