"""Run a GWAS or PheWAS scan: init / blocks as Spark tasks / finalise, resumable.

1. Init (driver): load and check phenotypes and covariates (:mod:`gwas.scan.inputs`) and the
   variant filters, split the selected variants into blocks of ``block_size``; record the
   configuration and input checksums (:class:`hubscan.parts.PartTracker`: a rerun with other
   inputs or options is refused rather than mixed).
2. Tasks: every variant block x trait chunk (``trait_chunk`` traits at most, so that a PheWAS of
   a few variants still spreads over the cluster). The checked inputs are broadcast once; each
   Spark task reads its block from the store, runs the kernels (:mod:`gwas.scan.block`) for its
   traits, writes one Parquet file per trait atomically and then its completion marker. Spark retries a failed task; a rerun skips finished blocks and, since
   every block is a pure function of its inputs, gives byte-identical files.
3. Finalise: every (trait, block) file is checked, ``_results.json`` (configuration, software
   versions, input checksums, per-trait counts and status) and then ``_SUCCESS`` are written.

Step 1 is :func:`plan_scan`, which reads only the store's metadata, the phenotype and covariate
files (numpy, zarr, pyarrow): every option, file and the sample overlap are checked before Numba or
Spark is imported, so `hubscan gwas` reports a mistake in well under a second.
"""

from __future__ import annotations

import logging
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gwas.results.store import finalise_results, write_block
from gwas.scan.block import TestOptions, run_block, trait_chunks
from gwas.scan.config import ScanConfig
from gwas.scan.inputs import ScanInputs, prepare_inputs
from gwas.store.source import GenotypeSource as GenotypeStore
from gwas.store.source import open_genotypes
from hubscan import __version__
from hubscan.errors import InputError
from hubscan.files import check_output_dir, prepare_output_dir
from hubscan.parts import PartTracker
from hubscan.progress import Progress

log = logging.getLogger(__name__)


@dataclass
class ScanResult:
    out: Path
    n_variants: int
    n_traits_tested: int
    n_traits_skipped: int
    tasks_run: int      # tasks (variant block x trait chunk) run now
    tasks_total: int


def read_variant_ids(path: str, what: str) -> list[str]:
    """First column of a plink2/REGENIE ``--extract``/``--exclude`` file, one id per line."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} {p} does not exist")
    return [ln.split()[0] for ln in p.read_text().splitlines() if ln.strip()]


def select_variants(cfg: ScanConfig, store: GenotypeStore) -> np.ndarray:
    """Store rows passing every variant filter of ``cfg``, in store order: MAF/INFO/call rate,
    regions, ``chromosomes`` (plink2 --chr), ids (--extract) but not ``exclude_variants_file``
    (--exclude), and ``min_mac`` (plink2 --mac; see :func:`minor_allele_counts`)."""
    ids = list(cfg.variant_ids)
    if cfg.variant_ids_file:
        ids += read_variant_ids(cfg.variant_ids_file, "variant list")
    index = store.select_variants(cfg.min_maf, cfg.min_info, cfg.min_call_rate, cfg.regions or None,
                                  ids if (ids or cfg.variant_ids_file) else None)
    if ids:
        known = {str(v) for v in store.variant_field("variant_id").tolist()}
        unknown = [v for v in ids if v not in known]
        if unknown:
            raise InputError(f"variant id(s) not in the genotype store: {', '.join(unknown[:10])}"
                             + (f" (+{len(unknown) - 10} more)" if len(unknown) > 10 else ""))
    if cfg.exclude_variants_file:
        drop = np.asarray(read_variant_ids(cfg.exclude_variants_file, "exclude list"), dtype=object)
        index = index[~np.isin(store.variant_field("variant_id")[index].astype(object), drop)]
    if cfg.chromosomes:
        from gwas.scan.chromosomes import contigs_selected

        contigs = contigs_selected(store.contig_ids, cfg.chromosomes)
        if not contigs:
            raise InputError(f"--chr {' '.join(cfg.chromosomes)}: no such contig in the genotype store "
                             f"(it has {', '.join(store.contig_ids[:10])})")
        index = index[np.isin(store.variant_field("variant_contig")[index], contigs)]
    if cfg.min_mac is not None and len(index):
        index = index[minor_allele_counts(cfg, store, index) >= cfg.min_mac]
    if len(index) == 0:
        raise InputError(f"no variant of {cfg.genotypes} passes the variant filters")
    return index


def minor_allele_counts(cfg: ScanConfig, store: GenotypeStore, index: np.ndarray) -> np.ndarray:
    """Minor-allele dosage count of each variant of ``index`` over the samples plink2 would load
    (the store's, after --keep/--remove; phenotypes are not looked at, as plink2 --mac): from the
    store's ALT frequency and call rate (AF x 2 x called samples: exact for diploid calls) when every
    sample is kept, else counted from the dosages of the kept samples, one pass over the genotypes."""
    from gwas.scan.inputs import selected_samples
    from gwas.store.variables import DOSAGE_MISSING, DOSAGE_SCALE

    kept = selected_samples(cfg, store)
    if len(kept) == store.n_samples:
        af = store.variant_field("variant_alt_frequency")[index]
        alleles = 2.0 * np.rint(store.variant_field("variant_call_rate")[index] * store.n_samples)
        alt = af * alleles
        return np.minimum(alt, alleles - alt)
    columns = store.sample_index(kept)
    out = np.empty(len(index))
    for a in range(0, len(index), 10_000):
        codes = store.dosage_codes(index[a:a + 10_000], columns)
        called = codes != DOSAGE_MISSING
        alt = np.where(called, codes, 0).sum(axis=1, dtype=np.float64) / DOSAGE_SCALE
        out[a:a + 10_000] = np.minimum(alt, 2.0 * called.sum(axis=1) - alt)
    return out


def plan_blocks(index: np.ndarray, block_size: int) -> list[tuple[str, np.ndarray]]:
    return [(f"block-{k:06d}", index[a:a + block_size]) for k, a in enumerate(range(0, len(index), block_size))]


def plan_tasks(blocks, n_chunks: int) -> list[tuple[str, str, np.ndarray, int]]:
    """(task name, block name, variant indexes, trait chunk) for every block x trait chunk, chunk
    after chunk: a process keeps the last chunk's null models (gwas.scan.block.prepared_models)."""
    if n_chunks == 1:
        return [(name, name, index, 0) for name, index in blocks]
    return [(f"{name}.traits-{c:04d}", name, index, c) for c in range(n_chunks) for name, index in blocks]


def software_versions() -> dict[str, str]:
    """Versions from the installed distributions' metadata (no import: a run on threads never
    loads pyspark, and results.json is the same whichever engine ran the blocks)."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {"hubscan": __version__, "python": platform.python_version(), "numpy": np.__version__}
    for name in ("numba", "pyarrow", "pyspark"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - all three are dependencies
            pass
    return versions


def _block_task(out: str, tracker_args: tuple, store_path: str, options: TestOptions, inputs: ScanInputs,
                chunks: list, task: tuple[str, str, np.ndarray, int]) -> tuple[str, int]:
    name, block, index, chunk = task
    tables = run_block(store_path, index, inputs, options, chunks[chunk])
    rows = write_block(out, block, tables)
    PartTracker(*tracker_args).mark_done(name, {"variants": len(index), "first": int(index[0]),
                                                "last": int(index[-1]), "rows": sum(rows.values())})
    return name, len(index) * sum(len(g.traits) for g in chunks[chunk])


@dataclass
class ScanPlan:
    """A checked scan, ready to run: what :func:`plan_scan` found (no output written yet)."""

    cfg: ScanConfig
    inputs: ScanInputs
    index: np.ndarray                               # selected variants (store rows)
    blocks: list[tuple[str, np.ndarray]]
    chunks: list                                    # trait chunks (gwas.scan.block.trait_chunks)
    tasks: list[tuple[str, str, np.ndarray, int]]

    @property
    def n_tests(self) -> int:
        return len(self.index) * len(self.inputs.tested)


def plan_scan(cfg: ScanConfig) -> ScanPlan:
    """Step 1: check the output folder, load and check the inputs and the variant selection, cut
    the work into tasks. Raises ConfigError/InputError naming the problem; imports neither Numba
    nor Spark."""
    check_output_dir(cfg.out)
    store = open_genotypes(cfg.genotypes)
    inputs = prepare_inputs(cfg, store)
    index = select_variants(cfg, store)
    blocks = plan_blocks(index, cfg.block_size)
    chunks = trait_chunks(inputs.groups, cfg.trait_chunk)
    return ScanPlan(cfg, inputs, index, blocks, chunks, plan_tasks(blocks, len(chunks)))


def tracked_config(cfg: ScanConfig, inputs: ScanInputs) -> dict:
    """The configuration a results store records and fingerprints: where it is written is not
    part of it, so two identical runs into different folders give the same bytes."""
    config = cfg.to_dict()
    config.pop("out", None)
    return {"config": config, "inputs": inputs.inputs}


def run_scan(cfg: ScanConfig, spark=None, plan: ScanPlan | None = None) -> ScanResult:
    """Run ``cfg`` into ``cfg.out``; blocks as Spark tasks when ``spark`` is given, else in this
    process (Numba's threads inside each block). ``plan``: :func:`plan_scan`'s result for ``cfg``
    when the caller checked the inputs first."""
    plan = plan or plan_scan(cfg)
    inputs, index, blocks, chunks, tasks = plan.inputs, plan.index, plan.blocks, plan.chunks, plan.tasks
    out = prepare_output_dir(cfg.out)
    options = TestOptions.of(cfg)
    tracker_args = (str(out), cfg.job, tracked_config(cfg, inputs))
    tracker = PartTracker(*tracker_args)
    tracker.init()
    tested, skipped = len(inputs.tested), len(inputs.trait_names) - len(inputs.tested)
    if tracker.complete:
        log.info("%s: the scan is complete already", out)
        return ScanResult(out, len(index), tested, skipped, 0, len(tasks))
    pending = [t for t in tasks if not tracker.is_done(t[0])]
    log.info("%s: %d variants x %d traits (%d skipped) x %d samples, %d covariates; %d blocks x %d trait chunks "
             "(%d tasks to run)", cfg.job, len(index), tested, skipped, len(inputs.sample_columns),
             len(inputs.covariate_names), len(blocks), len(chunks), len(pending))
    store_path = str(Path(cfg.genotypes).resolve())
    if pending and spark is not None:
        _run_on_spark(spark, pending, str(out), tracker_args, store_path, options, inputs, chunks)
    elif pending:
        progress = Progress("variant x trait tests", total=sum(_size(t, chunks) for t in pending))
        for task in pending:
            progress.advance(_block_task(str(out), tracker_args, store_path, options, inputs, chunks, task)[1])
        progress.finish()
    missing = tracker.pending([t[0] for t in tasks])
    if missing:
        raise InputError(f"{out}: tasks {', '.join(missing[:5])} did not finish")
    names = [b[0] for b in blocks]
    metadata = {"job": cfg.job, "genome_build": cfg.genome_build, "created_by": f"hubscan {__version__}", "software": software_versions(),
                **tracked_config(cfg, inputs), "traits": inputs.trait_info,
                "covariates": inputs.covariate_names, "categorical_covariates": inputs.categorical,
                "n_samples": int(len(inputs.sample_columns)),
                "n_variants": int(len(index))}
    if inputs.step1 is not None:  # which step 1 (whole-genome regression) the tests used
        metadata["step1"] = inputs.step1
    finalise_results(out, metadata, names, inputs.tested)
    log.info("%s: results in %s", cfg.job, out)
    return ScanResult(out, len(index), tested, skipped, len(pending), len(tasks))


def _size(task, chunks) -> int:
    return len(task[2]) * sum(len(g.traits) for g in chunks[task[3]])


def _run_on_spark(spark, pending, out, tracker_args, store_path, options, inputs, chunks) -> None:
    """Blocks as Spark tasks, the checked inputs broadcast once."""
    from hubscan.runtime.spark import run_marked_tasks

    run_marked_tasks(spark, pending, lambda shared, t: _block_task(out, tracker_args, store_path, options, shared,
                                                                   chunks, t),
                     inputs, PartTracker(*tracker_args), {t[0]: _size(t, chunks) for t in pending},
                     "variant x trait tests", f"hubscan scan: {len(pending)} variant blocks")
