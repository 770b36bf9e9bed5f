"""Population structure on Hail: the LD-pruned variant set, relatedness, unrelated set, PCA.

1. Variant set: autosomal biallelic variants passing the call-rate threshold with MAF >=
   ``pca_min_maf``, LD-pruned (Hail ``ld_prune``: r² < ``ld_r2`` within ``ld_window_bp``).
2. Relatedness: PC-Relate (Conomos et al. 2016, AJHG 98:127) kinship on that set, adjusted for
   ancestry with :data:`PC_RELATE_PCS` PCs, in two rounds as PC-AiR/PC-Relate recommend: the first
   round's PCs come from all samples (where close relatives can pull a PC towards themselves and
   hide their own kinship), the second round's from a PCA of the first round's unrelated set with
   everyone projected. Pairs above ``min_kinship`` are related, each labelled with its KING degree
   (:func:`gwas.qc.thresholds.degree`).
3. Unrelated set: a maximal independent set of the relatedness graph (Hail
   ``maximal_independent_set``; the removed member of a pair is the one Hail's greedy algorithm picks).
4. PCA: HWE-normalised PCA (Patterson et al. 2006, PLoS Genet 2:e190; Hail
   ``hwe_normalized_pca``) of the unrelated samples; every other sample with calls is projected on
   the loadings (Hail ``pc_project``), so its scores are on the same axes. PC signs follow Hail's
   eigen decomposition (arbitrary): compare PCs up to sign.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from gwas.qc.thresholds import QcThresholds, degree
from hubscan.errors import InputError

log = logging.getLogger(__name__)
#: PCs PC-Relate uses for its ancestry adjustment.
PC_RELATE_PCS = 4


def pca_variant_set(hl, mt, thresholds: QcThresholds, checkpoint: str):
    """The pruned MatrixTable (samples passing QC calls, variants as in step 1), checkpointed."""
    auto = mt.filter_rows(mt.locus.in_autosome())
    auto = auto.annotate_rows(_cr=hl.agg.fraction(hl.is_defined(auto.GT)),
                              _af=hl.agg.sum(auto.GT.n_alt_alleles()) / hl.agg.sum(auto.GT.ploidy))
    common = auto.filter_rows((auto._cr >= thresholds.min_variant_call_rate)
                              & (hl.min(auto._af, 1 - auto._af) >= thresholds.pca_min_maf))
    common = common.checkpoint(checkpoint + "-common.mt", overwrite=True)
    n_common = common.count_rows()
    if n_common == 0:
        raise InputError(f"no autosomal variant has MAF >= {thresholds.pca_min_maf} and call rate >= "
                         f"{thresholds.min_variant_call_rate}: PCA and relatedness need common variants")
    keep = hl.ld_prune(common.GT, r2=thresholds.ld_r2, bp_window_size=thresholds.ld_window_bp)
    pruned = common.filter_rows(hl.is_defined(keep[common.row_key])).drop("_cr", "_af")
    pruned = pruned.checkpoint(checkpoint + "-pruned.mt", overwrite=True)
    n_pruned = pruned.count_rows()
    log.info("PCA variant set: %d common autosomal variants, %d after LD pruning", n_common, n_pruned)
    return pruned, n_common, n_pruned


def related_pairs(hl, pruned, thresholds: QcThresholds, scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pairs with kinship > min_kinship: i, j (sample ids, i < j), kinship, degree.

    scores: ancestry PCs per sample (columns s, PC1..PCk, every sample of ``pruned``); None lets
    PC-Relate compute :data:`PC_RELATE_PCS` PCs from all samples."""
    if scores is None:
        k = min(PC_RELATE_PCS, pruned.count_cols() - 1)
        pairs = hl.pc_relate(pruned.GT, min_individual_maf=thresholds.pca_min_maf, k=k, statistics="kin",
                             min_kinship=thresholds.min_kinship)
    else:
        cols = [c for c in scores.columns if c.startswith("PC")]
        lookup = hl.literal({s: [float(x) for x in row] for s, row in zip(scores["s"], scores[cols].to_numpy())})
        with_scores = pruned.annotate_cols(_scores=lookup[pruned.s])
        pairs = hl.pc_relate(with_scores.GT, min_individual_maf=thresholds.pca_min_maf,
                             scores_expr=with_scores._scores, statistics="kin", min_kinship=thresholds.min_kinship)
    df = pairs.select(ii=pairs.i.s, jj=pairs.j.s, kinship=pairs.kin).key_by().select("ii", "jj", "kinship").to_pandas()
    df = df.rename(columns={"ii": "i", "jj": "j"})
    swap = df["i"] > df["j"]
    df.loc[swap, ["i", "j"]] = df.loc[swap, ["j", "i"]].to_numpy()
    df["degree"] = [degree(k) for k in df["kinship"]]
    return df.sort_values(["i", "j"], kind="stable").reset_index(drop=True)


def unrelated_set(hl, samples: list[str], pairs: pd.DataFrame) -> list[str]:
    """A maximal set of ``samples`` with no related pair (deterministic for the same pairs)."""
    if pairs.empty:
        return list(samples)
    table = hl.Table.parallelize([{"i": a, "j": b} for a, b in zip(pairs["i"], pairs["j"])],
                                 hl.tstruct(i=hl.tstr, j=hl.tstr))
    removed = {r.node for r in hl.maximal_independent_set(table.i, table.j, keep=False).collect()}
    return [s for s in samples if s not in removed]


def principal_components(hl, pruned, fit_samples: list[str], project_samples: list[str],
                         k: int) -> tuple[pd.DataFrame, np.ndarray]:
    """``k`` PC scores of every sample in fit + project (columns s, pc_source "fit"/"projected",
    PC1..PCk) and the eigenvalues."""
    n_variants = pruned.count_rows()
    if len(fit_samples) <= k or n_variants <= k:
        raise InputError(f"PCA of {k} components needs more than {k} unrelated samples and pruned variants; "
                         f"found {len(fit_samples)} samples and {n_variants} variants (lower --pcs or give more data)")
    fit_samples, project_samples = sorted(fit_samples), sorted(project_samples)
    fit_set = hl.literal(set(fit_samples))
    fit = pruned.filter_cols(fit_set.contains(pruned.s))
    eigenvalues, scores, loadings = hl.hwe_normalized_pca(fit.GT, k=k, compute_loadings=True)
    fit = fit.annotate_rows(pca_af=hl.agg.mean(fit.GT.n_alt_alleles()) / 2)
    loadings = loadings.annotate(pca_af=fit.rows()[loadings.key].pca_af)
    frames = [_scores_frame(scores, k, "fit")]
    if project_samples:
        other = pruned.filter_cols(hl.literal(set(project_samples)).contains(pruned.s))
        projected = hl.experimental.pc_project(other.GT, loadings.loadings, loadings.pca_af)
        frames.append(_scores_frame(projected, k, "projected"))
    return pd.concat(frames, ignore_index=True), np.asarray(eigenvalues)


def _scores_frame(table, k: int, source: str) -> pd.DataFrame:
    rows = table.collect()
    df = pd.DataFrame({"s": [str(r.s) for r in rows], "pc_source": source})
    values = np.array([list(r.scores) for r in rows], dtype=float).reshape(len(rows), k)
    for c in range(k):
        df[f"PC{c + 1}"] = values[:, c]
    return df
