"""Association tests on in-memory arrays (notebooks and the scans use the same functions).

* :func:`gwas.assoc.linear.linear_regression` — many quantitative traits, each with its own samples
* :func:`gwas.assoc.glm.logistic_regression` — Wald, LRT, score, Firth, Firth fallback
* :func:`gwas.assoc.glm.poisson_regression` — Wald, LRT, score

Scans over many blocks of variants prepare the trait side once — :func:`gwas.assoc.linear.linear_model`,
:func:`gwas.assoc.glm.logistic_model`, :func:`gwas.assoc.glm.poisson_model` (masks, covariate
bases, null fits) — and call ``model.test(dosage_block)`` per block, with the same results.

Conventions: dosage (variants, samples) of the effect (ALT) allele, NaN missing (mean-imputed);
traits (samples, traits), NaN = not analysed; results are :class:`gwas.assoc.results.AssociationResult`.
"""

from gwas.assoc.glm import logistic_model, logistic_regression, poisson_model, poisson_regression
from gwas.assoc.linear import linear_model, linear_regression
from gwas.assoc.results import AssociationResult, ErrorCode

__all__ = ["AssociationResult", "ErrorCode", "linear_model", "linear_regression", "logistic_model", "logistic_regression",
           "poisson_model", "poisson_regression"]
