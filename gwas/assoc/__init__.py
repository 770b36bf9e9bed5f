"""Association tests on in-memory arrays (notebooks and the scans use the same functions).

* :func:`gwas.assoc.linear.linear_regression` — many quantitative traits, each with its own samples
* :func:`gwas.assoc.glm.logistic_regression` — Wald, LRT, score, Firth, Firth fallback
* :func:`gwas.assoc.glm.poisson_regression` — Wald, LRT, score

Scans over many blocks of variants prepare the trait side once — :func:`gwas.assoc.linear.linear_model`,
:func:`gwas.assoc.glm.logistic_model`, :func:`gwas.assoc.glm.poisson_model` (masks, covariate
bases, null fits) — and call ``model.test(dosage_block)`` per block, with the same results.

Conventions: dosage (variants, samples) of the effect (ALT) allele, NaN missing (mean-imputed);
traits (samples, traits), NaN = not analysed; results are :class:`gwas.assoc.results.AssociationResult`.
Importing a name loads only its module (the linear path does not import the GLM kernels).
"""

_MODULE_OF = {"AssociationResult": "results", "ErrorCode": "results", "linear_model": "linear",
              "linear_regression": "linear", "logistic_model": "glm", "logistic_regression": "glm",
              "poisson_model": "glm", "poisson_regression": "glm"}
__all__ = sorted(_MODULE_OF)


def __getattr__(name):
    if name not in _MODULE_OF:
        raise AttributeError(name)
    from importlib import import_module

    return getattr(import_module(f"gwas.assoc.{_MODULE_OF[name]}"), name)


def __dir__():
    return __all__
