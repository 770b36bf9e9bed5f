"""The genotype store as PLINK 1 binary files (.bed/.bim/.fam), so Hail's ``import_plink`` can
run QC on a store (and plink2/PLINK 1.9 users can read one).

Hard calls: from ``call_genotype`` when the store has it (VCF/PLINK inputs; a haploid call, e.g. a
male on X outside the PARs, is written homozygous, as PLINK stores hemizygous calls); otherwise
from the dosage, rounded to the nearest genotype when within :data:`HARD_CALL_DISTANCE` of it and
missing when not (plink2's ``--hard-call-threshold`` 0.1 rule). ``.bim`` lists ALT as A1 and REF
as A2, so A1 counts are ALT counts (Hail ``import_plink(a2_reference=True)``); a variant without
an id gets ``chrom:pos:ref:alt``. ``.fam`` has FID = IID = the sample id, no parents, sex 0.
Written variant block by variant block (bounded memory), each file atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gwas.io.plink.bed import BED_MAGIC
from gwas.store.reader import GenotypeStore
from hubscan.files import atomic_file
from hubscan.progress import Progress

from gwas.store.variables import HARD_CALL_DISTANCE  # noqa: E402  (one definition: the store's BGEN hard calls use it too)
#: .bed 2-bit code by ALT count (0, 1, 2) and for missing (index 3).
_BED_CODE = np.array([0b11, 0b10, 0b00, 0b01], dtype=np.uint8)


def alt_counts_from_genotypes(gt: np.ndarray) -> np.ndarray:
    """(variants, samples, ploidy) allele codes -> int8 ALT counts, 3 = missing; haploid doubled."""
    first, second = gt[..., 0], gt[..., 1]
    haploid = second == -2
    missing = (first < 0) | (second == -1)
    counts = (first == 1).astype(np.int8) + (second == 1).astype(np.int8)
    counts = np.where(haploid, 2 * (first == 1), counts).astype(np.int8)
    return np.where(missing, 3, counts).astype(np.int8)


def alt_counts_from_dosage(dosage: np.ndarray) -> np.ndarray:
    """float dosages (NaN missing) -> int8 ALT counts, 3 = missing or not within 0.1 of 0, 1 or 2."""
    nearest = np.rint(np.nan_to_num(dosage, nan=-9.0))
    ok = (np.abs(dosage - nearest) <= HARD_CALL_DISTANCE) & (nearest >= 0) & (nearest <= 2)
    return np.where(ok, nearest, 3).astype(np.int8)


def pack_bed(counts: np.ndarray) -> bytes:
    """(variants, samples) ALT counts (3 = missing) -> .bed variant-major bytes (4 samples per byte,
    first sample in the low bits; the bits past the last sample zero, as the format requires: plink2
    counts nonzero ones as calls)."""
    n_var, n_samp = counts.shape
    padded = np.full((n_var, -(-n_samp // 4) * 4), 2, dtype=np.int8)  # code 0b00
    padded[:, :n_samp] = counts
    codes = _BED_CODE[padded]
    packed = codes[:, 0::4] | (codes[:, 1::4] << 2) | (codes[:, 2::4] << 4) | (codes[:, 3::4] << 6)
    return packed.astype(np.uint8).tobytes()


def store_to_plink(store_path, prefix, block_size: int = 10_000, min_info: float | None = None) -> Path:
    """Write ``prefix``.bed/.bim/.fam from the store at ``store_path``; returns the .bed path.

    min_info: keep only variants with imputation INFO/r² at least this (e.g. 0.99 keeps the directly
    genotyped, hard-called variants of an imputed store); None keeps every variant."""
    store = GenotypeStore(store_path)
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    keep = store.select_variants(min_info=min_info) if min_info is not None else np.arange(store.n_variants)
    if len(keep) == 0:
        from hubscan.errors import InputError

        raise InputError(f"{store_path}: no variant has INFO >= {min_info} (no hard-called variants to QC)")
    variants = store.variants().iloc[keep].reset_index(drop=True)
    ids = np.where(variants["id"].astype(str).isin([".", ""]),
                   variants["contig"].astype(str) + ":" + variants["position"].astype(str) + ":"
                   + variants["ref"].astype(str) + ":" + variants["alt"].astype(str), variants["id"].astype(str))
    with atomic_file(prefix.with_suffix(".fam")) as tmp:
        tmp.write_text("".join(f"{s} {s} 0 0 0 -9\n" for s in store.sample_ids))
    with atomic_file(prefix.with_suffix(".bim")) as tmp:
        with open(tmp, "w") as fh:
            for c, i, p, ref, alt in zip(variants["contig"], ids, variants["position"], variants["ref"], variants["alt"]):
                fh.write(f"{c}\t{i}\t0\t{p}\t{alt}\t{ref}\n")
    has_calls = "call_genotype" in store.root
    progress = Progress("variants", total=len(keep))
    with atomic_file(prefix.with_suffix(".bed")) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(BED_MAGIC)
            for start in range(0, len(keep), block_size):
                sel = keep[start: start + block_size]
                counts = (alt_counts_from_genotypes(store.genotypes(sel)) if has_calls
                          else alt_counts_from_dosage(store.dosage(sel)))
                fh.write(pack_bed(counts))
                progress.advance(len(sel))
    progress.finish()
    return prefix.with_suffix(".bed")
