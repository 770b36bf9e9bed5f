"""Genetic QC and population structure on Hail: sample and variant QC, genetic sex, relatedness,
principal components. Entry point: :func:`gwas.qc.run.run_qc` (``hubscan qc``, ``jobs/qc.py``)."""
