"""Association tests on in-memory arrays (notebooks and the scans use the same functions).

* :func:`gwas.assoc.linear.linear_regression` — many quantitative traits, each with its own samples
* :func:`gwas.assoc.glm.logistic_regression` — Wald, LRT, score, Firth, Firth fallback
* :func:`gwas.assoc.glm.poisson_regression` — Wald, LRT, score

Conventions: dosage (variants, samples) of the effect (ALT) allele, NaN missing (mean-imputed);
traits (samples, traits), NaN = not analysed; results are :class:`gwas.assoc.results.AssociationResult`.
"""

from gwas.assoc.glm import logistic_regression, poisson_regression
from gwas.assoc.linear import linear_regression
from gwas.assoc.results import AssociationResult, ErrorCode

__all__ = ["AssociationResult", "ErrorCode", "linear_regression", "logistic_regression", "poisson_regression"]
