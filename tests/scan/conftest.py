"""A small simulated cohort in a genotype store, with phenotype and covariate files, for the scans."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hubscan.cli import main

TINY = ["--samples", "400", "--variants", "1500", "--chromosomes", "20-22", "--seed", "3"]


def write_plink_table(path: Path, frame: pd.DataFrame) -> Path:
    """plink2/REGENIE layout: #FID IID columns..., NA missing."""
    out = frame.copy()
    out.insert(0, "#FID", out["IID"])
    out.to_csv(path, sep="\t", index=False, na_rep="NA")
    return path


@pytest.fixture(scope="session")
def scan_cohort(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("scan")
    assert main(["simulate", "--out", str(root / "cohort"), *TINY]) == 0
    assert main(["ingest", str(root / "cohort" / "genotypes.vcf.gz"), "--out", str(root / "store")]) == 0
    truth = pd.read_csv(root / "cohort" / "truth" / "traits.tsv", sep="\t", na_values=["NA"])
    rng = np.random.default_rng(5)
    pheno = pd.DataFrame({"IID": truth.sample_id, "ldl": truth.ldl, "bmi": truth.bmi,
                          "type_2_diabetes": truth.type_2_diabetes, "prostate_cancer": truth.prostate_cancer})
    pheno.loc[rng.random(len(pheno)) < 0.3, "bmi"] = np.nan          # its own missing samples
    cov = pd.DataFrame({"IID": truth.sample_id, "sex": (truth.sex == 1).astype(float),
                        "age": np.round(rng.normal(55, 10, len(truth)), 1)})
    cov.loc[3, "age"] = np.nan                                      # one sample lacks a covariate
    return {"root": root, "store": root / "store", "cohort": root / "cohort",
            "pheno": write_plink_table(root / "pheno.tsv", pheno),
            "cov": write_plink_table(root / "cov.tsv", cov), "pheno_frame": pheno, "cov_frame": cov}
