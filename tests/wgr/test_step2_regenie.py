"""hubscan's step 2 (gwas.wgr.step2) against REGENIE v4.1.2's own step 2 on the same PLINK files,
given REGENIE's own step-1 predictions (``--pred``) and without them (``--ignore-pred``).

Each trait is run alone in REGENIE (``--phenoCol``), so that both tools test it on its own samples.
The variants compared are REGENIE's (it skips MAC < 5). The tested allele: REGENIE's ALLELE1 is the
.bim A1 (column 5), the allele whose count hubscan's .bed reader and store use as ALT: checked.

Tolerances (REGENIE prints 6 significant digits, so its own rounding is up to 5e-6 relative; a
trailing zero is dropped, 1.4435 for 1.44350, up to 1e-5):
* linear: 1e-4 relative in beta, SE and -log10 p (the issue's), plus an absolute 1e-7 x SE on beta
  and 1e-7 on -log10 p for values near 0, where a relative error is meaningless (|z| < 1e-4: both
  tools sum in a different order; measured up to 2e-9 x SE);
* score and SPA: REGENIE's printed precision, 2e-5 relative (two units of the last digit), with the
  same absolute floor;
* approximate Firth: -log10 p to 2e-5, beta and SE of the corrected rows to 5e-4: REGENIE stops
  its Firth iterations at a looser tolerance than hubscan (measured up to 2e-4 on beta).
"""

import numpy as np
import pandas as pd
import pytest

from gwas.wgr.predictions import read_prediction_list
from gwas.wgr.step2 import binary_step2, quantitative_step2
from tests.wgr.regenie_cohort import BT_TRAITS, CHROMOSOMES, QT_TRAITS, regenie_step2, session_cohort


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    return session_cohort(tmp_path_factory)


def _hubscan(data, trait, test, with_pred):
    """hubscan's results for every variant of REGENIE's table, chromosome by chromosome."""
    counts = data["counts"]
    dosage = np.where(counts == 3, np.nan, counts.astype(float))
    y = data["pheno"][trait].to_numpy()
    kind = "qt" if trait in QT_TRAITS else "bt"
    preds = None
    if with_pred:
        preds = read_prediction_list(data["pred_list"][kind], QT_TRAITS if kind == "qt" else BT_TRAITS,
                                     data["iids"], required={trait: np.isfinite(y)} | {
                                         t: np.zeros(len(y), bool) for t in (QT_TRAITS + BT_TRAITS) if t != trait})
    frames = []
    for chrom in CHROMOSOMES:
        rows = np.flatnonzero(data["chrom"] == chrom)
        p = None if preds is None else np.nan_to_num(preds[trait].for_chromosome(chrom))
        if kind == "qt":
            res = quantitative_step2(dosage[rows], y, data["covariates"], p)
        else:
            res = binary_step2(dosage[rows], y, data["covariates"], p, test=test)
        with np.errstate(invalid="ignore"):  # monomorphic variants (REGENIE skips them)
            n_called = np.rint(res.allele_count[:, 0] / (2 * res.allele_frequency[:, 0]))
        frames.append(pd.DataFrame({"ID": [f"v{i}" for i in rows], "BETA": res.beta[:, 0],
                                    "SE": res.standard_error[:, 0], "LOG10P": res.neg_log10_p[:, 0],
                                    "A1FREQ": res.allele_frequency[:, 0],
                                    "N": n_called,
                                    "corrected": res.firth_used[:, 0]}))
    return pd.concat(frames).set_index("ID")


def _close(mine, theirs, rtol, atol):
    bad = ~(np.abs(mine - theirs) <= rtol * np.abs(theirs) + atol)
    assert not bad.any(), (f"{bad.sum()} of {len(bad)} differ, e.g. {mine[bad][:3]} vs {theirs[bad][:3]} "
                           f"(rtol {rtol}, atol {atol})")


def _compare(data, trait, test, with_pred, rtol, beta_rtol=None):
    theirs = regenie_step2(data, trait, test, with_pred)
    mine = _hubscan(data, trait, test, with_pred).loc[theirs.ID]
    assert (theirs.ALLELE1 == "A").all() and (theirs.ALLELE0 == "G").all()  # .bim A1 = A, A2 = G
    np.testing.assert_allclose(mine.A1FREQ, theirs.A1FREQ, rtol=1e-5, atol=1e-6)   # same allele counted
    assert (mine.N.to_numpy() == theirs.N.to_numpy()).all()  # REGENIE's N: the called genotypes
    assert theirs.LOG10P.notna().all() and mine.LOG10P.notna().all()
    se = theirs.SE.to_numpy()
    _close(mine.SE.to_numpy(), se, beta_rtol or rtol, 0)
    _close(mine.BETA.to_numpy(), theirs.BETA.to_numpy(), beta_rtol or rtol, 1e-7 * se)
    _close(mine.LOG10P.to_numpy(), theirs.LOG10P.to_numpy(), rtol, 1e-7)
    return mine, theirs


@pytest.mark.parametrize("with_pred", [True, False], ids=["pred", "ignore-pred"])
@pytest.mark.parametrize("trait", QT_TRAITS)
def test_linear_matches_regenie(cohort, trait, with_pred):
    _compare(cohort, trait, "linear", with_pred, 1e-4)


@pytest.mark.parametrize("with_pred", [True, False], ids=["pred", "ignore-pred"])
@pytest.mark.parametrize("trait", BT_TRAITS)
def test_score_matches_regenie(cohort, trait, with_pred):
    _compare(cohort, trait, "score", with_pred, 2e-5)


@pytest.mark.parametrize("with_pred", [True, False], ids=["pred", "ignore-pred"])
@pytest.mark.parametrize("trait", BT_TRAITS)
def test_spa_matches_regenie(cohort, trait, with_pred):
    mine, _ = _compare(cohort, trait, "spa", with_pred, 2e-5)
    assert mine.corrected.sum() > 50  # the SPA path ran (p < 0.05), fast and exact SPA alike


@pytest.mark.parametrize("with_pred", [True, False], ids=["pred", "ignore-pred"])
@pytest.mark.parametrize("trait", BT_TRAITS)
def test_approximate_firth_matches_regenie(cohort, trait, with_pred):
    mine, theirs = _compare(cohort, trait, "firth-approx", with_pred, 2e-5, beta_rtol=5e-4)
    assert mine.corrected.sum() > 50
    rare = (np.minimum(theirs.A1FREQ, 1 - theirs.A1FREQ) * 2 * theirs.N < 50).to_numpy() & mine.corrected.to_numpy()
    assert rare.sum() > 5  # the carriers-only path of rare variants ran


def test_predictions_change_the_results(cohort):
    """The LOCO predictions are used: with and without them the statistics differ."""
    a = _hubscan(cohort, "q1", "linear", True)
    b = _hubscan(cohort, "q1", "linear", False)
    assert np.abs(a.LOG10P - b.LOG10P).max() > 0.05
