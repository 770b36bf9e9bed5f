"""A BGEN or PLINK 2 ``.pgen`` file read in place by a scan: each variant block converted on the
fly by ingest's own conversion, nothing written.

``hubscan ingest`` plans a file (:func:`gwas.ingest.sources.plan_inputs`: headers and the byte
offset of every variant, from a ``.bgi`` index when present and consistent, else by walking the
block headers) and converts ranges of variants to store arrays
(:func:`gwas.ingest.sources.convert_range`). A scan of the file in place does the same per variant
block, so its codes, ids, alleles, frequencies and INFO are, by construction, those of the store
ingested from the file (same samples, same tested allele, same splits of multi-allelic variants,
ids ``chrom:pos:ref:alt`` where the file has none), and the statistics are bit-identical.

Costs: the plan when the scan starts (a walk over the block headers, or the ``.bgi``); each block's
conversion (decompressing and decoding its probabilities, as ingest does, minus compressing and
writing; on the scan's threads). Variant filters other than ``chromosomes`` (ids, regions, MAF, MAC, INFO, call rate)
need every variant's fields first: one conversion pass over the whole file, as an ingest minus
writing. Samples: the ids in the BGEN, else ``sample_0 ..`` (as ``hubscan ingest`` without
``--sample``; use ``--id-delim`` for ``FID_IID`` ids).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gwas.store.source import GenotypeSource
from hubscan.errors import InputError

#: variants converted at a time by the whole-file pass the filters need
PASS_VARIANTS = 5000
#: the store fields a scan reads of every variant
_FIELDS = ("variant_position", "variant_id", "variant_allele", "variant_alt_frequency", "variant_call_rate",
           "variant_info")


class ConvertedGenotypes(GenotypeSource):
    """One ``.bgen`` or ``.pgen`` read in place (see the module docstring)."""

    def __init__(self, path: str | os.PathLike):
        from gwas.ingest.sources import plan_inputs

        self.path = Path(path)
        self.plan = plan_inputs([str(path)])
        self.sample_ids = np.asarray(self.plan.sample_ids, dtype=object)
        self.contig_ids = [str(c) for c in self.plan.contig_ids]
        starts = self.plan.split_start
        record = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
        self._fields: dict[str, np.ndarray] = {"variant_contig": self.plan.rec_contig[record].astype(np.int16)}
        self._block: tuple[int, int, dict] | None = None
        stat = os.stat(path)
        self._record = {"file": self.path.name, "kind": self.plan.kind, "bytes": stat.st_size,
                        "modified_ns": stat.st_mtime_ns, "allele_order": self.plan.allele_order}

    @property
    def n_variants(self) -> int:
        return self.plan.n_variants

    def variant_field(self, name: str) -> np.ndarray:
        if name not in self._fields:
            if name not in _FIELDS:
                raise InputError(f"{self.path}: a file read in place has no {name}")
            self._whole_pass()
        return self._fields[name]

    def _whole_pass(self) -> None:
        """Every variant's fields, converted PASS_VARIANTS at a time (the codes are dropped)."""
        parts = {k: [] for k in _FIELDS}
        for a in range(0, self.n_variants, PASS_VARIANTS):
            block = self._convert(a, min(self.n_variants, a + PASS_VARIANTS))
            for k in _FIELDS:
                parts[k].append(block[k])
        for k in _FIELDS:
            self._fields[k] = np.concatenate(parts[k])

    def _convert(self, a: int, b: int) -> dict[str, np.ndarray]:
        """Store arrays of variants a .. b-1 (ingest's conversion, missing ids named as ingest does)."""
        if self._block is not None and self._block[:2] == (a, b):
            return self._block[2]
        import numba

        from gwas.ingest.sources import convert_range

        block = convert_range(self.plan, a, b, threads=numba.get_num_threads())  # same arrays whatever the count
        absent = np.flatnonzero(block["variant_id_mask"])
        if len(absent):
            contigs = np.asarray(self.contig_ids, dtype=object)[block["variant_contig"][absent]]
            alleles = block["variant_allele"][absent]
            block["variant_id"][absent] = [
                f"{c}:{p}:{r}:{t}" for c, p, r, t in zip(contigs.tolist(), block["variant_position"][absent].tolist(),
                                                        alleles[:, 0].tolist(), alleles[:, 1].tolist())]
        self._block = (a, b, block)
        return block

    def dosage_codes(self, variants=None, samples=None) -> np.ndarray:
        """Dense (variants, samples) uint16 dosage codes of rows ``variants`` (a slice or sorted
        indexes), converting the rows' span."""
        rows = np.arange(self.n_variants) if variants is None else (
            np.arange(variants.start, variants.stop) if isinstance(variants, slice) else np.asarray(variants))
        a, b = int(rows[0]), int(rows[-1]) + 1
        codes = self._convert(a, b)["call_dosage_scaled"][rows - a]
        return codes if samples is None else codes[:, samples]

    def block_variants(self, variant_index: np.ndarray) -> dict[str, np.ndarray]:
        a, b = int(variant_index[0]), int(variant_index[-1]) + 1
        block = self._convert(a, b)
        rel = variant_index - a
        alleles = block["variant_allele"][rel]
        return {"contig": np.asarray(self.contig_ids, dtype=object)[block["variant_contig"][rel]],
                "position": block["variant_position"][rel].astype(np.int64),
                "variant_id": np.asarray(block["variant_id"][rel], dtype=object),
                "ref": alleles[:, 0], "alt": alleles[:, 1], "info": block["variant_info"][rel].astype(np.float64)}

    def record(self) -> dict:
        return {"converted_in_place": self._record}
