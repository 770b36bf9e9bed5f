"""Fixtures (import them into a test module) of a small cohort for step 1: a genotype store and the same genotypes as PLINK .bed (plink2 from
the VCF), phenotype and covariate files in REGENIE's layout, and a runner for REGENIE v4.1.2."""

import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hubscan.cli import main
from tests.wgr.regenie_cohort import regenie_binary

#: hard calls only (plink2 reads the VCF's GT, the store would read imputed dosages), some missing
COHORT = ["--samples", "500", "--variants", "3000", "--chromosomes", "20-22", "--seed", "7",
          "--imputed-fraction", "0", "--missing-rate", "0.005"]
MIN_MAF = 0.01


@pytest.fixture(scope="session")
def wgr_cohort(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("wgr")
    assert main(["simulate", "--out", str(root / "cohort"), *COHORT]) == 0
    assert main(["ingest", str(root / "cohort" / "genotypes.vcf.gz"), "--out", str(root / "store")]) == 0
    truth = pd.read_csv(root / "cohort" / "truth" / "traits.tsv", sep="\t", na_values=["NA"])
    rng = np.random.default_rng(11)
    ids = truth.sample_id
    pheno = pd.DataFrame({"FID": ids, "IID": ids, "ldl": truth.ldl, "bmi": truth.bmi, "hba1c": truth.hba1c,
                          "t2d": truth.type_2_diabetes, "cad": truth.coronary_artery_disease})
    pheno.loc[rng.random(len(pheno)) < 0.2, "bmi"] = np.nan     # a quantitative trait's own missing samples
    pheno.loc[rng.random(len(pheno)) < 0.1, "cad"] = np.nan     # and a binary one's
    cov = pd.DataFrame({"FID": ids, "IID": ids, "sex": truth.sex.astype(float),
                        "age": np.round(rng.normal(55, 10, len(ids)), 1)})
    cov.loc[3, "age"] = np.nan                                   # one sample lacks a covariate
    pheno.to_csv(root / "pheno.txt", sep="\t", index=False, na_rep="NA")
    cov.to_csv(root / "cov.txt", sep="\t", index=False, na_rep="NA")
    return {"root": root, "store": root / "store", "pheno": root / "pheno.txt", "cov": root / "cov.txt",
            "pheno_frame": pheno, "cov_frame": cov}


@pytest.fixture(scope="session")
def regenie() -> str:
    """REGENIE v4.1.2's path, or skip with the reason when it cannot run here."""
    return regenie_binary()


@pytest.fixture(scope="session")
def wgr_plink(wgr_cohort, plink2) -> dict:
    """The cohort's VCF as PLINK .bed (FID = IID) and the ids of the step-1 variants (MAF filter)."""
    from gwas.store.reader import GenotypeStore

    root = wgr_cohort["root"]
    done = subprocess.run([plink2, "--vcf", str(root / "cohort" / "genotypes.vcf.gz"), "--double-id",
                           "--make-bed", "--out", str(root / "geno")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:]
    store = GenotypeStore(wgr_cohort["store"])
    ids = store.variant_field("variant_id")[store.select_variants(min_maf=MIN_MAF)]
    (root / "extract.txt").write_text("".join(f"{v}\n" for v in ids))
    return {"bed": root / "geno", "extract": root / "extract.txt"}


def run_regenie(regenie: str, out: Path, *args: str) -> Path:
    """REGENIE step 1 (one thread, OpenBLAS at one thread); returns its _pred.list."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    out.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([regenie, "--step", "1", "--threads", "1", "--lowmem", "--out", str(out), *args],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return Path(f"{out}_pred.list")




def loco_agreement(ours: Path, theirs: Path, traits: list[str], sample_ids: list[str], chromosomes) -> list[tuple]:
    """Two prediction lists (hubscan's, REGENIE's) compared per trait and chromosome: rows
    (trait, chromosome, correlation, relative difference, samples), the relative difference being
    the largest |ours - theirs| over the chromosome's largest |theirs|. The same samples must have
    a prediction in both (NA for a binary trait's missing samples)."""
    from gwas.wgr.predictions import read_prediction_list

    none = {t: np.zeros(len(sample_ids), bool) for t in traits}
    mine = read_prediction_list(ours, traits, sample_ids, required=none)
    ref = read_prediction_list(theirs, traits, sample_ids, required=none)
    rows = []
    for trait in traits:
        for chrom in chromosomes:
            a, b = mine[trait].for_chromosome(chrom), ref[trait].for_chromosome(chrom)
            np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"{trait} chr{chrom} samples")
            ok = ~np.isnan(b)
            rows.append((trait, chrom, float(np.corrcoef(a[ok], b[ok])[0, 1]),
                         float(np.abs(a[ok] - b[ok]).max() / np.abs(b[ok]).max()), int(ok.sum())))
    return rows
