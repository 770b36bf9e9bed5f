"""Hail on hubscan's SparkContext, started only when a job needs it.

Hail writes its log, temporary tables and index scratch under the run folder (it would
otherwise litter the current directory and /tmp); the default reference is GRCh37. Its log is kept
at WARN: at INFO Hail prints its IR, whose literals and key bounds hold sample ids.
"""

import logging
import os
import warnings
from pathlib import Path

from hubscan.runtime.spark import run_paths, spark_session

log = logging.getLogger(__name__)


def init_hail(run_dir: str | os.PathLike, reference: str = "GRCh37"):
    """Initialise Hail on the active (or a new embedded) SparkSession; return the ``hail`` module."""
    import hail as hl

    spark = spark_session(run_dir, with_hail=True)
    paths = run_paths(run_dir)
    with warnings.catch_warnings():
        # Hail warns about classpath settings we have already made, and about Java 17.
        warnings.simplefilter("ignore")
        hl.init(
            sc=spark.sparkContext,
            log=str(Path(paths["logs"]) / "hail.log"),
            tmp_dir=str(paths["hail_tmp"]),
            local_tmpdir=str(paths["hail_tmp"]),
            default_reference=reference,
            quiet=True,
            idempotent=True,
        )
    # hl.init sets the JVM's root logger to INFO into hail.log, where Hail prints its IR: literals
    # and table key bounds, i.e. sample ids. WARN keeps the log for what went wrong, without data.
    spark.sparkContext.setLogLevel("WARN")
    log.info("Hail %s started on the Spark context", hl.version())
    return hl
