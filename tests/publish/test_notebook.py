"""notebooks/results.ipynb runs top to bottom on a simulated results store (nbclient), so it never rots."""

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "results.ipynb"


def test_results_notebook_executes(cohort, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("HUBSCAN_RESULTS", str(cohort.root))
    monkeypatch.setenv("HUBSCAN_PLOTS", str(tmp_path / "plots"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "hit rows in" in text and "lambda GC" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 3
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "manhattan.png", "manhattan.svg", "qq.png", "qq.svg", "regional.png", "regional.svg"]
