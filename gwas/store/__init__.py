"""The genotype store: one chunked Zarr folder per cohort (layout: :mod:`gwas.store.variables`)."""
