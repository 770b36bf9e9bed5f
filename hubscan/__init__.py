"""hubscan: from hub health records and genotypes to GWAS/PheWAS summary statistics.

Packages: ``hubscan`` (CLI, Spark/Hail runtime, cohort simulation, shared plumbing),
``gwas`` (genotype I/O and store, association kernels, scans, publishing) and
``phenotypes`` (EHR ingestion, vocabularies, phecodes, covariates).
"""

__version__ = "0.1.0"
