"""One variant block of a scan: read dosages from the store, run the kernels, make result tables.

A pure function of (store, variant indexes, :class:`~gwas.scan.inputs.ScanInputs`, options), so
the same code runs in a Spark task, in a local loop and from a notebook, and gives identical rows.
Memory per block: 2 bytes x block variants x analysed samples (the uint16 codes read, which the
models read directly), plus for binary traits tested by the score test or Firth an imputed float64
copy per thread (8 bytes x block variants x a trait's samples), whatever the number of variants in
the scan; and the trait chunk's prepared models, kept from block to block (null fits: about 24
bytes x samples x binary traits of the chunk).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa

from gwas.assoc.results import AssociationResult
from gwas.results.store import rows_table
from gwas.scan.inputs import ScanInputs, TraitGroup
from phenotypes.matrix.io import BINARY

#: binary tests run by :mod:`gwas.wgr.step2` (REGENIE's score test and its corrections)
REGENIE_BINARY_TESTS = ("spa", "firth-approx")


@dataclass(frozen=True)
class TestOptions:
    binary_test: str = "firth-fallback"
    firth_threshold: float = 0.05
    firth_p: str = "lrt"

    @classmethod
    def of(cls, cfg) -> TestOptions:
        return cls(cfg.binary_test, float(cfg.firth_threshold), cfg.firth_p)


def trait_chunks(groups: list[TraitGroup], size: int) -> list[list[TraitGroup]]:
    """The trait groups cut into chunks of at most ``size`` traits (in order), one chunk per task:
    a PheWAS of a few variants still spreads over the cluster, and memory stays bounded."""
    chunks: list[list[TraitGroup]] = [[]]
    room = size
    for group in groups:
        start = 0
        while start < len(group.traits):
            if room == 0:
                chunks.append([])
                room = size
            take = group.traits[start:start + room]
            chunks[-1].append(TraitGroup(group.kind, take, group.covariates))
            start += len(take)
            room -= len(take)
    return chunks


def associate(dosage: np.ndarray, inputs: ScanInputs, options: TestOptions,
              groups: list[TraitGroup] | None = None, contigs: np.ndarray | None = None) -> dict[str, AssociationResult]:
    """Every tested trait's result (of ``groups``, default all) for ``dosage`` (variants, analysed
    samples): float ALT dosages (NaN missing), or the store's uint16 codes, which every model reads
    as they are (decoded as code / 16383 in its kernels: quantitative traits by ``test_scaled``,
    binary ones by ``test``): trait -> result with one column. With step-1 predictions
    (``inputs.predictions``) the variants are tested chromosome by chromosome (``contigs``: each
    variant's contig name), each with its LOCO predictions (:mod:`gwas.wgr.step2`)."""
    groups = inputs.groups if groups is None else groups
    if inputs.predictions is None:
        return _associate(dosage, inputs, options, groups, None)
    from gwas.wgr.predictions import chromosome_code

    if contigs is None:
        raise ValueError("step-2 tests need each variant's contig")
    codes = np.array([chromosome_code(c) for c in contigs])
    parts = {chrom: np.flatnonzero(codes == chrom) for chrom in dict.fromkeys(codes.tolist())}
    if len(parts) == 1:
        return _associate(dosage, inputs, options, groups, codes[0])
    out: dict[str, AssociationResult] = {}
    for chrom, rows in parts.items():
        for trait, res in _associate(dosage[rows], inputs, options, groups, chrom).items():
            whole = out.setdefault(trait, AssociationResult.empty(res.test, len(codes), 1))
            for f in fields(res):
                if f.name != "test":
                    getattr(whole, f.name)[rows] = getattr(res, f.name)
    return out


def _associate(dosage, inputs, options, groups, chromosome) -> dict[str, AssociationResult]:
    out: dict[str, AssociationResult] = {}
    for group, model in zip(groups, prepared_models(inputs, options, groups, chromosome)):
        if dosage.dtype == np.uint16 and group.kind != BINARY:
            res = model.test_scaled(dosage)
        else:
            res = model.test(dosage)
        for j, t in enumerate(group.traits):
            out[inputs.trait_names[t]] = _column(res, j)
    return out


#: The trait side of the last trait chunk this process tested: (inputs, key, models). Tasks run
#: chunk after chunk (plan_tasks), so a process fits each trait's null model once per scan, not once
#: per variant block; the entry holds ``inputs`` itself, so it is never mistaken for another scan's.
_LAST_MODELS: list = []


def prepared_models(inputs: ScanInputs, options: TestOptions, groups: list[TraitGroup], chromosome=None) -> list:
    """One prepared model per group (:func:`gwas.assoc.linear_model` or
    :func:`gwas.assoc.logistic_model`: masks, covariate bases, null fits; with step-1 predictions
    or REGENIE's binary tests, :mod:`gwas.wgr.step2`'s for ``chromosome``), reused while the same
    scan tests the same traits (on the same chromosome)."""
    key = (options, chromosome, tuple((g.kind, g.traits.tobytes(), g.covariates.tobytes()) for g in groups))
    if _LAST_MODELS and _LAST_MODELS[0][0] is inputs and _LAST_MODELS[0][1] == key:
        return _LAST_MODELS[0][2]
    _LAST_MODELS.clear()  # free the previous chunk's models before fitting the next
    models = []
    for group in groups:
        y = inputs.values[:, group.traits]
        cov = inputs.covariates[:, group.covariates]
        pred = None
        if inputs.predictions is not None:  # the LOCO predictions for this chromosome (0 off a trait's samples)
            pred = np.column_stack([np.nan_to_num(inputs.predictions[int(t)].for_chromosome(int(chromosome)))
                                    for t in group.traits])
        if group.kind == BINARY and options.binary_test in REGENIE_BINARY_TESTS:
            from gwas.wgr.step2 import binary_model  # scipy.optimize: imported only by the scans that use it

            models.append(binary_model(y, cov, pred, options.binary_test, options.firth_threshold))
        elif group.kind == BINARY:
            from gwas.assoc.glm import logistic_model  # the GLM kernels: loaded only for binary traits

            models.append(logistic_model(y, cov, test=options.binary_test, firth_p=options.firth_p,
                                         fallback_p=options.firth_threshold, fallback_first="score", offset=pred))
        elif pred is not None:
            from gwas.wgr.step2 import quantitative_model

            models.append(quantitative_model(y, cov, pred))
        else:
            from gwas.assoc.linear import linear_model

            models.append(linear_model(y, cov))
    _LAST_MODELS.append((inputs, key, models))
    return models


def _column(res: AssociationResult, j: int) -> AssociationResult:
    from dataclasses import fields

    return AssociationResult(**{f.name: (getattr(res, f.name) if f.name == "test" else getattr(res, f.name)[:, j:j + 1])
                                for f in fields(res)})


def row_test(res: AssociationResult, binary_test: str) -> np.ndarray:
    """Name of the test behind each row: firth-fallback rows are 'score' or 'firth' (spa and
    firth-approx: 'score', or the correction where it ran)."""
    n = res.beta.shape[0]
    if res.test == "linear":
        return np.full(n, "linear", dtype=object)
    if binary_test in ("firth-fallback", "spa", "firth-approx"):
        corrected = "firth" if binary_test == "firth-fallback" else binary_test
        return np.where(res.firth_used[:, 0], corrected, "score").astype(object)
    return np.full(n, binary_test, dtype=object)


def result_tables(variant_index: np.ndarray, variants: dict[str, np.ndarray], results: dict[str, AssociationResult],
                  binary_test: str) -> dict[str, pa.Table]:
    """trait -> table in the results schema; ``variants`` holds the block's contig, position,
    variant_id, ref, alt and info arrays."""
    tables = {}
    for trait, res in results.items():
        cols = {"variant_index": variant_index, **variants}
        for name in ("n", "n_cases", "n_controls", "allele_count", "allele_frequency", "beta", "standard_error",
                     "statistic", "p_value", "neg_log10_p", "error_code", "converged", "exploded", "iterations",
                     "firth_used"):
            cols[name] = getattr(res, name)[:, 0]
        cols["test"] = row_test(res, binary_test)
        tables[trait] = rows_table(cols)
    return tables


def variant_fields(store, variant_index: np.ndarray) -> dict[str, np.ndarray]:
    """The block's variant columns of the results schema, read from the genotype source."""
    return store.block_variants(variant_index)


def run_block(store_path: str, variant_index: np.ndarray, inputs: ScanInputs, options: TestOptions,
              groups: list[TraitGroup] | None = None) -> dict[str, pa.Table]:
    """Read the block's dosage codes for the analysed samples (from the store, or a PLINK
    fileset in place: :func:`gwas.store.source.open_genotypes`) and return trait -> result table
    (traits of ``groups``, default all)."""
    from gwas.store.source import open_genotypes

    store = open_genotypes(store_path)
    lo, hi = int(variant_index[0]), int(variant_index[-1]) + 1
    rows = slice(lo, hi) if hi - lo == len(variant_index) else variant_index
    codes = store.dosage_codes(rows, inputs.sample_columns)
    variants = variant_fields(store, variant_index)
    results = associate(codes, inputs, options, groups, variants["contig"])
    return result_tables(variant_index, variants, results, options.binary_test)
