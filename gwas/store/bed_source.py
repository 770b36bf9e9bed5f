"""A PLINK 1 fileset (``PREFIX.bed/.bim/.fam``) read in place by a scan, as its ingested store would be.

Nothing is converted: the ``.bim`` and ``.fam`` are read when the scan starts (about 0.1 s of CPU per
100,000 variants), the ``.bed`` is memory-mapped and each block's records are decoded to the
store's uint16 dosage codes by :func:`gwas.kernels.bed_codes.bed_scaled_codes`, for the analysed
samples only. The conventions are ``hubscan ingest``'s (:mod:`gwas.ingest.plink`), so a scan of
the fileset and a scan of its store give the same rows and the same statistics, bit for bit (the
kernels read the same codes):

* REF = A2 (``.bim`` column 6), ALT = A1 (column 5), the tested allele (plink2's reading of a
  ``.bed``); a missing allele ``0`` is ``.``; a missing id (``.``) is ``chrom:pos:ref:alt``.
* sample id = IID (unique in the ``.fam``); sex from column 5: males' homozygous calls on X/Y and
  everyone's on MT are haploid (one ALT copy), as plink2 reads them.
* ALT frequency and call rate (for ``min_maf``, ``min_call_rate`` and ``min_mac``) are counted
  from the ``.bed`` on first use, one parallel pass over every record (about 0.2 s of CPU per 250 MB),
  with the store's definitions (:mod:`gwas.store.stats`): the same values as the store's. INFO is
  1 (hard calls).

Provenance (results.json): the ``.bim`` and ``.fam`` sha256, the ``.bed`` size and modification
time (hashing a large ``.bed`` would cost more than scanning it; a changed ``.bed`` still changes
the record, so a resumed scan refuses it).
"""

from __future__ import annotations

import mmap
import os
from functools import cached_property
from pathlib import Path

import numpy as np

from gwas.io.plink.layout import bytes_per_variant, check_bed, haploid_samples
from gwas.io.plink.tables import MALE, read_fam
from gwas.store.source import GenotypeSource

#: ploidy modes of a row (the values of gwas.kernels.bed_codes, which imports Numba: not imported to plan a scan)
DIPLOID, HAPLOID_MALES, HAPLOID_ALL = 0, 1, 2
from hubscan.errors import InputError
from hubscan.files import require_file


def read_bim(path: str) -> dict[str, np.ndarray]:
    """.bim columns CHROM ID CM POS A1 A2 as arrays (text as object arrays, position int64). One
    split of the whole file when every line has six fields (about 0.1 s of CPU per 100,000 lines);
    otherwise line by line, naming the first bad line."""
    data = Path(path).read_bytes()
    text = data.decode(errors="replace")
    tokens = text.split()
    n_lines = text.count("\n") + (not text.endswith("\n"))
    if len(tokens) != 6 * n_lines:  # blank lines, or a line without six fields
        for n, ln in enumerate(text.splitlines(), start=1):
            cols = ln.split()
            if cols and len(cols) != 6:
                raise InputError(f"{path}:{n}: {len(cols)} columns, expected 6 (CHROM ID CM POS A1 A2)")
    if not tokens:
        raise InputError(f"{path}: no variants")
    try:
        position = np.array(tokens[3::6], dtype=np.int64)
    except ValueError:
        bad = next(n for n, ln in enumerate(text.splitlines(), start=1) if ln.split() and not ln.split()[3].isdigit())
        raise InputError(f"{path}:{bad}: position is not an integer") from None
    columns = {name: np.array(tokens[j::6], dtype=object) for name, j in (("chrom", 0), ("id", 1), ("a1", 4), ("a2", 5))}
    if "," in text:
        for name in ("a1", "a2"):
            several = [k for k, a in enumerate(columns[name].tolist()) if "," in a]
            if several:
                raise InputError(f"{path}:{_line_of(data, several[0])}: a .bim row with several alleles in one column")
    return {**columns, "position": position}


def _line_of(data: bytes, row: int) -> int:
    """1-based line number of the ``row``-th non-blank line."""
    k = -1
    for n, ln in enumerate(data.splitlines(), start=1):
        k += bool(ln.strip())
        if k == row:
            return n
    return row + 1


class BedGenotypes(GenotypeSource):
    """``PREFIX.bed/.bim/.fam`` read in place (see the module docstring)."""

    def __init__(self, prefix: str | os.PathLike):

        prefix = str(prefix)
        self.path = Path(prefix + ".bed")
        bed = str(require_file(self.path, "PLINK .bed file"))
        self.bim_path = str(require_file(prefix + ".bim", f"PLINK .bim file beside {bed}"))
        self.fam_path = str(require_file(prefix + ".fam", f"PLINK .fam file beside {bed}"))
        fam = read_fam(self.fam_path)
        bim = read_bim(self.bim_path)
        check_bed(bed, len(fam.ids), len(bim["position"]), self.fam_path, self.bim_path)
        self.sample_ids = np.array(fam.ids, dtype=object)
        self.male = fam.sex == MALE
        self.contig_ids = list(dict.fromkeys(bim["chrom"].tolist()))
        code = {c: i for i, c in enumerate(self.contig_ids)}
        self._fields = {"variant_contig": np.array([code[c] for c in bim["chrom"].tolist()], dtype=np.int16),
                        "variant_position": bim["position"].astype(np.int32)}
        ref = np.where(bim["a2"] == "0", ".", bim["a2"]).astype(object)
        alt = np.where(bim["a1"] == "0", ".", bim["a1"]).astype(object)
        self._fields["variant_allele"] = np.stack([ref, alt], axis=1)
        absent = np.isin(bim["id"], ["", "."])
        ids = bim["id"].copy()
        ids[absent] = [f"{c}:{p}:{r}:{a}" for c, p, r, a in zip(bim["chrom"][absent].tolist(),
                                                                bim["position"][absent].tolist(),
                                                                ref[absent].tolist(), alt[absent].tolist())]
        self._fields["variant_id"] = ids
        self._fields["variant_info"] = np.ones(len(ids))
        # ploidy mode per contig (as at ingest: which samples' calls are haploid there)
        contig_mode = []
        for c in self.contig_ids:
            hap = haploid_samples(c, np.full(2, MALE, dtype=fam.sex.dtype))
            everyone = haploid_samples(c, np.zeros(2, dtype=fam.sex.dtype)).all()
            contig_mode.append(HAPLOID_ALL if everyone else HAPLOID_MALES if hap.all() else DIPLOID)
        self.modes = np.asarray(contig_mode, dtype=np.int8)[self._fields["variant_contig"]]
        self.bytes_per_variant = bytes_per_variant(len(fam.ids))
        with open(bed, "rb") as fh:  # check_bed: at least the 3 magic bytes
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        self._raw = np.frombuffer(self._map, dtype=np.uint8, offset=3).reshape(-1, self.bytes_per_variant)
        stat = os.stat(bed)
        self._record = {"bed": {"file": self.path.name, "bytes": stat.st_size, "modified_ns": stat.st_mtime_ns},
                        "bim": {"file": Path(self.bim_path).name, "sha256": _sha256(self.bim_path)},
                        "fam": {"file": Path(self.fam_path).name, "sha256": _sha256(self.fam_path)}}

    @property
    def n_variants(self) -> int:
        return len(self._fields["variant_position"])

    def variant_field(self, name: str) -> np.ndarray:
        if name in ("variant_alt_frequency", "variant_call_rate"):
            self._allele_stats()
        if name not in self._fields:
            raise InputError(f"{self.path}: a PLINK fileset read in place has no {name}")
        return self._fields[name]

    def _allele_stats(self) -> None:
        """ALT frequency and call rate of every variant, one pass over the .bed (store definitions)."""
        if "variant_call_rate" in self._fields:
            return
        from gwas.kernels.bed_codes import bed_allele_sums

        sums = np.empty((self.n_variants, 3), dtype=np.int64)
        bed_allele_sums(self._raw, self.n_samples, self.modes, self.male, sums)
        alt, ploidy, called = (sums[:, k] for k in range(3))
        with np.errstate(invalid="ignore", divide="ignore"):
            self._fields["variant_alt_frequency"] = np.where(ploidy > 0, alt.astype(np.float64) / ploidy, np.nan)
        self._fields["variant_call_rate"] = called / self.n_samples

    @cached_property
    def _all_columns(self) -> np.ndarray:
        return np.arange(self.n_samples, dtype=np.int64)

    def dosage_codes(self, variants=None, samples=None) -> np.ndarray:
        """Dense (variants, samples) uint16 dosage codes, as the store's ``call_dosage_scaled``."""
        from gwas.kernels.bed_codes import bed_scaled_codes

        rows = np.arange(self.n_variants, dtype=np.int64) if variants is None else (
            np.arange(variants.start, variants.stop, dtype=np.int64) if isinstance(variants, slice)
            else np.asarray(variants, dtype=np.int64))
        cols = self._all_columns if samples is None else (
            self._all_columns[samples] if isinstance(samples, slice) else np.asarray(samples, dtype=np.int64))
        out = np.empty((len(rows), len(cols)), dtype=np.uint16)
        bed_scaled_codes(self._raw, rows, cols, self.modes[rows], self.male[cols], out)
        return out

    def block_variants(self, variant_index: np.ndarray) -> dict[str, np.ndarray]:
        f = self._fields
        alleles = f["variant_allele"][variant_index]
        return {"contig": np.asarray(self.contig_ids, dtype=object)[f["variant_contig"][variant_index]],
                "position": f["variant_position"][variant_index].astype(np.int64),
                "variant_id": f["variant_id"][variant_index], "ref": alleles[:, 0], "alt": alleles[:, 1],
                "info": f["variant_info"][variant_index]}

    def record(self) -> dict:
        return {"plink_in_place": self._record}


def _sha256(path: str) -> str:
    import hashlib

    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()
