"""Session fixtures: one simulated results store, published once through the real CLI."""

import subprocess
import sys

import pytest

from tests.publish.cohort import make_cohort

PUBLISH_DATE = "2026-01-02"


@pytest.fixture(scope="session")
def cohort(tmp_path_factory):
    return make_cohort(tmp_path_factory.mktemp("publish") / "store")


@pytest.fixture(scope="session")
def published(cohort, tmp_path_factory):
    """(output folder, completed process) of `hubscan --log-level DEBUG publish STORE --out OUT`."""
    out = tmp_path_factory.mktemp("published") / "release"
    proc = subprocess.run([sys.executable, "-m", "hubscan.cli", "--log-level", "DEBUG", "publish", str(cohort.root),
                           "--out", str(out), "--date", PUBLISH_DATE], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out, proc
