"""BGEN 1.2 writer: layout 2, zlib-compressed, unphased biallelic genotype probabilities.

File layout (BGEN spec v1.2, https://www.well.ox.ac.uk/~gav/bgen_format/; all integers
little-endian unsigned):

* 4 bytes: offset of the first variant block relative to byte 5 (= header length + sample block length).
* Header block: length (20 here, no free data), number of variants M, number of samples N, magic
  ``bgen``, flags (bits 0-1 compression = 1 zlib, bits 2-5 layout = 2, bit 31 sample ids present).
* Sample identifier block: its length, N, then per sample a uint16 length and the id bytes.
* Per variant: uint16-prefixed variant id, rsid and chromosome, uint32 position, uint16 allele count
  (2), uint32-prefixed alleles (first = REF, so readers use ``ref-first``), then uint32 C (bytes that
  follow), uint32 D (uncompressed length) and the zlib stream of the probability data:
  N (uint32), K=2 (uint16), min and max ploidy (uint8), one byte per sample (ploidy in bits 0-5,
  bit 7 = missing), phased = 0, bits per probability B, then the packed probabilities.

Probabilities: for a diploid sample P(REF/REF), P(REF/ALT) are stored (P(ALT/ALT) is implied), for a
haploid sample P(REF). Each is an unsigned B-bit integer, packed consecutively with the first value
in the least-significant bits. Rounding follows the spec: scale the probabilities of a sample by
2^B - 1, take floors, then add 1 to the values with the largest fractional parts until they sum to
2^B - 1 (:func:`round_probabilities`). A missing sample has the missing bit set and all-zero values.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

from gwas.io.bgen import encode as kernels
from hubscan.errors import ConfigError, OutputError

LAYOUT_2 = 2
COMPRESSION_ZLIB = 1
SAMPLE_IDS_FLAG = 1 << 31
HEADER_LENGTH = 20


def check_bits(bits: int) -> int:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 32:
        raise ConfigError(f"bgen bits per probability must be an integer in 1..32, got {bits!r}")
    return int(bits)


def round_probabilities(probs: np.ndarray, bits: int) -> np.ndarray:
    """uint32 array like ``probs`` (..., k): each row scaled to integers summing exactly to 2^bits - 1
    (the BGEN spec's rounding, :func:`round_to_total`)."""
    return round_to_total(probs, (1 << check_bits(bits)) - 1).astype(np.uint32)


def round_to_total(probs: np.ndarray, total: int) -> np.ndarray:
    """int64 array like ``probs`` (..., k): rows rounded to non-negative integers summing to ``total``.

    Floors of ``p * total`` plus one for the entries with the largest fractional parts (ties: the
    earlier entry), as the BGEN spec prescribes for storing probabilities. Rows are normalised to
    sum 1 first; an all-zero row stays zero. (Kernel: :func:`gwas.io.bgen.encode.round_rows`.)
    """
    probs = np.asarray(probs, dtype=np.float64)
    flat = np.ascontiguousarray(probs.reshape(-1, probs.shape[-1]))
    out = np.empty(flat.shape, dtype=np.int64)
    kernels.round_rows(flat, int(total), out)
    return out.reshape(probs.shape)


def probability_data(probs: np.ndarray, ploidy: np.ndarray, missing: np.ndarray | None, bits: int) -> bytes:
    """Uncompressed layout-2 probability data of one biallelic variant, unphased.

    probs: float (N, 3) P(0, 1, 2 ALT copies) for diploid samples, (P(0), P(1), ignored) for haploid;
    or uint32 (N, 2) already-rounded stored values. ploidy: uint8 (N,) 1 or 2. missing: bool (N,) or None.
    """
    bits = check_bits(bits)
    n = len(ploidy)
    ploidy = np.asarray(ploidy, dtype=np.uint8)
    if probs.dtype == np.uint32 and probs.shape == (n, 2):
        stored = probs.copy()
    else:
        stored = stored_probabilities(probs, ploidy, bits)
    if missing is None:
        missing = np.zeros(n, dtype=bool)
    return encode_block(stored[None], ploidy, np.asarray(missing, dtype=bool)[None], bits)[0].tobytes()


def encode_block(stored: np.ndarray, ploidy: np.ndarray, missing: np.ndarray, bits: int) -> np.ndarray:
    """uint8 (B, L) uncompressed probability data of B variants from stored values uint32 (B, N, 2),
    ploidy uint8 (N,) and missing bool (B, N)."""
    bits = check_bits(bits)
    ploidy = np.asarray(ploidy, dtype=np.uint8)
    n = len(ploidy)
    length = 10 + n + (int(ploidy.sum(dtype=np.int64)) * bits + 7) // 8
    out = np.empty((stored.shape[0], length), dtype=np.uint8)
    kernels.encode_probability_rows(np.ascontiguousarray(stored, dtype=np.uint32), ploidy,
                                    np.ascontiguousarray(missing, dtype=np.bool_), bits, out)
    return out


def stored_probabilities(probs: np.ndarray, ploidy: np.ndarray, bits: int) -> np.ndarray:
    """uint32 (..., N, 2) stored values from probabilities (..., N, 3) of 0/1/2 ALT copies (haploid
    samples: P(0), P(1), ignored), rounded per sample with :func:`round_probabilities`."""
    probs = np.asarray(probs, dtype=np.float64)
    haploid = np.asarray(ploidy) == 1
    if haploid.any():
        probs = np.where(haploid[:, None], np.concatenate([probs[..., :2], np.zeros_like(probs[..., :1])], axis=-1),
                         probs)
    return np.ascontiguousarray(round_probabilities(probs, bits)[..., :2])


def hard_call_stored(dosage: np.ndarray, ploidy: np.ndarray, bits: int) -> np.ndarray:
    """uint32 (..., N, 2) stored values of hard calls (ALT counts (..., N), 0..ploidy): probability 1
    on the call. Diploid: (P(REF/REF), P(REF/ALT)); haploid: (P(REF), unused 0)."""
    top = np.uint32((1 << check_bits(bits)) - 1)
    dosage = np.asarray(dosage)
    stored = np.zeros(dosage.shape + (2,), dtype=np.uint32)
    stored[..., 0] = np.where(dosage == 0, top, 0)
    stored[..., 1] = np.where((np.asarray(ploidy) == 2) & (dosage == 1), top, 0)
    return stored


def _string16(text: str) -> bytes:
    raw = text.encode()
    if len(raw) > 0xFFFF:
        raise OutputError(f"BGEN string longer than 65535 bytes: {text[:40]}...")
    return struct.pack("<H", len(raw)) + raw


def variant_block(variant_id: str, rsid: str, chrom: str, pos: int, ref: str, alt: str, data: bytes,
                  compression_level: int = 6) -> bytes:
    """One complete variant data block (identifying data + compressed probability data)."""
    compressed = zlib.compress(data, compression_level)
    alleles = b"".join(struct.pack("<I", len(a.encode())) + a.encode() for a in (ref, alt))
    return b"".join([_string16(variant_id), _string16(rsid), _string16(chrom), struct.pack("<IH", pos, 2), alleles,
                     struct.pack("<II", len(compressed) + 4, len(data)), compressed])


def header(n_variants: int, sample_ids) -> bytes:
    """Offset, header block and sample identifier block (everything before the first variant)."""
    ids = b"".join(_string16(str(s)) for s in sample_ids)
    n = len(sample_ids)
    sample_block = struct.pack("<II", 8 + len(ids), n) + ids
    flags = COMPRESSION_ZLIB | (LAYOUT_2 << 2) | SAMPLE_IDS_FLAG
    head = struct.pack("<III4sI", HEADER_LENGTH, n_variants, n, b"bgen", flags)
    return struct.pack("<I", HEADER_LENGTH + len(sample_block)) + head + sample_block


def read_header_counts(path: str | os.PathLike) -> tuple[int, int]:
    """(number of variants, number of samples) from a BGEN header (for verification)."""
    with open(path, "rb") as fh:
        raw = fh.read(20)
    if len(raw) < 20 or raw[16:20] != b"bgen":
        raise OutputError(f"{path} is not a BGEN file (no 'bgen' magic in its header)")
    _, _, m, n = struct.unpack("<IIII", raw[:16])
    return m, n


def write_sample_file(path: str | os.PathLike, sample_ids, sex=None) -> None:
    """Oxford ``.sample`` file (ID_1 = ID_2 = sample id, missing 0, sex D: 1 male / 2 female / 0 unknown)."""
    lines = ["ID_1 ID_2 missing sex", "0 0 0 D"]
    sex = np.zeros(len(sample_ids), dtype=int) if sex is None else np.asarray(sex)
    for sid, s in zip(sample_ids, sex):
        if any(c.isspace() for c in str(sid)):
            raise OutputError(f"sample id {sid!r} contains white space; the .sample format cannot hold it")
        lines.append(f"{sid} {sid} 0 {int(s)}")
    Path(path).write_text("\n".join(lines) + "\n")
