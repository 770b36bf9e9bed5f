"""Ingest genotype files into one store, in resumable parts, locally or as Spark tasks.

1. Plan (driver): headers plus one pass over record positions (:func:`gwas.ingest.sources.plan_inputs`).
   A Hail MatrixTable is first exported by Hail as VCF shards (:mod:`gwas.ingest.hail_mt`).
2. Create every store array at its final shape (:func:`gwas.store.writer.create_store`; without
   Spark on the writing thread, while the first part converts).
3. Parts: ranges of ``variants_chunk x chunks_per_part`` split variants, so each part owns whole
   Zarr chunks. Each part converts its range (a VCF region via the tabix index, a BGEN byte range),
   writes it and then its ``_parts/<name>.done`` marker (:class:`hubscan.parts.PartTracker`). Spark
   retries a failed task (``spark.task.maxFailures``); a run started again skips finished parts.
4. Verify every marker (variant counts) and that every variant position was written, then write
   ``_SUCCESS``. Readers (:class:`gwas.store.reader.GenotypeStore`) refuse a store without it.

Bgzipped VCFs ingested without Spark take a single pass instead of steps 1-3 (plan and convert from
the same inflated text, :mod:`gwas.ingest.stream`), with the same parts, markers and step 4.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gwas.ingest.hail_mt import export_shards, is_matrix_table, remove_export
from gwas.ingest.sources import NAMED, SourcePlan, convert_range, input_kind, plan_inputs, resolve_allele_order
from gwas.ingest.stream import stream_vcfs, streamable
from gwas.store.variables import DEFAULT_SAMPLES_CHUNK, DEFAULT_VARIANTS_CHUNK
from gwas.store.writer import create_store, name_missing_ids, open_group, write_block
from hubscan.errors import InputError, OutputError
from hubscan.files import prepare_output_dir
from hubscan.parts import PartTracker
from hubscan.progress import Progress
from hubscan.runtime.spark import task_error

log = logging.getLogger(__name__)
JOB = "ingest"


@dataclass
class IngestResult:
    store: Path
    n_variants: int
    n_samples: int
    parts_run: int
    parts_total: int


def _config(paths, sample_path, variants_chunk: int, samples_chunk: int, chunks_per_part: int,
            allele_order: str = NAMED) -> dict:
    files = [{"path": str(Path(p).resolve()), "size": os.path.getsize(p)} for p in paths]
    config = {"inputs": files, "sample_file": sample_path, "variants_chunk": variants_chunk,
              "samples_chunk": samples_chunk, "chunks_per_part": chunks_per_part}
    if allele_order != NAMED:  # a resumed run must read the alleles the same way
        config["allele_order"] = allele_order
    return config


def _plan_config(plan: SourcePlan, variants_chunk: int, samples_chunk: int, chunks_per_part: int) -> dict:
    paths = list(plan.paths) + (list(plan.plink.variant_paths) if plan.plink is not None else [])
    return _config(paths, plan.sample_path, variants_chunk, samples_chunk, chunks_per_part, plan.allele_order)


def part_ranges(n_variants: int, part_size: int) -> list[tuple[str, int, int]]:
    return [(f"part-{k:06d}", a, min(a + part_size, n_variants)) for k, a in enumerate(range(0, n_variants, part_size))]


def _store_part(store: str, tracker_args: tuple, part: tuple[str, int, int], block: dict, threads: int = 1) -> int:
    """Write a converted part (its chunks on ``threads`` threads) and then its marker; returns its
    variant count."""
    name, a, b = part
    write_block(store, a, block, threads)
    PartTracker(*tracker_args).mark_done(name, {"start": a, "stop": b, "variants": b - a,
                                                "dosage_sum": int(block["call_dosage_scaled"].sum(dtype=np.int64))})
    return b - a


def _run_part(store: str, plan: SourcePlan, tracker_args: tuple, part: tuple[str, int, int]) -> tuple[str, int]:
    return part[0], _store_part(store, tracker_args, part, convert_range(plan, part[1], part[2]))


def _create_once(out: Path, plan: SourcePlan, tracker: PartTracker, variants_chunk: int, samples_chunk: int) -> int:
    """Create the store's arrays unless an earlier run did (its ``create`` marker); returns 0
    (variants written)."""
    if not tracker.is_done("create"):
        create_store(out, plan.sample_ids, plan.contig_ids, plan.contig_lengths, plan.n_variants,
                     plan.with_genotypes, variants_chunk, samples_chunk,
                     attrs={"source_kind": plan.kind, "source_files": [Path(p).name for p in plan.paths],
                            "allele_order": plan.allele_order},
                     filters=plan.filters, with_dosages=plan.with_dosages)
        tracker.mark_done("create")
    return 0


def _run_parts_locally(store: str, plan: SourcePlan, tracker_args: tuple, parts, threads: int, create) -> None:
    """Convert parts one after another on ``threads`` threads while one more thread first runs
    ``create`` (the store's creation, overlapping the first part's conversion) and then writes
    each part once the one after it is converted: two blocks of arrays, each reused once its part
    is written, and one pool of converting threads, which keep their scratch arrays (fresh memory
    costs page faults on first touch)."""
    progress = Progress("variants", total=plan.n_variants)
    with ThreadPoolExecutor(1) as writer, ThreadPoolExecutor(threads) as pool:
        writing, written, spare = writer.submit(create), None, None
        for p in parts:
            reuse = spare if spare is not None and len(spare["variant_position"]) == p[2] - p[1] else None
            block = convert_range(plan, p[1], p[2], threads, out=reuse, pool=pool)
            progress.advance(writing.result())
            spare = written
            writing, written = writer.submit(_store_part, store, tracker_args, p, block, threads), block
            del block
        progress.advance(writing.result())
    progress.finish()


def ingest(inputs, out, sample_file=None, variants_chunk: int = DEFAULT_VARIANTS_CHUNK,
           samples_chunk: int = DEFAULT_SAMPLES_CHUNK, chunks_per_part: int = 1, spark=None,
           threads: int | None = None, allele_order: str | None = None) -> IngestResult:
    """Convert ``inputs`` (VCF/BCF, BGEN, PLINK .bed or .pgen files with the same samples, or one Hail
    MatrixTable folder) into the store at ``out``. ``threads`` (default: the cores this process may
    use) serve the planning pass and, without Spark, each part's conversion while one more thread
    writes the part before it; a Spark task uses one thread. ``allele_order``: ``ref-last`` (default)
    or ``ref-first``, which listed allele of a BGEN or .bed variant is REF
    (:func:`gwas.ingest.sources.resolve_allele_order`; recorded in the store's ``allele_order``)."""
    threads = max(1, threads or len(os.sched_getaffinity(0)))
    # absolute paths: Spark tasks run in the executors' working folders, not this one
    out = prepare_output_dir(out).resolve()
    inputs = [str(Path(p).resolve()) for p in inputs]
    sample_file = str(Path(sample_file).resolve()) if sample_file else None
    from_mt = [p for p in inputs if is_matrix_table(p)]
    if allele_order is not None:  # checked before any work
        resolve_allele_order("mt" if from_mt else input_kind(inputs[0]), allele_order)
    if from_mt:
        if len(inputs) != 1:
            raise InputError("give one Hail MatrixTable (.mt) alone, not with other genotype files")
        if (out / "_SUCCESS").is_file():
            log.info("store %s is complete already", out)
            info = json.loads((out / "_SUCCESS").read_text() or "{}")
            return IngestResult(out, info.get("variants", 0), info.get("samples", 0), 0, info.get("parts", 0))
        inputs = export_shards(from_mt[0], out)
    if streamable(inputs, spark):
        result = _ingest_stream(inputs, out, variants_chunk, samples_chunk, chunks_per_part, threads)
        if from_mt:
            remove_export(out)
        return result
    plan = plan_inputs(inputs, sample_file, threads, allele_order)
    if plan.n_variants == 0:
        raise InputError(f"{', '.join(plan.paths)}: no variant records to ingest (empty file)")
    tracker_args = (str(out), JOB, _plan_config(plan, variants_chunk, samples_chunk, chunks_per_part))
    tracker = PartTracker(*tracker_args)
    parts = part_ranges(plan.n_variants, variants_chunk * chunks_per_part)
    if tracker.complete:
        log.info("store %s is complete already", out)
        return IngestResult(out, plan.n_variants, len(plan.sample_ids), 0, len(parts))
    tracker.init()
    create = functools.partial(_create_once, out, plan, tracker, variants_chunk, samples_chunk)
    pending = [p for p in parts if not tracker.is_done(p[0])]
    log.info("ingest: %d variants x %d samples in %d parts (%d to run)", plan.n_variants, len(plan.sample_ids),
             len(parts), len(pending))
    if spark is None and pending:
        _run_parts_locally(str(out), plan, tracker_args, pending, threads, create)
    else:
        create()
        if pending:  # as Spark tasks
            from hubscan.runtime.cluster import require_visible_on_executors

            require_visible_on_executors(spark, [*plan.paths, out])
            sc = spark.sparkContext
            try:
                sc.parallelize(pending, len(pending)).map(lambda p: _run_part(str(out), plan, tracker_args, p)).collect()
            except Exception as exc:  # Py4JJavaError carrying the worker's traceback
                raise task_error(exc) from None
    verify(out, tracker, parts)
    name_missing_ids(out)
    tracker.finalise({"variants": plan.n_variants, "samples": len(plan.sample_ids), "parts": len(parts)})
    if from_mt:
        remove_export(out)
    return IngestResult(out, plan.n_variants, len(plan.sample_ids), len(pending), len(parts))


def _ingest_stream(inputs, out: Path, variants_chunk: int, samples_chunk: int, chunks_per_part: int,
                   threads: int) -> IngestResult:
    """Local ingest of bgzipped VCFs in one pass (:mod:`gwas.ingest.stream`), with the parts, markers
    and verification of the two-pass path."""
    paths = [str(Path(p)) for p in inputs]
    tracker_args = (str(out), JOB, _config(paths, None, variants_chunk, samples_chunk, chunks_per_part))
    tracker = PartTracker(*tracker_args)
    part_size = variants_chunk * chunks_per_part
    if tracker.complete:
        log.info("store %s is complete already", out)
        info = json.loads((out / "_SUCCESS").read_text() or "{}")
        return IngestResult(out, info.get("variants", 0), info.get("samples", 0), 0, info.get("parts", 0))
    tracker.init()
    store_args = {"with_genotypes": True, "variants_chunk": variants_chunk, "samples_chunk": samples_chunk,
                  "attrs": {"source_kind": "vcf", "source_files": [Path(p).name for p in paths],
                            "allele_order": NAMED}}
    n_variants, n_samples, parts_run = stream_vcfs(
        out, paths, part_size, store_args, tracker,
        lambda store, part, block: _store_part(store, tracker_args, part, block, threads), threads)
    parts = part_ranges(n_variants, part_size)
    verify(out, tracker, parts)
    name_missing_ids(out)
    tracker.finalise({"variants": n_variants, "samples": n_samples, "parts": len(parts)})
    return IngestResult(out, n_variants, n_samples, parts_run, len(parts))


def verify(out: Path, tracker: PartTracker, parts) -> None:
    """Every part marker present with the expected range, every variant position written."""
    for name, a, b in parts:
        if not tracker.is_done(name):
            raise OutputError(f"{out}: part {name} (variants {a}-{b}) has no completion marker")
        info = tracker.info(name)
        if (info.get("start"), info.get("stop")) != (a, b):
            raise OutputError(f"{out}: part {name} marker covers {info.get('start')}-{info.get('stop')}, expected {a}-{b}")
    z = open_group(out, "r")["variant_position"]  # no fill value: every chunk is written (writer)
    for k in range(-(-z.shape[0] // z.chunks[0])):
        if not (out / "variant_position" / str(k)).is_file():
            raise OutputError(f"{out}: variant {k * z.chunks[0]} was never written")
