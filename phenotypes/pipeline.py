"""``build_phenotypes``: records -> sample x trait matrix, catalogue, covariates and reports.

Outputs in ``out`` (each written atomically):

================================  ==============================================================
``traits.parquet``                samples (genotype order) x traits, NaN = not in the analysis
``catalogue.tsv``                 one row per trait (:mod:`phenotypes.matrix.catalogue`)
``first_dates.parquet``           ``sample_id, trait, first_date`` of every case
``covariates.tsv``/``.parquet``   covariates (:mod:`phenotypes.covariates`), text: ``text_flavour``
``phenotypes.tsv``                the matrix as plink2 or REGENIE text (``text``, ``text_flavour``)
``unmapped_<map>.tsv``            ICD codes of the records that map to no phecode, with counts
``report.json``                   every count: records, exclusions, linkage, mapping, traits
================================  ==============================================================
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hubscan.errors import ConfigError, InputError
from hubscan.files import atomic_file, prepare_output_dir
from hubscan.progress import Progress
from phenotypes.matrix.catalogue import Catalogue
from phenotypes.matrix.io import BINARY, ParquetMatrixWriter, TraitMatrix, write_text
from phenotypes.sources import Source
from phenotypes.sources.records import QualityPolicy

log = logging.getLogger(__name__)
#: samples whose cases' first dates are sorted at once (:class:`phenotypes.matrix.first_dates.FirstDatesWriter`)
FIRST_DATES_PART_SAMPLES = 100_000


@dataclass
class PhecodeOptions:
    """One phecode map to derive: the map file, an optional information file (sex, names)."""

    map: str | Path
    info: str | Path | None = None


@dataclass
class PhenotypeConfig:
    sources: list[Source]
    linkage: str | Path
    sample_ids: list | np.ndarray | None = None
    samples_file: str | Path | None = None
    genotype_store: str | Path | None = None
    phecodes: list[PhecodeOptions] = field(default_factory=list)
    min_days: int = 2
    parent_fallback: bool = True
    definitions: str | Path | None = None
    crosswalk: str | Path | None = None
    omop_crosswalk: bool = False
    covariates: object = None                      # phenotypes.covariates.CovariateOptions
    policy: QualityPolicy = field(default_factory=QualityPolicy)
    linkage_duplicates: str = "exclude"
    block_size: int = 5000
    text: bool = False
    text_flavour: str = "plink2"                   # phenotypes.tsv/covariates.tsv for plink2 or regenie
    binary_coding: str | None = None               # None: the flavour's (plink2 1/2, regenie 0/1)
    fid: str = "iid"

    def __post_init__(self):
        if self.min_days < 1:
            raise ConfigError("--min-days must be at least 1")
        if self.block_size < 1:
            raise ConfigError("block size must be positive")


@dataclass
class PhenotypeResult:
    out: Path
    n_samples: int
    n_traits: int
    catalogue: pd.DataFrame
    report: dict


def build_phenotypes(spark, config: PhenotypeConfig, out: str | Path) -> PhenotypeResult:
    """Derive every trait of ``config`` and write the outputs under ``out``.

    ``spark``: None for the in-process engine (:mod:`phenotypes.columnar`, one machine, no JVM), or
    a SparkSession for the Spark engine (clusters); the outputs are the same
    (:mod:`phenotypes.engines`).
    """
    from phenotypes.engines import engine_for
    from phenotypes.linkage import genotype_sample_ids, link_samples, read_linkage_table, sample_table
    from phenotypes.phecodes.maps import load_phecode_map, with_info

    engine = engine_for(spark)
    out = prepare_output_dir(out)
    scratch = out / "_work"
    if config.sample_ids is not None:
        sample_ids = np.asarray(config.sample_ids, dtype=object)
    else:
        sample_ids = genotype_sample_ids(config.samples_file, config.genotype_store)
    maps = [with_info(load_phecode_map(p.map), p.info) for p in config.phecodes]
    definitions = None
    if config.definitions is not None:
        from phenotypes.definitions.spec import load_definitions

        definitions = load_definitions(config.definitions)
    linkage_table = read_linkage_table(config.linkage) if spark is None else None
    crosswalk = None
    if config.crosswalk is not None or config.omop_crosswalk:
        crosswalk = engine.crosswalk(config, scratch)

    records = engine.records(config, scratch, linkage_table, sample_ids, definitions)
    report = {"records": records.report}
    try:
        if linkage_table is None:
            linkage_table = read_linkage_table(config.linkage)
        linkage = link_samples(linkage_table, sample_ids, config.linkage_duplicates,
                               str(config.linkage), known_patients=records.persons["patient_id"])
        report["linkage"] = linkage.report
        if linkage.report["samples_linked"] == 0:
            raise InputError(f"{config.linkage}: links no genotype sample to a patient of the records "
                             f"({linkage.report['samples']} samples; see --omop-patient-id)")
        samples = sample_table(linkage, records.persons)
        patient_rows = linkage.patient_rows()
        n = len(sample_ids)
        in_records = samples["in_records"].to_numpy(bool)
        sex = samples["sex_code"].to_numpy(np.int8)

        phecode_parts = []
        for pmap in maps:
            days = engine.phecode_days(records, pmap, patient_rows, n, config.parent_fallback, crosswalk)
            phecode_parts.append((pmap, days))
            report.setdefault("phecodes", {})[Path(pmap.source).name] = {
                "version": pmap.version, "layout": pmap.layout, "phecodes": len(pmap.phecodes),
                "map_range_rows_skipped": pmap.skipped_range_rows, **days.resolution.report}
            with atomic_file(out / f"unmapped_{Path(pmap.source).stem}.tsv") as tmp:
                days.resolution.unmapped.to_csv(tmp, sep="\t", index=False)
        derived = []
        if definitions is not None:
            if definitions.binary:
                derived.append(engine.binary(records, definitions.binary, patient_rows, samples, crosswalk))
            if definitions.quantitative:
                derived.append(engine.quantitative(records, definitions, patient_rows, samples))
            for d in derived:
                report.setdefault("derived", {})[d.source] = d.report
        catalogue = _write_matrix(out, samples, phecode_parts, derived, in_records, sex, config, report)
        if config.covariates is not None:
            from phenotypes.covariates import build_covariates

            cov = build_covariates(samples, config.covariates)
            report["covariates"] = {"names": cov.names, "n_complete": int((~np.isnan(cov.values).any(axis=1)).sum())}
            write_text(out / "covariates.tsv", cov, config.binary_coding, config.fid, config.text_flavour)
            with ParquetMatrixWriter(out / "covariates.parquet", cov.names, cov.types) as w:
                w.write(cov.sample_ids, cov.values)
    finally:
        records.release()
    with atomic_file(out / "report.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2, sort_keys=True, default=_json_default) + "\n")
    import shutil

    shutil.rmtree(scratch, ignore_errors=True)
    return PhenotypeResult(out, len(sample_ids), len(catalogue), catalogue, report)


def _json_default(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    return str(x)


def _phecode_definition(pmap, phecode: str, k: int, fallback: bool) -> str:
    parts = [f"phecode {pmap.version} {phecode}"]
    if pmap.names.get(phecode):
        parts[0] += f" ({pmap.names[phecode]})"
    parts.append(f"map {Path(pmap.source).name}, rolled up")
    parts.append(f"case: >= {k} distinct days")
    ranges = pmap.exclusions.get(phecode)
    if ranges:
        parts.append("exclusions " + ", ".join(f"{lo:g}-{hi:g}" if lo != hi else f"{lo:g}" for lo, hi in ranges))
    if pmap.sex.get(phecode):
        parts.append({"M": "male only", "F": "female only"}[pmap.sex[phecode]])
    if fallback:
        parts.append("parent-code fall-back")
    return "; ".join(parts)


def _write_matrix(out: Path, samples: pd.DataFrame, phecode_parts, derived, in_records, sex, config, report) -> pd.DataFrame:
    """Write traits.parquet (and phenotypes.tsv) block by block, first_dates.parquet and catalogue.tsv.

    Memory is bounded by a block and one bucket, not by the samples: the phecode day counts are read
    for one row range at a time (``days.block``: the in-process engine aggregates one bucket of
    events when asked, :class:`phenotypes.columnar.traits.BucketedPhecodeDays`), the catalogue
    counts are summed per block, the cases' first dates go to a store sorted one sample-id range at
    a time (:class:`phenotypes.matrix.first_dates.FirstDatesWriter`) and the text layout is written
    with the Parquet matrix instead of from it read back whole.
    """
    from contextlib import ExitStack

    from phenotypes.matrix.first_dates import FirstDatesWriter
    from phenotypes.matrix.io import TextMatrixWriter
    from phenotypes.phecodes.rules import CATEGORIES, phecode_status

    n = len(samples)
    names, types = [], []
    for pmap, _ in phecode_parts:
        names += pmap.trait_names()
        types += [BINARY] * len(pmap.phecodes)
    for d in derived:
        names += d.names
        types += d.types
    if len(set(names)) != len(names):
        dup = sorted({x for x in names if names.count(x) > 1})
        raise ConfigError(f"trait names appear twice: {', '.join(dup[:5])} (rename custom traits)")
    totals = [{c: np.zeros(len(p.phecodes), np.int64) for c in CATEGORIES} for p, _ in phecode_parts]
    exclusion = [p.exclusion_matrix() for p, _ in phecode_parts]
    restriction = [p.sex_restriction() for p, _ in phecode_parts]
    progress = Progress("samples", total=n)
    sample_ids = samples["sample_id"].to_numpy(object)
    first_dates = FirstDatesWriter(sample_ids, names, out / "_work" / "first_dates",
                                   parts=-(-n // FIRST_DATES_PART_SAMPLES))
    trait_ranks = [first_dates.trait_ranks(pmap.trait_names()) for pmap, _ in phecode_parts]
    try:
        with ExitStack() as stack:
            writer = stack.enter_context(ParquetMatrixWriter(out / "traits.parquet", names, types,
                                                             metadata={"min_days": config.min_days}))
            text = (stack.enter_context(TextMatrixWriter(out / "phenotypes.tsv", names, types, config.binary_coding,
                                                         config.fid, config.text_flavour)) if config.text else None)
            for start in range(0, max(n, 1), config.block_size):
                stop = min(start + config.block_size, n)
                blocks = []
                for i, (pmap, days) in enumerate(phecode_parts):
                    day_counts, first_day = days.block(start, stop)
                    status = phecode_status(day_counts, in_records[start:stop], sex[start:stop],
                                            restriction[i], exclusion[i], config.min_days)
                    for c in CATEGORIES:
                        totals[i][c] += status.counts[c]
                    blocks.append(status.values)
                    case_r, case_c = np.nonzero(status.values == 1.0)
                    if len(case_r):
                        fd = np.asarray(first_day[case_r, case_c]).ravel()
                        first_dates.add(case_r + start, trait_ranks[i][case_c], fd)
                for d in derived:
                    blocks.append(d.values[start:stop])
                block = np.hstack(blocks) if blocks else np.empty((stop - start, 0))
                writer.write(sample_ids[start:stop], block)
                if text is not None:
                    text.write(sample_ids[start:stop], block)
                progress.advance(stop - start)
        progress.finish()
        catalogue = Catalogue()
        for i, (pmap, _) in enumerate(phecode_parts):
            source = "phecodeX" if pmap.version == "X" else "phecode1.2"
            for j, (p, name) in enumerate(zip(pmap.phecodes, pmap.trait_names())):
                catalogue.add(name, BINARY, source, _phecode_definition(pmap, p, config.min_days,
                                                                        config.parent_fallback),
                              {c: totals[i][c][j] for c in CATEGORIES})
        for d in derived:
            for j, name in enumerate(d.names):
                catalogue.add(name, d.types[j], d.source, d.definitions[j], d.counts[j], d.values[:, j])
            if len(d.first_dates):
                first_dates.add(d.first_dates["row"].to_numpy(np.int64), d.first_dates["trait"].to_numpy(object),
                                d.first_dates["date"].to_numpy(np.int64))
        first_dates.write(out / "first_dates.parquet")
    finally:
        first_dates.release()
    catalogue.write(out / "catalogue.tsv")
    report["traits"] = {"samples": n, "traits": len(names)}
    return catalogue.frame()


def load_traits(out: str | Path, traits: list[str] | None = None) -> TraitMatrix:
    """The matrix written by :func:`build_phenotypes` (float64, NaN masks), ready for
    ``gwas.linear_regression(dosage, m.values, covariates)``."""
    from phenotypes.matrix.io import read_matrix

    return read_matrix(Path(out) / "traits.parquet", traits)
