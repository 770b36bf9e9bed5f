"""PLINK 1 ``.bed`` reader: SNP-major (variant-major) hard calls, decoded with a Numba kernel.

Format (https://www.cog-genomics.org/plink/1.9/formats#bed): three magic bytes ``6C 1B 01`` (the
third byte 01 = SNP-major; the old sample-major mode 00 is refused), then one record per ``.bim``
row of ``ceil(n_samples / 4)`` bytes. Each byte holds four samples, the first sample in the two
lowest bits. 2-bit codes, counted as copies of the ``.bim`` **A1** allele (column 5):

====  =====================  ========
code  genotype               A1 count
====  =====================  ========
00    homozygous A1          2
01    missing                -1
10    heterozygous           1
11    homozygous A2          0
====  =====================  ========

hubscan stores A2 (column 6) as REF and A1 as ALT, as plink2 does when it reads a ``.bed``
(and as ``plink2 --make-bed`` writes a VCF's REF/ALT), so the stored ALT dosage is the A1 count.
Kernels :func:`decode_kernel` (int8 codes) and :func:`decode_dosage_kernel` (float64 dosages, NaN
missing); plain NumPy reference :func:`decode_reference`.
"""

from __future__ import annotations

import os

import numba
import numpy as np

from gwas.io.plink.layout import BED_MAGIC, bytes_per_variant, check_bed  # noqa: F401 (re-exported)
from hubscan.errors import InputError

#: A1 count by 2-bit code (-1 = missing)
CODE_A1_COUNT = np.array([2, -1, 1, 0], dtype=np.int8)
#: A1 count by 2-bit code as float64 (NaN = missing)
CODE_DOSAGE = np.array([2.0, np.nan, 1.0, 0.0])


@numba.njit(cache=True, nogil=True)
def decode_kernel(raw, n_samples, out):
    """raw uint8 (variants, bytes_per_variant) -> out int8 (variants, n_samples) A1 counts, -1 missing."""
    table = np.array([2, -1, 1, 0], dtype=np.int8)
    for v in range(raw.shape[0]):
        for s in range(n_samples):
            out[v, s] = table[(raw[v, s >> 2] >> ((s & 3) << 1)) & 3]


@numba.njit(cache=True, nogil=True, parallel=True)
def decode_dosage_kernel(raw, n_samples, out):
    """raw uint8 (variants, bytes_per_variant) -> out float64 (variants, n_samples) A1 counts, NaN
    missing: the association kernels' input, in parallel over variants (one byte -> four values)."""
    table = CODE_DOSAGE
    full = n_samples // 4
    for v in numba.prange(raw.shape[0]):
        row = out[v]
        for byte in range(full):
            code = raw[v, byte]
            row[4 * byte] = table[code & 3]
            row[4 * byte + 1] = table[(code >> 2) & 3]
            row[4 * byte + 2] = table[(code >> 4) & 3]
            row[4 * byte + 3] = table[code >> 6]
        for s in range(4 * full, n_samples):
            row[s] = table[(raw[v, s >> 2] >> ((s & 3) << 1)) & 3]


def decode_reference(raw: np.ndarray, n_samples: int) -> np.ndarray:
    """NumPy reference of :func:`decode_kernel`."""
    shifts = np.array([0, 2, 4, 6], dtype=np.uint8)
    codes = (raw[:, :, None] >> shifts) & 3
    return CODE_A1_COUNT[codes.reshape(raw.shape[0], -1)[:, :n_samples]]


def read_bed_range(path: str | os.PathLike, n_samples: int, start: int, stop: int) -> np.ndarray:
    """int8 (stop - start, n_samples) A1 counts (-1 missing) of variants ``start .. stop - 1``."""
    per = bytes_per_variant(n_samples)
    with open(path, "rb") as fh:
        fh.seek(3 + start * per)
        data = fh.read((stop - start) * per)
    if len(data) != (stop - start) * per:
        raise InputError(f"{path}: file ends inside variant {start + len(data) // per + 1} "
                         "(truncated; was it changed after planning?)")
    raw = np.frombuffer(data, dtype=np.uint8).reshape(stop - start, per)
    out = np.empty((stop - start, n_samples), dtype=np.int8)
    decode_kernel(raw, n_samples, out)
    return out
