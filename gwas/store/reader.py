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
import re
from functools import cached_property
from pathlib import Path

import numpy as np

from gwas.store.variables import STORE_FORMAT, decode_dosage
from gwas.store.zarr_read import open_group
from hubscan.errors import InputError
from hubscan.parts import SUCCESS_MARKER

_REGION = re.compile(r"^([^:]+)(?::(\d+)?-(\d+)?)?$")


class GenotypeStore:
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
        return self.root[name][:]

    def variants(self):
        """pandas DataFrame of per-variant fields (contig name, position, id, ref, alt, stats)."""
        import pandas as pd

        alleles = self.root["variant_allele"][:]
        return pd.DataFrame({
            "contig": np.asarray(self.contig_ids, dtype=object)[self.root["variant_contig"][:]],
            "position": self.root["variant_position"][:], "id": self.root["variant_id"][:],
            "ref": alleles[:, 0], "alt": alleles[:, 1],
            "alt_frequency": self.root["variant_allele_frequency"][:],
            "call_rate": self.root["variant_call_rate"][:], "info": self.root["variant_info"][:],
        })

    # -- selections -----------------------------------------------------------------------
    def sample_index(self, ids) -> np.ndarray:
        """Column indexes of ``ids`` (in the given order); unknown ids raise InputError."""
        pos = {s: i for i, s in enumerate(self.sample_ids)}
        missing = [s for s in ids if s not in pos]
        if missing:
            raise InputError(f"{self.path}: {len(missing)} requested sample ids are not in the store")
        return np.array([pos[s] for s in ids], dtype=np.int64)

    def select_variants(self, min_maf: float | None = None, min_info: float | None = None,
                        min_call_rate: float | None = None, regions=None, ids=None) -> np.ndarray:
        """Sorted variant indexes passing every given filter. Regions: ``contig``, ``contig:start-end`` (1-based, inclusive)."""
        keep = np.ones(self.n_variants, dtype=bool)
        if min_maf is not None:
            af = self.root["variant_allele_frequency"][:]
            keep &= np.minimum(af, 1 - af) >= min_maf
        if min_info is not None:
            keep &= self.root["variant_info"][:] >= min_info
        if min_call_rate is not None:
            keep &= self.root["variant_call_rate"][:] >= min_call_rate
        if regions:
            contig = self.root["variant_contig"][:]
            pos = self.root["variant_position"][:]
            in_any = np.zeros_like(keep)
            for text in regions:
                m = _REGION.match(text.strip())
                if not m or m.group(1) not in self.contig_ids:
                    raise InputError(f"region {text!r}: expected contig[:start-end] with a contig in the store")
                c = self.contig_ids.index(m.group(1))
                lo, hi = int(m.group(2) or 0), int(m.group(3) or 2**31)
                in_any |= (contig == c) & (pos >= lo) & (pos <= hi)
            keep &= in_any
        if ids is not None:
            keep &= np.isin(self.root["variant_id"][:].astype(object), np.asarray(list(ids), dtype=object))
        return np.flatnonzero(keep)

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
