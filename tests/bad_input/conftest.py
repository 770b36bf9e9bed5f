"""One tiny valid cohort shared by every bad-input case: simulated genotypes and records, a genotype
store, plink2-layout phenotype and covariate files and a finished results store, all made without
Spark (simulate, ingest and the scan run in this process)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hubscan.cli import main

TINY = ["--samples", "120", "--variants", "300", "--chromosomes", "21-22", "--seed", "7"]


@pytest.fixture(scope="session")
def valid(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad-input-cohort")
    cohort = root / "cohort"
    assert main(["--log-level", "ERROR", "simulate", "--out", str(cohort), *TINY]) == 0
    assert main(["--log-level", "ERROR", "ingest", str(cohort / "genotypes.vcf.gz"), "--out", str(root / "store")]) == 0
    truth = pd.read_csv(cohort / "truth" / "traits.tsv", sep="\t", na_values=["NA"])
    pheno = pd.DataFrame({"#FID": truth.sample_id, "IID": truth.sample_id, "ldl": truth.ldl, "bmi": truth.bmi})
    pheno.to_csv(root / "pheno.tsv", sep="\t", index=False, na_rep="NA")
    rng = np.random.default_rng(1)
    cov = pd.DataFrame({"#FID": truth.sample_id, "IID": truth.sample_id,
                        "age": np.round(rng.normal(55, 10, len(truth)), 1)})
    cov.to_csv(root / "cov.tsv", sep="\t", index=False, na_rep="NA")

    from gwas.scan.config import load_config
    from gwas.scan.run import run_scan

    cfg = load_config(None, {"genotypes": str(root / "store"), "phenotypes": str(root / "pheno.tsv"),
                             "covariates": [str(root / "cov.tsv")], "out": str(root / "results"),
                             "genome_build": "GRCh37"})
    run_scan(cfg)
    return {"root": root, "cohort": cohort, "store": root / "store", "pheno": root / "pheno.tsv",
            "cov": root / "cov.tsv", "results": root / "results", "vcf": cohort / "genotypes.vcf.gz",
            "bgen": cohort / "genotypes.bgen", "sample": cohort / "genotypes.sample",
            "omop": cohort / "omop", "linkage": cohort / "linkage.csv", "hub": cohort / "hub_events.csv"}
