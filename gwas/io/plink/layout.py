"""PLINK 1 file layout without Numba (what planning a scan needs): the ``.bed`` magic bytes and
record size, its size check, and which samples' calls plink2 reads as haploid on a contig.
Decoding kernels: :mod:`gwas.io.plink.bed`; conventions: :mod:`gwas.ingest.plink`."""

from __future__ import annotations

import os
import re

import numpy as np

from gwas.io.plink.tables import MALE
from hubscan.errors import InputError

BED_MAGIC = bytes([0x6C, 0x1B, 0x01])
_X = re.compile(r"^(chr)?(X|23)$", re.IGNORECASE)
_Y = re.compile(r"^(chr)?(Y|24)$", re.IGNORECASE)
_MT = re.compile(r"^(chr)?(MT|M|26)$", re.IGNORECASE)


def bytes_per_variant(n_samples: int) -> int:
    return (n_samples + 3) // 4


def check_bed(path: str | os.PathLike, n_samples: int, n_variants: int, fam: str, bim: str) -> None:
    """Magic bytes and exact size ``3 + n_variants * ceil(n_samples / 4)``; InputError naming the files."""
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        magic = fh.read(3)
    if magic[:2] != BED_MAGIC[:2]:
        raise InputError(f"{path}: not a PLINK 1 .bed file (first bytes {magic.hex()}, expected 6c1b01)")
    if magic[2:3] != BED_MAGIC[2:3]:
        raise InputError(f"{path}: sample-major .bed (mode byte {magic[2:3].hex()}) is not supported; "
                         "rewrite it with `plink2 --bfile ... --make-bed` (SNP-major)")
    expected = 3 + n_variants * bytes_per_variant(n_samples)
    if size != expected:
        raise InputError(f"{path}: {size} bytes, but {bim} lists {n_variants} variants and {fam} {n_samples} "
                         f"samples, which need {expected} bytes: the .bed is truncated or the .bim/.fam "
                         "do not belong to it")


def haploid_samples(contig: str, sex: np.ndarray) -> np.ndarray:
    """bool (samples,): where plink2 reads calls on ``contig`` as haploid."""
    if _MT.match(contig):
        return np.ones(len(sex), dtype=bool)
    if _X.match(contig) or _Y.match(contig):
        return sex == MALE
    return np.zeros(len(sex), dtype=bool)
