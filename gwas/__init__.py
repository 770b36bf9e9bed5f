"""Genotypes and association: I/O and the store, Numba kernels, tests, scans, QC.

The association tests are importable from here: ``gwas.linear_regression``,
``gwas.logistic_regression``, ``gwas.poisson_regression``, and their prepared forms for many blocks
of variants ``gwas.linear_model``, ``gwas.logistic_model``, ``gwas.poisson_model`` (see :mod:`gwas.assoc`).

Importing the package keys Numba's cache by the kernels' source (:mod:`hubscan.runtime.numba_cache`)
before any kernel module is loaded.
"""

from hubscan.runtime import numba_cache as _numba_cache

_numba_cache.configure()


def __getattr__(name):  # lazy: `import gwas` stays light (no numba compile) until a test is used
    if name in ("linear_regression", "logistic_regression", "poisson_regression", "linear_model", "logistic_model",
                "poisson_model"):
        import gwas.assoc

        return getattr(gwas.assoc, name)
    raise AttributeError(name)
