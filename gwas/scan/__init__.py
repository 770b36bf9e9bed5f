"""GWAS and PheWAS scans: a run configuration, checked inputs, variant blocks as Spark tasks,
one results store (:mod:`gwas.results`).

>>> from gwas.scan import load_config, run_scan
>>> run_scan(load_config("run.yaml"))            # in this process; pass spark= for Spark tasks
"""

#: Loaded on first use, so that ``hubscan gwas --help`` and option errors (gwas.scan.command) do not
#: import zarr, scipy and Numba first.
_MODULE_OF = {"ScanConfig": "gwas.scan.config", "load_config": "gwas.scan.config", "run_scan": "gwas.scan.run"}
__all__ = ["ScanConfig", "load_config", "run_scan"]


def __getattr__(name):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'gwas.scan' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_MODULE_OF[name]), name)


def __dir__():
    return __all__
