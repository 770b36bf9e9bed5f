"""QC plots are the same bytes on a rerun: matplotlib's SVG element ids come from a salted hash
(random per process unless svg.hashsalt is set) and its SVG metadata carries a date unless
Date=None. Each rerun is a fresh process, as a user's rerun is."""

import hashlib
import subprocess
import sys

SCRIPT = """
import sys
from pathlib import Path
import pandas as pd
from gwas.qc.report import _histogram
folder = Path(sys.argv[1])
folder.mkdir()
_histogram(folder, pd.Series([0.91, 0.95, 0.97, 0.99, 0.995, 1.0]), "sample_call_rate", "call rate", [0.97])
"""


def _run(folder):
    subprocess.run([sys.executable, "-c", SCRIPT, str(folder)], check=True, timeout=300)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_qc_plots_are_byte_identical_across_processes(tmp_path):
    first, second = _run(tmp_path / "a"), _run(tmp_path / "b")
    assert set(first) == {"sample_call_rate.png", "sample_call_rate.svg"}
    assert first == second
    svg = (tmp_path / "a" / "sample_call_rate.svg").read_text()
    assert "<dc:date>" not in svg and 'id="' in svg  # ids are there, and fixed
