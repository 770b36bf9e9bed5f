"""Genotype ingestion: VCF/BCF and BGEN into the genotype store (``hubscan ingest``)."""
