"""Where a scan reads genotypes from: hubscan's genotype store, or a PLINK 1 fileset in place.

:class:`GenotypeSource` is what the scan path (:mod:`gwas.scan`) uses of either: sample ids,
contigs, per-variant fields by store name (``variant_contig``, ``variant_position``,
``variant_id``, ``variant_allele``, ``variant_alt_frequency``, ``variant_call_rate``,
``variant_info``), the variant filters, blocks of uint16 dosage codes (the store's
``call_dosage_scaled``: ALT dosage x 16383, 65535 missing), a block's result columns and a
provenance record for results.json. :func:`open_genotypes` picks the reader from the path:

* a folder: the store (:class:`gwas.store.reader.GenotypeStore`);
* ``PREFIX.bed``, or ``PREFIX`` with ``PREFIX.bed`` beside it (plink2 ``--bfile PREFIX``,
  REGENIE ``--bed PREFIX``): the fileset read in place (:class:`gwas.store.bed_source.BedGenotypes`),
  with the conventions of ``hubscan ingest`` (A1 = ALT, IID = sample id, haploid male X/Y calls);
* ``x.bgen`` or ``x.pgen`` (plink2 ``--bgen``/``--pfile``, REGENIE ``--bgen``/``--pgen``): each
  block converted on the fly by ingest's conversion
  (:class:`gwas.store.converted_source.ConvertedGenotypes`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from hubscan.errors import InputError

_REGION = re.compile(r"^([^:]+)(?::(\d+)?-(\d+)?)?$")


class GenotypeSource:
    """Shared selections; subclasses give ``path``, ``sample_ids``, ``contig_ids``,
    ``variant_field``, ``dosage_codes``, ``block_variants`` and ``record``."""

    path: Path

    @property
    def n_variants(self) -> int:
        return len(self.variant_field("variant_position"))

    @property
    def n_samples(self) -> int:
        return len(self.sample_ids)

    def sample_index(self, ids) -> np.ndarray:
        """Column indexes of ``ids`` (in the given order); unknown ids raise InputError."""
        pos = {s: i for i, s in enumerate(self.sample_ids)}
        missing = [s for s in ids if s not in pos]
        if missing:
            raise InputError(f"{self.path}: {len(missing)} requested sample ids are not in the genotypes")
        return np.array([pos[s] for s in ids], dtype=np.int64)

    def select_variants(self, min_maf: float | None = None, min_info: float | None = None,
                        min_call_rate: float | None = None, regions=None, ids=None) -> np.ndarray:
        """Sorted variant indexes passing every given filter. Regions: ``contig``, ``contig:start-end`` (1-based, inclusive)."""
        keep = np.ones(self.n_variants, dtype=bool)
        if min_maf is not None:
            af = self.variant_field("variant_alt_frequency")
            keep &= np.minimum(af, 1 - af) >= min_maf
        if min_info is not None:
            keep &= self.variant_field("variant_info") >= min_info
        if min_call_rate is not None:
            keep &= self.variant_field("variant_call_rate") >= min_call_rate
        if regions:
            contig = self.variant_field("variant_contig")
            pos = self.variant_field("variant_position")
            in_any = np.zeros_like(keep)
            for text in regions:
                m = _REGION.match(text.strip())
                if not m or m.group(1) not in self.contig_ids:
                    raise InputError(f"region {text!r}: expected contig[:start-end] with a contig in the genotypes")
                c = self.contig_ids.index(m.group(1))
                lo, hi = int(m.group(2) or 0), int(m.group(3) or 2**31)
                in_any |= (contig == c) & (pos >= lo) & (pos <= hi)
            keep &= in_any
        if ids is not None:
            keep &= np.isin(self.variant_field("variant_id").astype(object), np.asarray(list(ids), dtype=object))
        return np.flatnonzero(keep)


def bed_prefix(path: str | os.PathLike) -> str | None:
    """The PLINK prefix named by ``path`` (``PREFIX.bed`` or ``PREFIX`` with ``PREFIX.bed``
    beside it), or None when ``path`` names something else (a store folder)."""
    text = str(path)
    if text.endswith(".bed"):
        return text[:-4]
    if not Path(text).is_dir() and Path(text + ".bed").is_file():
        return text
    return None


_OPEN: dict = {}


def open_genotypes(path: str | os.PathLike) -> GenotypeSource:
    """The genotype source at ``path`` (see the module docstring). A file read in place is kept
    open per process (its tables read once, the .bed mapped once) while its files are unchanged,
    so block after block (and Spark task after task in one executor) does not re-read them."""
    text = str(path)
    if text.endswith((".bgen", ".pgen")):
        from gwas.store.converted_source import ConvertedGenotypes

        files, make = [text, *((text[:-5] + ext for ext in (".pvar", ".psam")) if text.endswith(".pgen") else ())], \
            ConvertedGenotypes
    else:
        prefix = bed_prefix(path)
        if prefix is None:
            from gwas.store.reader import GenotypeStore

            return GenotypeStore(path)
        from gwas.store.bed_source import BedGenotypes

        files, make, text = [prefix + ext for ext in (".bed", ".bim", ".fam")], BedGenotypes, prefix
    key = (str(Path(text).resolve()), *(_stamp(f) for f in files))
    if _OPEN.get("key") != key:
        _OPEN.clear()
        _OPEN.update(key=key, source=make(text))
    return _OPEN["source"]


def _stamp(path: str):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns
