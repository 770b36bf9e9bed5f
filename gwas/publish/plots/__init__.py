"""Publication plots (matplotlib, Agg backend): Manhattan, QQ with λGC, PheWAS, regional.

Each plot function draws from arrays or a DataFrame of published rows and writes ``<name>.png``
(300 dpi) and ``<name>.svg`` (dense point clouds rasterised inside the SVG) through
:func:`gwas.publish.plots.style.save`, with fixed metadata so reruns give identical files.
Sizes are for print: 180 mm (double column) or 88 mm (single column) wide, 7-8 pt text.
"""
