"""Synthetic hub cohorts: samples, genotypes (VCF/BGEN) and health records with planted truth.

* :mod:`hubscan.simulate.cohort` — the cohort specification and the samples (ids, populations,
  sex, related pairs).
* :mod:`hubscan.simulate.genotypes` — the variants and the genotypes, generated block by block from
  the seed (any block can be regenerated alone), and the true ALT dosages used to plant effects.
* :mod:`hubscan.simulate.genotype_files` — writing ``genotypes.vcf.gz`` (+ ``.tbi``),
  ``genotypes.bgen`` (+ ``.sample``) and ``variants.tsv``, in parallel under Spark.
* :mod:`hubscan.simulate.traits` — the planted truth: causal variants (effect allele ALT),
  quantitative traits and disease liabilities/case status; ``truth/*.tsv``.
* :mod:`hubscan.simulate.records` — health records (OMOP CDM v5.4 CSV/Parquet, the hub long-form
  extract) and the linkage table, written in bounded-memory chunks of people.
"""
