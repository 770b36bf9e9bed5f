"""Truth on simulation: whole-genome regression (`hubscan wgr` step 1, then `hubscan gwas --pred`)
against the planted truth of a cohort with strong relatedness (sib-ships of 4 and related pairs),
strong population structure confounded with the traits (5 populations, Fst 0.1, population shifts
of the trait means) and a polygenic background on every genetic trait.

Reference: the simulator's truth/ files (causal_variants.tsv, polygenic_effects.tsv). Null
variants are those that are neither causal nor in the polygenic background (for the null trait,
creatinine, every variant). Checked, for every quantitative trait, with every sample kept:

* lambda_GC of the null variants is inflated without step 1 (> 1.1) and closer to 1 with it, for
  the genetic traits (ldl, hba1c, bmi) and, where the structure inflates it, the null trait;
* the planted causal variants keep or gain power: over the causal variants of all genetic traits,
  their mean -log10 p after genomic control (chi2 / lambda_GC: the plain test's raw p-values are
  inflated by the confounding, so comparing them raw would reward the inflation) is at least as
  large with step 1, and their median rank among the null variants (share of null variants at
  least as significant) at least as good.

Seen here: a null trait whose population shifts are small (the small cohort's creatinine, lambda
0.93 without step 1) gets lambda 1.31 with step 1 and no principal components; REGENIE v4.1.2's
step 1 and 2 on the same files give the same 1.31 (its LOCO predictions of a trait with no
genetic effect pick up population structure). That lambda is printed, not checked.

The slow test is the full-size cohort (2,000 samples x 8,000 variants on 8 chromosomes; its
lambdas are in the README); the unmarked one runs the same pipeline on 600 x 3,000 on 5
chromosomes. Both print lambda_GC with and without step 1 and the causal variants' p-values.
Library functions the commands call (`run_wgr`, `run_scan`), without Spark; the cohort through
`hubscan simulate` and `hubscan ingest`.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gwas.results import open_results
from gwas.scan import run_scan
from gwas.scan.config import validate as scan_config
from gwas.wgr.config import validate as wgr_config
from gwas.wgr.run import run_wgr
from hubscan.cli import main

QUANTITATIVE = ["ldl", "hba1c", "bmi", "creatinine"]
GENETIC = ["ldl", "hba1c", "bmi"]
MIN_MAF = 0.01


def _lambda_gc(neg_log10_p: np.ndarray) -> float:
    p = 10.0 ** -neg_log10_p[np.isfinite(neg_log10_p)]
    return float(np.median(stats.chi2.isf(p, 1)) / stats.chi2.ppf(0.5, 1))


def run_truth(root: Path, samples: int, variants: int, chromosomes: str, seed: int) -> dict:
    """Simulate, ingest, step 1, and the scans without and with its predictions; returns the
    results frames, the truth and the sample count."""
    cohort = root / "cohort"
    assert main(["simulate", "--out", str(cohort), "--samples", str(samples), "--variants", str(variants),
                 "--chromosomes", chromosomes, "--populations", "5", "--fst", "0.1", "--related-fraction", "0.1",
                 "--family-fraction", "0.5", "--family-size", "4", "--polygenic-h2", "0.5",
                 "--stratification", "0.5", "--missing-rate", "0", "--imputed-fraction", "0",
                 "--ungenotyped-fraction", "0", "--seed", str(seed)]) == 0
    assert main(["ingest", str(cohort / "genotypes.vcf.gz"), "--out", str(root / "store")]) == 0
    truth = pd.read_csv(cohort / "truth" / "traits.tsv", sep="\t", na_values=["NA"])
    ids = truth.sample_id
    pd.DataFrame({"FID": ids, "IID": ids, **{t: truth[t] for t in QUANTITATIVE}}).to_csv(
        root / "pheno.txt", sep="\t", index=False)
    pd.DataFrame({"FID": ids, "IID": ids, "sex": truth.sex.astype(float)}).to_csv(root / "cov.txt", sep="\t",
                                                                                  index=False)
    common = {"genotypes": str(root / "store"), "phenotypes": str(root / "pheno.txt"),
              "covariates": [str(root / "cov.txt")], "min_maf": MIN_MAF}
    step1 = run_wgr(wgr_config({**common, "out": str(root / "step1"), "block_size": 500}))
    run_scan(scan_config({**common, "out": str(root / "plain")}))
    run_scan(scan_config({**common, "out": str(root / "step2"), "predictions": str(step1.pred_list)}))
    plain = open_results(root / "plain").read(traits=QUANTITATIVE)
    loco = open_results(root / "step2").read(traits=QUANTITATIVE)
    return {"plain": plain, "loco": loco, "n": len(ids),
            "causal": pd.read_csv(cohort / "truth" / "causal_variants.tsv", sep="\t"),
            "polygenic": pd.read_csv(cohort / "truth" / "polygenic_effects.tsv", sep="\t")}


def _gc_neg_log10_p(neg_log10_p: pd.Series, null: np.ndarray) -> tuple[float, pd.Series]:
    """lambda_GC of the null variants and every variant's -log10 p after genomic control (chi2 / lambda)."""
    chi2 = stats.chi2.isf(10.0 ** -neg_log10_p.to_numpy(), 1)
    lam = float(np.median(chi2[null]) / stats.chi2.ppf(0.5, 1))
    return lam, pd.Series(-stats.chi2.logsf(chi2 / lam, 1) / np.log(10), index=neg_log10_p.index)


def check_truth(run: dict, null_trait_inflated: bool) -> dict:
    """The assertions of the module docstring; returns the measured lambdas and causal p-values."""
    plain, loco = run["plain"], run["loco"]
    for frame in (plain, loco):  # every sample tested: relatives are kept
        assert (frame.n == run["n"]).all(), f"samples tested {sorted(frame.n.unique())} of {run['n']}"
    assert len(plain) == len(loco)
    not_null = set(run["causal"].variant_id) | set(run["polygenic"].variant_id)
    lambdas, causal = {}, []
    for trait in QUANTITATIVE:
        before = plain[plain.trait == trait].set_index("variant_id").neg_log10_p
        after = loco[loco.trait == trait].set_index("variant_id").neg_log10_p.loc[before.index]
        null = ~before.index.isin(not_null) if trait in GENETIC else np.ones(len(before), bool)
        (lam_before, gc_before), (lam_after, gc_after) = _gc_neg_log10_p(before, null), _gc_neg_log10_p(after, null)
        lambdas[trait] = (lam_before, lam_after)
        print(f"{trait}: lambda_GC of {null.sum()} null variants without step 1 {lam_before:.3f}, "
              f"with step 1 {lam_after:.3f}")
        for variant in run["causal"].variant_id[run["causal"].trait == trait]:
            # rank: the share of null variants at least as significant
            rank = [float((p[null] >= p[variant]).mean()) for p in (before, after)]
            causal.append((trait, variant, before[variant], after[variant], gc_before[variant], gc_after[variant],
                           *rank))
    causal = pd.DataFrame(causal, columns=["trait", "variant_id", "nlp_without", "nlp_with", "gc_nlp_without",
                                           "gc_nlp_with", "rank_without", "rank_with"])
    print(causal.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    print(f"causal variants: mean -log10 p after genomic control without step 1 {causal.gc_nlp_without.mean():.2f}, "
          f"with step 1 {causal.gc_nlp_with.mean():.2f}")
    checked = GENETIC + (["creatinine"] if null_trait_inflated else [])
    for trait in checked:
        b, a = lambdas[trait]
        assert b > 1.1, f"{trait}: the simulated structure should inflate the plain test (lambda {b:.3f})"
        assert abs(a - 1) < abs(b - 1), f"{trait}: lambda_GC {b:.3f} without step 1, {a:.3f} with it"
    # power at a calibrated level: the plain test's raw p-values are inflated by the confounding
    assert causal.gc_nlp_with.mean() >= causal.gc_nlp_without.mean(), "causal variants lost power"
    assert causal.rank_with.median() <= causal.rank_without.median(), "causal variants lost rank among the null"
    return {"lambdas": lambdas, "causal": causal}


def test_truth_small(tmp_path):
    # creatinine's population shifts are small at this seed (lambda 0.93 without step 1): its step-1
    # lambda (1.31, REGENIE v4.1.2 gives the same) is printed, not checked
    check_truth(run_truth(tmp_path, samples=600, variants=3000, chromosomes="18-22", seed=3), null_trait_inflated=False)


@pytest.mark.slow
def test_truth_full_size(tmp_path):
    check_truth(run_truth(tmp_path, samples=2000, variants=8000, chromosomes="15-22", seed=5), null_trait_inflated=True)
