"""Binary traits with K-fold cross-validation against REGENIE v4.1.2 (slow): REGENIE uses K folds for
binary traits only from 5,000 samples, so this cohort has 5,000 (the suite's smaller cohort tests
the leave-one-out path); one trait with its own missing samples. Same criterion as
test_regenie_agreement: correlation > 0.999 and relative difference < 1e-4 per chromosome
(measured when written: r = 1.0000000, relative difference ~1.5e-6)."""

import subprocess

import numpy as np
import pandas as pd
import pytest

from gwas.store.reader import GenotypeStore
from gwas.wgr.config import validate
from gwas.wgr.predictions import read_prediction_list
from gwas.wgr.run import run_wgr
from hubscan.cli import main
from tests.wgr.step1_cohort import regenie, run_regenie  # noqa: F401 - fixture

pytestmark = pytest.mark.slow


def test_binary_traits_five_fold_cv(regenie, plink2, tmp_path):
    assert main(["simulate", "--out", str(tmp_path / "cohort"), "--samples", "5000", "--variants", "1500",
                 "--chromosomes", "20-22", "--seed", "9", "--imputed-fraction", "0"]) == 0
    assert main(["ingest", str(tmp_path / "cohort" / "genotypes.vcf.gz"), "--out", str(tmp_path / "store")]) == 0
    done = subprocess.run([plink2, "--vcf", str(tmp_path / "cohort" / "genotypes.vcf.gz"), "--double-id",
                           "--make-bed", "--out", str(tmp_path / "geno")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:]
    store = GenotypeStore(tmp_path / "store")
    ids = store.sample_ids.tolist()
    (tmp_path / "extract.txt").write_text(
        "".join(f"{v}\n" for v in store.variant_field("variant_id")[store.select_variants(min_maf=0.01)]))
    truth = pd.read_csv(tmp_path / "cohort" / "truth" / "traits.tsv", sep="\t", na_values=["NA"])
    rng = np.random.default_rng(2)
    pheno = pd.DataFrame({"FID": ids, "IID": ids, "t2d": truth.type_2_diabetes, "cad": truth.coronary_artery_disease})
    pheno.loc[rng.random(len(ids)) < 0.1, "cad"] = np.nan
    cov = pd.DataFrame({"FID": ids, "IID": ids, "sex": truth.sex.astype(float), "age": rng.normal(55, 10, len(ids))})
    pheno.to_csv(tmp_path / "pheno.txt", sep="\t", index=False, na_rep="NA")
    cov.to_csv(tmp_path / "cov.txt", sep="\t", index=False)

    res = run_wgr(validate({"genotypes": str(tmp_path / "store"), "phenotypes": str(tmp_path / "pheno.txt"),
                            "covariates": [str(tmp_path / "cov.txt")], "traits": ["t2d", "cad"], "binary": True,
                            "out": str(tmp_path / "hubscan"), "min_maf": 0.01, "block_size": 200, "min_cases": 10}))
    theirs = run_regenie(regenie, tmp_path / "regenie" / "fit", "--bed", str(tmp_path / "geno"), "--extract",
                         str(tmp_path / "extract.txt"), "--phenoFile", str(tmp_path / "pheno.txt"), "--phenoColList",
                         "t2d,cad", "--covarFile", str(tmp_path / "cov.txt"), "--bsize", "200", "--bt")
    none = {t: np.zeros(len(ids), bool) for t in ("t2d", "cad")}
    mine = read_prediction_list(res.pred_list, ["t2d", "cad"], ids, required=none)
    ref = read_prediction_list(theirs, ["t2d", "cad"], ids, required=none)
    for trait in ("t2d", "cad"):
        for chrom in (20, 21, 22, 1):
            a, b = mine[trait].for_chromosome(chrom), ref[trait].for_chromosome(chrom)
            np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
            ok = ~np.isnan(b)
            corr = np.corrcoef(a[ok], b[ok])[0, 1]
            rel = np.abs(a[ok] - b[ok]).max() / np.abs(b[ok]).max()
            print(f"{trait} chr{chrom}: r={corr:.8f} rel.diff={rel:.1e}")
            assert corr > 0.999 and rel < 1e-4
