"""Session-wide fixtures: shared reference data, one Spark (and Hail) per test session, peers.

Tests that need ``../shared/data`` or an outside tool (plink2) skip with the reason when it is
absent; `.ci/run` installs the tools so CI always runs those comparisons.
"""

import os
import shutil
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"

os.environ.setdefault("NUMBA_CACHE_DIR", str(PROJECT_ROOT / ".numba_cache"))
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the project root (public reference files), or skip."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared reference data not found at {SHARED_DATA} (only present in the hubscan workspace)")
    return SHARED_DATA


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"`{name}` is not installed (Debian: apt-get install {name}); .ci/run installs it")
    return path


@pytest.fixture(scope="session")
def plink2() -> str:
    """Path of the plink2 executable, or skip."""
    return _tool("plink2")


@pytest.fixture(scope="session")
def spark_run_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("spark-run")


@pytest.fixture(scope="session")
def spark(spark_run_dir):
    """One embedded local SparkSession (with Hail's jar on the classpath) for the whole session."""
    from hubscan.runtime.spark import spark_session, stop_spark

    session = spark_session(spark_run_dir, overrides={"spark.master": "local[2]", "spark.driver.memory": "3g"})
    yield session
    stop_spark(spark_run_dir)


@pytest.fixture(scope="session")
def hail(spark, spark_run_dir):
    """The ``hail`` module, initialised once on the session's SparkContext."""
    from hubscan.runtime.hail import init_hail

    return init_hail(spark_run_dir)


#: the publication date of the shared release (publishing writes it into its files)
PUBLISH_DATE = "2026-01-02"


@pytest.fixture(scope="session")
def results_cohort(tmp_path_factory):
    """One simulated results store (:func:`tests.publish.cohort.make_cohort`) shared by the
    publishing and results-browser tests (they copy it before changing anything)."""
    from tests.publish.cohort import make_cohort

    return make_cohort(tmp_path_factory.mktemp("publish") / "store")


@pytest.fixture(scope="session")
def published(results_cohort, tmp_path_factory):
    """(output folder, completed process) of `hubscan --log-level DEBUG publish STORE --out OUT`,
    run once for the publishing and results-browser tests."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("published") / "release"
    proc = subprocess.run([sys.executable, "-m", "hubscan.cli", "--log-level", "DEBUG", "publish",
                           str(results_cohort.root), "--out", str(out), "--date", PUBLISH_DATE],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out, proc
