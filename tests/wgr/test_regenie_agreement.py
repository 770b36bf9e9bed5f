"""Step 1 against REGENIE v4.1.2 itself: the same genotypes (the store, and plink2's .bed of the same
VCF), the same traits, covariates, blocks, folds and ridge grids; hubscan's LOCO predictions must
correlate > 0.999 with REGENIE's for every trait and chromosome (the issue's criterion). The
relative difference (largest |hubscan - REGENIE| over the chromosome's largest |REGENIE|) is
printed and must stay below 1e-4: REGENIE writes 6 significant digits (<= 5e-6 relative per value),
and both compute the same arithmetic in another summation order (~1e-12)."""

from gwas.store.reader import GenotypeStore
from gwas.wgr.config import validate
from gwas.wgr.run import run_wgr
from hubscan.cli import main
from tests.wgr.step1_cohort import MIN_MAF, loco_agreement, regenie, run_regenie, wgr_cohort, wgr_plink  # noqa: F401 - fixtures

BSIZE = 200            # 2,6xx step-1 variants: 14 blocks over chromosomes 20-22
CORRELATION = 0.999
RELATIVE = 1e-4


def _hubscan(c, out, traits, **extra):
    cfg = validate({"genotypes": str(c["store"]), "phenotypes": str(c["pheno"]), "covariates": [str(c["cov"])],
                    "traits": traits, "out": str(out), "min_maf": MIN_MAF, "block_size": BSIZE, "min_cases": 10,
                    **extra})
    return run_wgr(cfg)


def _compare(c, ours, theirs, traits):
    ids = GenotypeStore(c["store"]).sample_ids.tolist()
    # chromosome 1 has no step-1 variant: both write the whole-genome prediction there
    rows = loco_agreement(ours, theirs, traits, ids, (20, 21, 22, 1))
    report = [f"{t} chr{c}: r={r:.8f} rel.diff={rel:.1e} (n={n})" for t, c, r, rel, n in rows]
    print("\n".join(report))
    for line, (_, _, r, rel, _) in zip(report, rows):
        assert r > CORRELATION and rel < RELATIVE, line


def test_quantitative_traits_five_fold_cv(wgr_cohort, wgr_plink, regenie, tmp_path):
    traits = ["ldl", "bmi", "hba1c"]      # bmi with its own missing samples (mean-imputed, as REGENIE)
    res = _hubscan(wgr_cohort, tmp_path / "hubscan", traits)
    assert [t["status"] for t in res.traits] == ["ok"] * 3 and res.n_blocks == 14
    theirs = run_regenie(regenie, tmp_path / "regenie" / "fit", "--bed", str(wgr_plink["bed"]), "--extract",
                         str(wgr_plink["extract"]), "--phenoFile", str(wgr_cohort["pheno"]), "--phenoColList",
                         ",".join(traits), "--covarFile", str(wgr_cohort["cov"]), "--bsize", str(BSIZE))
    _compare(wgr_cohort, res.pred_list, theirs, traits)


def test_one_quantitative_trait_leave_one_out(wgr_cohort, wgr_plink, regenie, tmp_path):
    # one trait: its missing samples are left out (REGENIE's strict mode); --loocv
    res = _hubscan(wgr_cohort, tmp_path / "hubscan", ["bmi"], loocv=True, l0_h2=[0.1, 0.5, 0.9])
    theirs = run_regenie(regenie, tmp_path / "regenie" / "fit", "--bed", str(wgr_plink["bed"]), "--extract",
                         str(wgr_plink["extract"]), "--phenoFile", str(wgr_cohort["pheno"]), "--phenoColList", "bmi",
                         "--covarFile", str(wgr_cohort["cov"]), "--bsize", str(BSIZE), "--loocv",
                         "--setl0", "0.1,0.5,0.9")
    _compare(wgr_cohort, res.pred_list, theirs, ["bmi"])


def test_binary_traits(wgr_cohort, wgr_plink, regenie, tmp_path):
    # under 5,000 samples both use leave-one-out CV; cad's missing samples are masked (NA)
    res = _hubscan(wgr_cohort, tmp_path / "hubscan", ["t2d", "cad"], binary=True)
    assert [t["status"] for t in res.traits] == ["ok", "ok"]
    theirs = run_regenie(regenie, tmp_path / "regenie" / "fit", "--bed", str(wgr_plink["bed"]), "--extract",
                         str(wgr_plink["extract"]), "--phenoFile", str(wgr_cohort["pheno"]), "--phenoColList",
                         "t2d,cad", "--covarFile", str(wgr_cohort["cov"]), "--bsize", str(BSIZE), "--bt")
    _compare(wgr_cohort, res.pred_list, theirs, ["t2d", "cad"])


def test_command_line_with_regenie_option_names(wgr_cohort, wgr_plink, regenie, tmp_path):
    # `hubscan wgr` with REGENIE's option names: --cv, --setl1 (comma-separated), --bsize, --extract
    out = tmp_path / "hubscan"
    assert main(["wgr", "--genotype-store", str(wgr_cohort["store"]), "--phenotypes", str(wgr_cohort["pheno"]),
                 "--covariate", str(wgr_cohort["cov"]), "--trait", "ldl", "--extract", str(wgr_plink["extract"]),
                 "--bsize", str(BSIZE), "--cv", "3", "--setl1", "0.2,0.6", "--out", str(out)]) == 0
    theirs = run_regenie(regenie, tmp_path / "regenie" / "fit", "--bed", str(wgr_plink["bed"]), "--extract",
                         str(wgr_plink["extract"]), "--phenoFile", str(wgr_cohort["pheno"]), "--phenoColList", "ldl",
                         "--covarFile", str(wgr_cohort["cov"]), "--bsize", str(BSIZE), "--cv", "3",
                         "--setl1", "0.2,0.6")
    _compare(wgr_cohort, out / "wgr_pred.list", theirs, ["ldl"])
