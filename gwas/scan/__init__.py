"""GWAS and PheWAS scans: a run configuration, checked inputs, variant blocks as Spark tasks,
one results store (:mod:`gwas.results`).

>>> from gwas.scan import load_config, run_scan
>>> run_scan(load_config("run.yaml"))            # in this process; pass spark= for Spark tasks
"""

from gwas.scan.config import ScanConfig, load_config
from gwas.scan.run import run_scan

__all__ = ["ScanConfig", "load_config", "run_scan"]
