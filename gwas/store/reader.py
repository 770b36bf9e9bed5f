"""Read the genotype store: dense blocks of variants x any subset of samples, filters without copies.

>>> store = GenotypeStore("cohort.zarr")                  # refuses a store without _SUCCESS
>>> keep = store.select_variants(min_maf=0.01, min_info=0.8, regions=["22:16000000-17000000"])
>>> cols = store.sample_index(["HG00096", "HG00097"])
>>> for idx, dos in store.dosage_blocks(keep, samples=cols, block_size=5000): ...

Dosages come back as float32 expected ALT-allele counts (``variant_allele[:, 1]``), NaN = missing.
Only the Zarr chunks touching the requested rows and columns are read.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import numpy as np

from gwas.store.source import GenotypeSource
from gwas.store.variables import STORE_FORMAT, decode_dosage
from gwas.store.zarr_read import open_group
from hubscan.errors import InputError
from hubscan.parts import SUCCESS_MARKER

#: fields renamed since store version 1
_VERSION_1_NAMES = {"variant_alt_frequency": "variant_allele_frequency"}


class GenotypeStore(GenotypeSource):
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not (self.path / SUCCESS_MARKER).is_file():
            raise InputError(f"{self.path}: not a complete genotype store (no {SUCCESS_MARKER} marker: "
                             "ingestion unfinished or failed; run `hubscan ingest` again to resume)")
        self.root = open_group(self.path)  # zarr v2, read without importing zarr (gwas.store.zarr_read)
        if self.root.attrs.get("format") != STORE_FORMAT:
            raise InputError(f"{self.path}: not a hubscan genotype store")

    @cached_property
    def sample_ids(self) -> np.ndarray:
        return np.array([str(s) for s in self.root["sample_id"][:]], dtype=object)

    @cached_property
    def contig_ids(self) -> list[str]:
        return [str(c) for c in self.root["contig_id"][:]]

    @property
    def n_variants(self) -> int:
        return self.root["variant_position"].shape[0]

    @property
    def n_samples(self) -> int:
        return self.root["sample_id"].shape[0]

    def variant_field(self, name: str) -> np.ndarray:
        """A per-variant field (``variant_alt_frequency`` also from a version-1 store, which named it
        ``variant_allele_frequency``)."""
        if name not in self.root and name in _VERSION_1_NAMES:
            name = _VERSION_1_NAMES[name]
        return self.root[name][:]

    def record(self) -> dict:
        """What results.json records of the store: its ``_SUCCESS`` record (ingest inputs, checksums)."""
        return {"store_record": (self.path / SUCCESS_MARKER).read_text().strip()}

    def block_variants(self, variant_index: np.ndarray) -> dict[str, np.ndarray]:
        """The results schema's variant columns of sorted store rows ``variant_index``, reading
        only the rows' span of each array."""
        root = self.root
        lo, hi = int(variant_index[0]), int(variant_index[-1]) + 1
        rel = variant_index - lo
        alleles = root["variant_allele"][lo:hi][rel]
        contigs = np.asarray(self.contig_ids, dtype=object)
        return {"contig": contigs[root["variant_contig"][lo:hi][rel]],
                "position": root["variant_position"][lo:hi][rel].astype(np.int64),
                "variant_id": np.asarray(root["variant_id"][lo:hi][rel], dtype=object),
                "ref": alleles[:, 0], "alt": alleles[:, 1],
                "info": root["variant_info"][lo:hi][rel].astype(np.float64)}

    def variants(self):
        """pandas DataFrame of per-variant fields (contig name, position, id, ref, alt, stats)."""
        import pandas as pd

        alleles = self.root["variant_allele"][:]
        return pd.DataFrame({
            "contig": np.asarray(self.contig_ids, dtype=object)[self.root["variant_contig"][:]],
            "position": self.root["variant_position"][:], "id": self.root["variant_id"][:],
            "ref": alleles[:, 0], "alt": alleles[:, 1],
            "alt_frequency": self.variant_field("variant_alt_frequency"),
            "call_rate": self.root["variant_call_rate"][:], "info": self.root["variant_info"][:],
        })

    # -- genotype blocks ---------------------------------------------------------------------
    @staticmethod
    def _sel(sel, n):
        if sel is None:
            return slice(0, n)
        if isinstance(sel, slice):
            return sel
        return np.asarray(sel, dtype=np.int64)

    def dosage(self, variants=None, samples=None, dtype=np.float32) -> np.ndarray:
        """Dense (variants, samples) expected ALT counts, NaN missing."""
        return decode_dosage(self.dosage_codes(variants, samples), dtype)

    def dosage_codes(self, variants=None, samples=None) -> np.ndarray:
        """Dense (variants, samples) uint16 ``call_dosage_scaled`` codes as stored (ALT dosage x
        16383, 65535 missing; :mod:`gwas.store.variables`), for kernels that read them directly."""
        return self.root["call_dosage_scaled"].oindex[self._sel(variants, self.n_variants), self._sel(samples, self.n_samples)]

    def genotypes(self, variants=None, samples=None) -> np.ndarray:
        """Dense (variants, samples, 2) int8 allele codes (VCF/PLINK inputs only)."""
        if "call_genotype" not in self.root:
            raise InputError(f"{self.path}: holds dosages only (ingested from {self.root.attrs.get('source_kind')})")
        return self.root["call_genotype"].oindex[self._sel(variants, self.n_variants), self._sel(samples, self.n_samples), :]

    def dosage_blocks(self, variants=None, samples=None, block_size: int = 10_000, dtype=np.float32):
        """Yield (variant indexes, dosage block) over ``variants`` in order, ``block_size`` at a time."""
        idx = np.arange(self.n_variants) if variants is None else np.asarray(variants, dtype=np.int64)
        for k in range(0, len(idx), block_size):
            part = idx[k:k + block_size]
            contiguous = len(part) and part[-1] - part[0] + 1 == len(part)
            sel = slice(int(part[0]), int(part[-1]) + 1) if contiguous else part
            yield part, self.dosage(sel, samples, dtype)
