"""notebooks/results.ipynb and phewas.ipynb run top to bottom on simulated results stores (nbclient), so
they never rot; their Bokeh plots are interactive (a hover tool on every figure)."""

import re
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "results.ipynb"
PHEWAS_NOTEBOOK = NOTEBOOK.with_name("phewas.ipynb")
BOKEH = "application/vnd.bokehjs_exec.v0+json"


def _execute(path, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    return outputs


def _bokeh_figures(outputs) -> list[str]:
    """The script of every Bokeh plot the notebook showed, each checked to carry a hover tool."""
    figures = [str(o["data"].get("application/javascript", "")) for o in outputs if BOKEH in o.get("data", {})]
    assert all("HoverTool" in f for f in figures)
    return figures


def test_results_notebook_executes(cohort, tmp_path, monkeypatch):
    monkeypatch.setenv("HUBSCAN_RESULTS", str(cohort.root))
    monkeypatch.setenv("HUBSCAN_PLOTS", str(tmp_path / "plots"))
    outputs = _execute(NOTEBOOK, tmp_path)
    text = "".join(o.get("text", "") for o in outputs)
    assert "hit rows in" in text and "lambda GC" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 3
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "manhattan.png", "manhattan.svg", "qq.png", "qq.svg", "regional.png", "regional.svg"]
    assert len(_bokeh_figures(outputs)) == 2  # interactive Manhattan and QQ
    # the lead variant, looked up across traits ("contig:position:ref:alt in N traits")
    lookup = [m for m in (re.match(r"^\S+:\d+:\w+:\w+ in (\d+) traits$", line) for line in text.splitlines()) if m]
    assert len(lookup) == 1 and int(lookup[0].group(1)) >= 1


def test_phewas_notebook_executes_with_one_interactive_plot_per_variant(tmp_path, monkeypatch):
    from tests.publish.cohort import make_phewas_store

    store = make_phewas_store(tmp_path / "phewas")
    monkeypatch.setenv("HUBSCAN_RESULTS", str(tmp_path / "phewas"))
    outputs = _execute(PHEWAS_NOTEBOOK, tmp_path)
    text = "".join(o.get("text", "") for o in outputs)
    assert "24 traits tested" in text
    figures = _bokeh_figures(outputs)
    assert len(figures) == 3  # three variants
    assert all(name in figures[0] for name in store["names"])  # every trait is a point of the first
    # the planted association is listed among the hits
    tables = "".join(o.get("data", {}).get("text/html", "") for o in outputs if BOKEH not in o.get("data", {}))
    assert store["hit_trait"] in tables
