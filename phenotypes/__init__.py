"""EHR phenotypes for hubscan: OMOP CDM and hub-extract readers, vocabularies (ICD-10 dotted or
HES-style, ICD-9-CM, crosswalks), phecodes 1.2 and X, YAML custom definitions, quantitative traits
from measurements, covariates, linkage to genotype samples, and the sample x trait matrix.

Entry points: :func:`phenotypes.pipeline.build_phenotypes` (everything, as ``hubscan phenotypes``
runs it) and :func:`phenotypes.pipeline.load_traits` (the written matrix with NaN masks). Two
engines with the same results (:mod:`phenotypes.engines`): in-process on polars
(:mod:`phenotypes.columnar`, the default) and Spark (clusters).
"""
