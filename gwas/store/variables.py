"""Store layout: the one registry of field names, dimensions, dtypes and meanings.

The store is a Zarr (format 2) group following the VCF Zarr specification v0.4
(https://github.com/sgkit-dev/vcf-zarr-spec), so ``sgkit.load_dataset`` / ``xarray.open_zarr``
and bio2zarr users can open it: every array carries ``_ARRAY_DIMENSIONS``. Fields named
``variant_*``, ``sample_*``, ``contig_*``, ``call_genotype*`` have the spec's meaning. hubscan adds:

* ``call_dosage_scaled`` (variants, samples) uint16: the expected count of the variant's ALT
  allele, stored as ``round(dosage * DOSAGE_SCALE)`` with ``DOSAGE_SCALE = 16383`` (so hard calls
  0/1/2 and dosages up to ploidy 4 are exact or within 1/32766 of the source - well under the
  1/255 required for imputed data) and ``DOSAGE_MISSING = 65535`` for a missing call.
* ``variant_alt_frequency`` float64: ALT allele frequency = sum of dosages / sum of ploidies
  over non-missing calls (not sgkit's ``variant_allele_frequency``, one per allele from hard calls,
  which ``sgkit.variant_stats`` adds; store version 1 used that name).
* ``variant_call_rate`` float64: share of samples with a non-missing call.
* ``variant_info`` float64: imputation quality. From genotype probabilities (BGEN) the IMPUTE
  info measure, 1 - sum_i (E[g_i^2] - E[g_i]^2) / (sum_i z_i * p (1 - p)) (Marchini & Howie 2010);
  from dosages alone (VCF DS) the MaCH r^2, var(dosage) / (z p (1 - p)) with z the mean ploidy;
  1 for hard calls. Monomorphic variants (p in {0, 1}) get 1.
* ``variant_source`` int32 and ``variant_split`` int16: index of the input file and which ALT of a
  multi-allelic source record this variant is (1 = first ALT).

Multi-allelic records are split into biallelic variants (REF, ALT_j), one per ALT in source
order. In a split variant the other ALT alleles count as not-ALT_j (like Hail's
``split_multi_hts``): call_genotype holds 1 for ALT_j and 0 for REF and every other ALT, and
the dosage is the expected count of ALT_j. The effect/counted allele is always ``variant_allele[:, 1]``.

``call_genotype`` (int8, -1 missing, -2 fill for a haploid call in the diploid ploidy slot;
``call_genotype_mask`` = ``call_genotype < 0``, as bio2zarr writes it): the input's calls (VCF GT,
PLINK); from BGEN probabilities a hard call of the dosage (the nearest genotype when the dosage is
within :data:`HARD_CALL_DISTANCE` = 0.1 of it, else missing: plink2's default
``--hard-call-threshold``; haploid samples get ``[k, -2]``, samples of ploidy above 2 missing;
unphased). ``call_DS`` (float32, NaN missing) is the dosage hubscan analyses, ``call_dosage_scaled
/ DOSAGE_SCALE``, for inputs that can carry dosages (BGEN, VCF declaring FORMAT DS, .pgen).
``variant_quality`` (float32, NaN missing) and ``variant_filter`` (variants x filters, bool: True
where FILTER lists ``filter_id[j]``; all False for FILTER ``.`` and for non-VCF inputs) with
``filter_id`` = PASS then the ##FILTER ids of the inputs' headers. A FILTER value not declared in a
header is refused (file and line named).

Integer and boolean arrays have no Zarr fill value (``fill_value: null``, as bio2zarr writes them)
and every one of their chunks is written: xarray (``sgkit.load_dataset``) would otherwise read the
fill value as a missing-value marker and turn them into floats. Float arrays use NaN.
Chunks: ``variants_chunk`` x ``samples_chunk`` (defaults 10,000 x 1,000 calls), Blosc zstd
(level 1) with bit-shuffle. ``_SUCCESS`` (see :mod:`hubscan.parts`) marks a complete store; readers refuse
a store without it.
"""

from dataclasses import dataclass

import numpy as np

STORE_FORMAT = "hubscan-genotype-store"
STORE_VERSION = 2  # 2: no fill value on integer arrays, variant_alt_frequency (was variant_allele_frequency), filters, QUAL, call_DS
VCF_ZARR_VERSION = "0.4"
DOSAGE_SCALE = 16383
DOSAGE_MISSING = 65535
MAX_DOSAGE_PLOIDY = 4
DEFAULT_VARIANTS_CHUNK = 10_000
DEFAULT_SAMPLES_CHUNK = 1_000


@dataclass(frozen=True)
class Field:
    name: str
    dims: tuple[str, ...]
    dtype: str  # numpy dtype string, or "str" for variable-length text
    fill: object
    description: str


FIELDS = {f.name: f for f in [
    Field("contig_id", ("contigs",), "str", "", "contig names in order of first appearance"),
    Field("contig_length", ("contigs",), "int64", None, "contig lengths from the input header (-1 unknown)"),
    Field("filter_id", ("filters",), "str", "", "filter names: PASS, then the inputs' ##FILTER ids"),
    Field("filter_description", ("filters",), "str", "", "filter descriptions from the inputs' headers"),
    Field("sample_id", ("samples",), "str", "", "sample identifiers"),
    Field("variant_contig", ("variants",), "int16", None, "index into contig_id"),
    Field("variant_position", ("variants",), "int32", None, "1-based position"),
    Field("variant_allele", ("variants", "alleles"), "str", None, "[REF, ALT] after splitting"),
    Field("variant_id", ("variants",), "str", None, "variant identifier (chrom:pos:ref:alt when the input has none)"),
    Field("variant_id_mask", ("variants",), "bool", None, "True where the input had no variant id"),
    Field("variant_quality", ("variants",), "float32", np.nan, "VCF QUAL (NaN when missing or not a VCF)"),
    Field("variant_filter", ("variants", "filters"), "bool", None,
          "True where the variant's FILTER names filter_id[j] (all False: FILTER missing or not a VCF)"),
    Field("variant_source", ("variants",), "int32", None, "index of the input file"),
    Field("variant_split", ("variants",), "int16", None, "which ALT of the source record (1-based)"),
    Field("variant_alt_frequency", ("variants",), "float64", np.nan, "ALT allele frequency"),
    Field("variant_call_rate", ("variants",), "float64", np.nan, "share of samples called"),
    Field("variant_info", ("variants",), "float64", np.nan, "imputation INFO / r^2 (1 for hard calls)"),
    Field("call_genotype", ("variants", "samples", "ploidy"), "int8", None, "allele codes, -1 missing, -2 fill"),
    Field("call_genotype_mask", ("variants", "samples", "ploidy"), "bool", None, "True where call_genotype < 0"),
    Field("call_genotype_phased", ("variants", "samples"), "bool", None, "True where phased"),
    Field("call_dosage_scaled", ("variants", "samples"), "uint16", None,
          f"round(ALT dosage x {DOSAGE_SCALE}); {DOSAGE_MISSING} = missing"),
    Field("call_DS", ("variants", "samples"), "float32", np.nan,
          f"ALT dosage (call_dosage_scaled / {DOSAGE_SCALE}), NaN missing; inputs with dosages only"),
]}

VARIANT_FIELDS = [n for n, f in FIELDS.items() if f.dims == ("variants",) or f.dims == ("variants", "alleles")]
GENOTYPE_FIELDS = ["call_genotype", "call_genotype_mask", "call_genotype_phased"]
#: written by :func:`gwas.store.writer.write_block` from ``call_dosage_scaled``, not by the converters
DERIVED_FIELDS = ["call_DS"]
#: a hard call from a dosage: the nearest genotype when the dosage is within this distance of it,
#: else missing (plink2's default ``--hard-call-threshold`` 0.1)
HARD_CALL_DISTANCE = 0.1


def encode_dosage(dosage: np.ndarray) -> np.ndarray:
    """float dosages (NaN = missing) -> uint16 store encoding (see module docstring)."""
    d = np.asarray(dosage, dtype=np.float64)
    out = np.rint(np.clip(np.nan_to_num(d, nan=0.0), 0.0, MAX_DOSAGE_PLOIDY) * DOSAGE_SCALE).astype(np.uint16)
    out[np.isnan(d)] = DOSAGE_MISSING
    return out


def decode_dosage(scaled: np.ndarray, dtype=np.float32) -> np.ndarray:
    """uint16 store encoding -> float dosages with NaN for missing."""
    out = scaled.astype(dtype) / dtype(DOSAGE_SCALE)
    out[scaled == DOSAGE_MISSING] = np.nan
    return out


def set_variants(block: dict[str, np.ndarray], rows, contig, position, ref, alt, vid, source, split) -> None:
    """Rows ``rows`` of a block's variant fields at once (each other argument one value per row or
    one for all): contig index, position, (REF, ALT), the ID ('.' and masked when empty or '.'),
    the source file index and the split index (1 = first ALT)."""
    rows, vid = np.atleast_1d(rows), np.atleast_1d(np.asarray(vid, dtype=object))  # no 0-d arrays as elements
    absent = (vid == "") | (vid == ".")
    block["variant_contig"][rows] = contig
    block["variant_position"][rows] = position
    block["variant_allele"][rows, 0] = ref
    block["variant_allele"][rows, 1] = alt
    block["variant_id"][rows] = np.where(absent, ".", vid)
    block["variant_id_mask"][rows] = absent
    block["variant_source"][rows] = source
    block["variant_split"][rows] = split


def check_block(block: dict[str, np.ndarray], n_samples: int) -> None:
    """Check a block of arrays against the registry (names, dtypes, shapes); raise ValueError if off."""
    n = None
    for name, arr in block.items():
        f = FIELDS.get(name)
        if f is None:
            raise ValueError(f"unknown store field {name!r}")
        if f.dtype != "str" and arr.dtype != np.dtype(f.dtype):
            raise ValueError(f"{name}: dtype {arr.dtype}, registry says {f.dtype}")
        if "variants" in f.dims:
            n = arr.shape[0] if n is None else n
            if arr.shape[0] != n:
                raise ValueError(f"{name}: {arr.shape[0]} variants, other fields {n}")
        if "samples" in f.dims and arr.shape[f.dims.index("samples")] != n_samples:
            raise ValueError(f"{name}: samples dimension {arr.shape} != {n_samples}")
