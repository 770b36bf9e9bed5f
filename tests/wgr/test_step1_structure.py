"""Truth on simulation (slow): on a cohort with strong population structure and many related pairs,
null traits (population means differ, relatives share an environment, no genetic effect) are
inflated when tested without step 1 (no principal components), and testing the trait minus its
LOCO prediction (REGENIE's step 2 for quantitative traits) brings the genomic-control lambda closer
to 1. Both lambdas are printed."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import gwas
from gwas.store.reader import GenotypeStore
from gwas.wgr.config import validate
from gwas.wgr.model import covariate_basis
from gwas.wgr.predictions import read_prediction_list
from gwas.wgr.run import run_wgr
from hubscan.cli import main
from hubscan.simulate.cohort import CohortSpec, simulate_samples

pytestmark = pytest.mark.slow

SPEC = dict(n_samples=1500, n_variants=6000, chromosomes=tuple(str(c) for c in range(1, 7)), n_populations=3,
            fst=0.1, related_fraction=0.4, missing_rate=0.0, imputed_fraction=0.0, seed=5)


def _lambda_gc(p: np.ndarray) -> float:
    return float(np.median(stats.chi2.isf(p[np.isfinite(p)], 1)) / stats.chi2.ppf(0.5, 1))


def test_step1_brings_null_lambda_closer_to_one(tmp_path):
    s = SPEC
    assert main(["simulate", "--out", str(tmp_path / "cohort"), "--samples", str(s["n_samples"]), "--variants",
                 str(s["n_variants"]), "--chromosomes", "1-6", "--populations", "3", "--fst", str(s["fst"]),
                 "--related-fraction", str(s["related_fraction"]), "--missing-rate", "0", "--imputed-fraction", "0",
                 "--seed", str(s["seed"])]) == 0
    assert main(["ingest", str(tmp_path / "cohort" / "genotypes.vcf.gz"), "--out", str(tmp_path / "store")]) == 0
    samples = simulate_samples(CohortSpec(**SPEC))
    store = GenotypeStore(tmp_path / "store")
    assert store.sample_ids.tolist() == samples.ids.tolist()
    rng = np.random.default_rng(3)
    n = len(samples.ids)
    family = rng.normal(size=n)
    family[samples.pairs[:, 1]] = family[samples.pairs[:, 0]]          # relatives share an environment
    traits = {}
    for k in range(2):
        shift = rng.normal(scale=0.6, size=s["n_populations"])
        traits[f"null{k + 1}"] = shift[samples.population] + 0.7 * family + rng.normal(size=n)
    pheno = pd.DataFrame({"FID": samples.ids, "IID": samples.ids, **traits})
    cov = pd.DataFrame({"FID": samples.ids, "IID": samples.ids, "sex": samples.sex.astype(float)})
    pheno.to_csv(tmp_path / "pheno.txt", sep="\t", index=False)
    cov.to_csv(tmp_path / "cov.txt", sep="\t", index=False)

    res = run_wgr(validate({"genotypes": str(tmp_path / "store"), "phenotypes": str(tmp_path / "pheno.txt"),
                            "covariates": [str(tmp_path / "cov.txt")], "out": str(tmp_path / "step1"),
                            "min_maf": 0.05, "block_size": 500}))
    ids = store.sample_ids.tolist()
    loco = read_prediction_list(res.pred_list, list(traits), ids)
    index = store.select_variants(min_maf=0.05)
    contigs = np.asarray(store.contig_ids)[store.variant_field("variant_contig")[index]]
    dosage = store.dosage(index, None, np.float64)
    covariates = cov[["sex"]].to_numpy()
    basis = covariate_basis(covariates)
    for name, y in traits.items():
        plain = gwas.linear_regression(dosage, y, covariates).p_value[:, 0]
        # the LOCO prediction is on the scale of the trait after covariates, in standard deviations
        resid = y - basis @ (basis.T @ y)
        scale = np.linalg.norm(resid) / np.sqrt(n - basis.shape[1])
        p_step1 = np.empty(len(index))
        for contig in np.unique(contigs):
            rows = contigs == contig
            adjusted = y - scale * loco[name].for_chromosome(contig)
            p_step1[rows] = gwas.linear_regression(dosage[rows], adjusted, covariates).p_value[:, 0]
        before, after = _lambda_gc(plain), _lambda_gc(p_step1)
        print(f"{name}: lambda_GC without step 1 {before:.3f}, with step 1 {after:.3f}")
        assert before > 1.1, f"{name}: the simulated structure should inflate the plain test (lambda {before:.3f})"
        assert abs(after - 1) < abs(before - 1), f"{name}: lambda {before:.3f} -> {after:.3f}"
