"""Columns of the results store (one registry; writers and readers check against it).

Layout of a results store folder::

    _results.json                 run metadata (see :data:`METADATA_FIELDS`), written at finalise
                                  (``results.json`` before layout 1.1; the ``_`` keeps it out of the
                                  Parquet dataset that pandas, polars, DuckDB, Spark read)
    _SUCCESS                      written last, after every block is verified
    _parts/                       one completion marker per variant block (resumable runs)
    trait=<name>/block-<b>.parquet   one file per (trait, variant block); ``<name>`` URI-encoded

One row per (variant, trait). The effect allele is ``alt`` (the store's ``variant_allele[:, 1]``);
``beta`` is per copy of it: trait units (linear), log-odds (logistic) or log-rate (Poisson).
``trait`` is not a column of the files: it comes from the partition folder (pandas, polars and
pyarrow read ``trait=<name>`` folders as a column).
"""

from __future__ import annotations

import pyarrow as pa

RESULTS_FORMAT = "hubscan-results"
#: Major version: readers refuse other majors; minors add columns or metadata only.
#: 1.1: metadata in ``_results.json`` (was ``results.json``), ``error_code`` int32 (was int8).
RESULTS_VERSION = (1, 1)

#: name -> (arrow type, description)
RESULT_COLUMNS: dict[str, tuple[pa.DataType, str]] = {
    "variant_index": (pa.int64(), "row of the variant in the genotype store"),
    "contig": (pa.string(), "chromosome as named in the genotype store"),
    "position": (pa.int64(), "1-based position (the store's coordinates, build as ingested)"),
    "variant_id": (pa.string(), "variant identifier from the source (e.g. rsid), '.' when none"),
    "ref": (pa.string(), "reference (other) allele"),
    "alt": (pa.string(), "alternate allele = effect allele"),
    "info": (pa.float64(), "imputation INFO / r² from the store (1 for hard calls)"),
    "n": (pa.int64(), "samples tested"),
    "n_cases": (pa.int64(), "cases among the tested samples (binary traits; -1 otherwise)"),
    "n_controls": (pa.int64(), "controls among the tested samples (binary traits; -1 otherwise)"),
    "allele_count": (pa.float64(), "sum of called ALT dosages in the tested samples"),
    "allele_frequency": (pa.float64(), "ALT frequency in the tested samples"),
    "beta": (pa.float64(), "effect per ALT copy (score-test rows of firth-fallback: the one-step estimate U/V)"),
    "standard_error": (pa.float64(), "standard error of beta (score-test rows of firth-fallback: 1/sqrt(V))"),
    "statistic": (pa.float64(), "t (linear), z (Wald) or chi² (LRT, score)"),
    "p_value": (pa.float64(), "p-value (0 when it underflows: use neg_log10_p)"),
    "neg_log10_p": (pa.float64(), "-log10 p computed in log space (exact below 1e-300)"),
    "test": (pa.string(), "test that produced the row (e.g. linear, score, firth)"),
    # int32 rather than int8: Spark reads int8 as a byte type that Hail's Table.from_spark refuses
    "error_code": (pa.int32(), "0 tested; see gwas.assoc.results.ErrorCode"),
    "converged": (pa.bool_(), "iterative fit converged (linear: true)"),
    "exploded": (pa.bool_(), "iterative fit diverged"),
    "iterations": (pa.int32(), "iterations of the fit that gave the row"),
    "firth_used": (pa.bool_(), "the row comes from Firth's penalized fit"),
}

RESULT_SCHEMA = pa.schema([pa.field(name, dtype) for name, (dtype, _) in RESULT_COLUMNS.items()])

#: keys of _results.json
METADATA_FIELDS = {
    "format": "always 'hubscan-results'",
    "version": "[major, minor] of the layout",
    "job": "gwas or phewas",
    "genome_build": "GRCh37 or GRCh38 when the run configuration gives it (else null)",
    "created_by": "hubscan version that wrote the store",
    "software": "versions of python, numpy, numba, pyarrow, pyspark",
    "config": "the run configuration as resolved (every option)",
    "inputs": "input files with their SHA-256 (genotype store: its completion record)",
    "traits": "one entry per trait: name, type, model, test, n, n_cases, n_controls, status, reason",
    "covariates": "covariate names used (after dropping constant ones is refused: they are named errors)",
    "n_variants": "variants scanned",
    "blocks": "variant blocks written",
}
