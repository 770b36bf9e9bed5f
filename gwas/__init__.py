"""Genotypes and association: I/O and the store, Numba kernels, tests, scans, QC.

The association tests are importable from here: ``gwas.linear_regression``,
``gwas.logistic_regression``, ``gwas.poisson_regression`` (see :mod:`gwas.assoc`).
"""


def __getattr__(name):  # lazy: `import gwas` stays light (no numba compile) until a test is used
    if name in ("linear_regression", "logistic_regression", "poisson_regression"):
        import gwas.assoc

        return getattr(gwas.assoc, name)
    raise AttributeError(name)
