"""PLINK 2 ``.pgen`` reading through pgenlib (the PLINK 2 project's own Python reader).

Files written by plink2 ``--make-pgen`` (storage modes 0x10/0x11). :func:`pgen_counts` checks
the header against the ``.psam``/``.pvar`` row counts;
:func:`read_pgen_range` returns, for variants ``start .. stop - 1``:

* ``codes`` int32 (variants, samples, 2): allele index per haplotype slot (0 = REF, 1.. = ALT in
  ``.pvar`` order), -9 missing (pgenlib's code);
* ``phased`` bool (variants, samples): pgen's phase-present flag (set only for phased
  heterozygous calls; a homozygous call carries no phase in pgen);
* ``dosage`` float64 (variants, samples): ALT dosage of biallelic variants (the stored dosage
  where the file has one, the hard call otherwise; NaN missing); multi-allelic rows hold NaN here:
  PLINK 2 keeps no multi-allelic dosages, so callers count the hard calls.
"""

from __future__ import annotations

import struct

import numpy as np

from hubscan.errors import InputError


def _reader(path: str, **kwargs):
    import pgenlib

    try:
        return pgenlib.PgenReader(path.encode(), **kwargs)
    except RuntimeError as exc:
        raise InputError(f"{path}: cannot read the .pgen: {str(exc).strip()}") from None


def _allele_offsets(n_alt_file: np.ndarray) -> dict:
    if (n_alt_file > 1).any():
        return {"allele_idx_offsets": np.concatenate([[0], np.cumsum(n_alt_file + 1)]).astype(np.uintp)}
    return {}


def pgen_counts(path: str, n_alt_file: np.ndarray, n_samples: int, psam: str, pvar: str) -> bool:
    """Check the .pgen header (magic ``6C 1B``, variant and sample counts) against the .pvar/.psam;
    return whether the file holds phase information."""
    with open(path, "rb") as fh:
        head = fh.read(11)
    if len(head) < 11 or head[:2] != b"\x6c\x1b" or head[2] not in (0x10, 0x11):
        raise InputError(f"{path}: not a PLINK 2 .pgen file (first bytes {head[:3].hex()}, expected 6c1b10 or 6c1b11)")
    got_v, got_s = struct.unpack("<II", head[3:11])
    if got_s != n_samples:
        raise InputError(f"{path}: the .pgen holds {got_s} samples but {psam} lists {n_samples}")
    if got_v != len(n_alt_file):
        raise InputError(f"{path}: the .pgen holds {got_v} variants but {pvar} lists {len(n_alt_file)}")
    with _reader(path, raw_sample_ct=n_samples, variant_ct=got_v, **_allele_offsets(n_alt_file)) as r:
        return bool(r.hardcall_phase_present())


def read_pgen_range(path: str, n_samples: int, n_alt_file: np.ndarray, start: int, stop: int):
    """(codes, phased, dosage) of variants ``start .. stop - 1``; ``n_alt_file``: ALT count of every row."""
    k = stop - start
    kwargs = {"raw_sample_ct": n_samples, "variant_ct": len(n_alt_file), **_allele_offsets(n_alt_file)}
    codes = np.empty((k, 2 * n_samples), dtype=np.int32)
    phase = np.empty((k, n_samples), dtype=np.uint8)
    dosage = np.full((k, n_samples), np.nan)
    try:
        with _reader(path, **kwargs) as r:
            r.read_alleles_and_phasepresent_range(start, stop, codes, phase)
            bi = np.flatnonzero(n_alt_file[start:stop] == 1)
            if len(bi):
                d = np.empty((len(bi), n_samples), dtype=np.float64)
                r.read_dosages_list(np.ascontiguousarray(bi + start, dtype=np.uint32), d)
                dosage[bi] = np.where(d < 0, np.nan, d)  # -9 = missing
    except RuntimeError as exc:
        raise InputError(f"{path}: cannot decode variants {start + 1}-{stop}: {str(exc).strip()}") from None
    return codes.reshape(k, n_samples, 2), phase.astype(bool), dosage
