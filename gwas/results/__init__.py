"""The results store: what a GWAS or PheWAS scan writes and what publishing and notebooks read.

:mod:`gwas.results.schema` is the one registry of its columns; :mod:`gwas.results.store` writes
blocks atomically and opens a finished store with pandas or polars (no Spark needed).
"""

from gwas.results.schema import RESULTS_FORMAT, RESULT_COLUMNS
from gwas.results.store import ResultsStore, open_results

__all__ = ["RESULTS_FORMAT", "RESULT_COLUMNS", "ResultsStore", "open_results"]
