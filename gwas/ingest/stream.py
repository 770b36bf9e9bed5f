"""Single-pass local ingest of bgzipped VCFs: each batch of the stream is inflated once, its record
heads are planned and its records converted from the same text (the two-pass path of
:mod:`gwas.ingest.run` inflates the file twice: once to plan the parts, once to convert them).

The parts, their markers and the final verification are those of :mod:`gwas.ingest.run`: part k
holds split variants ``k x part_size ..``; a part is written (then marked done) once the stream
has passed its end, while the next one is converted. The store is created when the first part is
written (or at the end of a shorter input), with the variants dimension grown as parts are written
and set to the final count at the end, so chunks, fill values and every array equal the two-pass
path's. A rerun converts only the parts without a marker (it still reads the whole input); the
store is marked complete only after :func:`gwas.ingest.run.verify`. Errors name the file and line
like the planning pass; a malformed record met by the conversion stops the run before its part is
written.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from gwas.ingest import sources, vcf
from gwas.ingest.heads import Heads, check_order
from gwas.ingest.sources import SourcePlan, _convert_sub_range, _empty_block, same_samples
from gwas.ingest.scratch import drop as drop_scratch
from gwas.io import bgzf
from gwas.store.writer import create_store, resize_variants, set_contigs, variants_size
from hubscan.errors import InputError
from hubscan.progress import Progress


def streamable(paths, spark) -> bool:
    """True when every input is an existing bgzipped VCF and the run is local (no Spark)."""
    return spark is None and bool(paths) and all(
        str(p).lower().endswith((".vcf.gz", ".vcf.bgz")) and Path(p).is_file() and bgzf.is_bgzf(p) for p in paths)


class _Stream:
    """State of one streaming run: contigs and split variants seen, the part being converted, the
    write of the part before it (on one thread) and the conversion pool."""

    def __init__(self, out: Path, paths: list[str], samples: list[str], part_size: int, store_args: dict, tracker,
                 store_part, threads: int):
        self.out, self.paths, self.samples, self.part_size = out, paths, samples, part_size
        self.store_args, self.tracker, self.store_part = store_args, tracker, store_part
        self.contigs: dict[str, int] = {}
        self.contig_len: dict[str, int] = {}
        self.seen = 0  # split variants so far
        self.part, self.block, self.spare, self.written, self.writing = -1, None, None, None, None
        self.created = tracker.is_done("create")
        self.size = variants_size(out) if self.created else 0  # the store's variants dimension so far
        self.writer = ThreadPoolExecutor(1)
        self.pool = ThreadPoolExecutor(threads) if threads > 1 else None
        self.progress = Progress("variants")
        self.parts_run = 0

    # -- records ---------------------------------------------------------------------------
    def records(self, fi: int, heads: Heads, text: np.ndarray, at: int, first: int) -> None:
        """Convert records ``first ..`` of ``heads`` (file ``fi``), whose lines are in ``text``
        (``text[0]`` at stream offset ``at``), after the order checks of the planning pass."""
        s = max(first - 1, 0)  # from the record before: an unsorted pair across spans is seen
        lineno, pos, nalt, upos, run = heads.tail(s)
        check_order(self.paths[fi], heads.run_names, run, lineno, pos)
        k = slice(first - s, None)
        if len(lineno[k]) == 0:
            return
        ids = np.array([self.contigs.setdefault(c, len(self.contigs)) for c in heads.run_names], dtype=np.int64)
        zeros = np.zeros(len(lineno[k]), dtype=np.int64)
        window = SourcePlan("vcf", self.paths, None, self.samples, list(self.contigs), [],
                            np.full(len(zeros), fi, np.int32), ids[run[k]].astype(np.int16), lineno[k], pos[k], zeros,
                            nalt[k], with_genotypes=True, rec_upos=upos[k] - at, text=text,
                            filters=self.store_args["filters"])
        g0, g1 = self.seen, self.seen + window.n_variants
        for part in range(g0 // self.part_size, (g1 - 1) // self.part_size + 1 if g1 > g0 else 0):
            a, b = max(g0, part * self.part_size), min(g1, (part + 1) * self.part_size)
            if part != self.part:
                self._next_part(part)
            if self.block is not None:
                self._convert(window, a - g0, b - g0, a - part * self.part_size)
        self.seen = g1
        self.progress.advance(g1 - g0)

    def _convert(self, window: SourcePlan, a: int, b: int, at: int) -> None:
        step = max(1, sources.SUB_BLOCK_GENOTYPES // max(len(self.samples), 1))
        ranges = [(s, min(b, s + step)) for s in range(a, b, step)]
        if self.pool is None or len(ranges) == 1:
            for s, e in ranges:
                _convert_sub_range(window, s, e, self.block, at + s - a)
            return
        for _ in self.pool.map(lambda r: _convert_sub_range(window, r[0], r[1], self.block, at + r[0] - a), ranges):
            pass

    # -- parts -------------------------------------------------------------------------------
    def _next_part(self, part: int) -> None:
        """Write the part being converted (the stream has passed its end) and start ``part`` in a
        free block (the one whose write has finished, else a new one)."""
        self._write(self.part_size)
        self.part, self.block = part, None
        if not self.tracker.is_done(self._name(part)):
            self.block, self.spare = self.spare, None
            if self.block is None:
                empty = np.zeros(0, dtype=np.int64)
                stub = SourcePlan("vcf", self.paths, None, self.samples, [], [], empty, empty, empty, empty, empty,
                                  empty, with_genotypes=True, filters=self.store_args["filters"])
                self.block = _empty_block(stub, self.part_size)

    def _name(self, part: int) -> str:
        return f"part-{part:06d}"

    def _write(self, m: int) -> None:
        """Write the first ``m`` rows of the current part's block (none when it is done already) on
        the writer thread, once the write before it has finished (its block is then free)."""
        if self.block is None:
            return
        a = self.part * self.part_size
        self._settle()
        self._grow(a + m)
        part = (self._name(self.part), a, a + m)
        block = {k: v[:m] for k, v in self.block.items()}
        self.writing = self.writer.submit(self.store_part, str(self.out), part, block)
        self.written, self.block = self.block, None
        self.parts_run += 1

    def _settle(self) -> None:
        """Wait for the write in flight; its block becomes the spare one."""
        if self.writing is not None:
            self.writing.result()
            self.writing, self.spare = None, self.written

    def _grow(self, n: int) -> None:
        """Create the store (first write) or grow its variants dimension to at least ``n`` (no write
        may be in flight: the arrays' metadata are rewritten)."""
        if not self.created:
            lengths = [self.contig_len.get(c, -1) for c in self.contigs]
            create_store(self.out, self.samples, list(self.contigs), lengths, n, **self.store_args)
            self.tracker.mark_done("create")
            self.created, self.size = True, n
        elif n > self.size:
            resize_variants(self.out, n)
            self.size = n

    def finish(self) -> int:
        """Write the last part, give the store its final shape and contigs; the variant count."""
        try:
            if self.part >= 0:
                self._write(self.seen - self.part * self.part_size)
            self._settle()
            self._grow(self.seen)
            set_contigs(self.out, list(self.contigs), [self.contig_len.get(c, -1) for c in self.contigs])
        finally:
            self.close()
        self.progress.finish()
        return self.seen

    def close(self) -> None:
        self.writer.shutdown()
        if self.pool is not None:
            self.pool.shutdown()
        drop_scratch()


def stream_vcfs(out: Path, paths: list[str], part_size: int, store_args: dict, tracker, store_part,
                threads: int) -> tuple[int, int, int]:
    """Ingest bgzipped VCFs in one pass (see module docstring); ``store_part(store, (name, a, b),
    block)`` writes a part and its marker. Returns (variants, samples, parts converted)."""
    headers = [vcf.vcf_header(p, "vcf") for p in paths]
    filters, has_ds = vcf.vcf_filters_and_dosage(paths, "vcf")
    store_args = {**store_args, "filters": filters, "with_dosages": has_ds}
    samples = None
    for p, h in zip(paths, headers):
        samples = same_samples(samples, h[0], p, paths[0])
    state = _Stream(out, paths, samples, part_size, store_args, tracker, store_part, threads)
    try:
        for fi, (p, (_, contigs, n_header, header_bytes)) in enumerate(zip(paths, headers)):
            for c, ln in contigs:
                state.contig_len.setdefault(c, ln)
            heads = Heads()

            def on_text(text, at, first, fi=fi, heads=heads):
                state.records(fi, heads, text, at, first)

            vcf._scan_bgzf(p, n_header, header_bytes, heads, threads, on_text)
            if heads.error is not None:  # a malformed line, met after the records before it were converted
                raise heads.error
        if state.seen == 0:
            raise InputError(f"{', '.join(paths)}: no variant records to ingest (empty file)")
    except BaseException:
        state.close()
        raise
    return state.finish(), len(samples), state.parts_run
