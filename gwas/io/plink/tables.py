"""PLINK text tables: samples (``.fam``, ``.psam``) and variants (``.bim``, ``.pvar``).

Samples. The sample id is the **IID**; FID is read but not stored (most hubs set FID = IID or
FID = 0). IIDs must be unique in the file (a fileset whose IIDs repeat across families is
refused, naming the line: make them unique first, e.g. with ``plink2 --update-ids``).
Sex (``.fam`` column 5, ``.psam`` column ``SEX``): 1 or M male, 2 or F female, anything else
unknown. Sex only matters on X, Y and MT (see :mod:`gwas.ingest.plink`).

Variants. ``.bim``: CHROM ID CM POS A1 A2 (whitespace-separated); ``.pvar``: optional ``##`` lines,
a ``#CHROM`` header naming at least CHROM POS ID REF ALT (any order, extra columns ignored), or no
header and ``.bim`` column order. Planning keeps each row's byte offset, contig, position and ALT
count; :func:`read_variant_rows` re-reads a run of rows from a byte offset (what a task needs).
Zstandard-compressed ``.pvar.zst`` is not read (decompress it with ``zstd -d``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from hubscan.errors import InputError
from hubscan.files import require_file

MALE, FEMALE, UNKNOWN_SEX = 1, 2, 0
_SEX_CODES = {"1": MALE, "M": MALE, "m": MALE, "2": FEMALE, "F": FEMALE, "f": FEMALE}


@dataclass
class SampleTable:
    path: str
    ids: list[str]
    sex: np.ndarray  # int8: 1 male, 2 female, 0 unknown


@dataclass
class VariantRows:
    """Planning pass over a .bim/.pvar: one entry per row, in file order."""

    path: str
    layout: str  # "bim" or "pvar"
    columns: tuple[int, int, int, int, int]  # indexes of CHROM, POS, ID, REF, ALT
    offsets: np.ndarray  # int64 byte offset of each row
    line_numbers: np.ndarray  # int64 1-based line number of each row
    chroms: list[str]
    positions: np.ndarray  # int64
    n_alt: np.ndarray  # int64 ALT alleles per row (1 for '.')


BIM_COLUMNS = (0, 3, 1, 5, 4)  # CHROM POS ID REF=A2 ALT=A1


def _check_unique(ids: list[str], lines: list[int], path: str) -> None:
    seen: dict[str, int] = {}
    for s, ln in zip(ids, lines):
        if s in seen:
            raise InputError(f"{path}:{ln}: sample IID repeats line {seen[s]}: sample ids (IID) must be unique")
        seen[s] = ln


def read_fam(path: str | os.PathLike) -> SampleTable:
    """.fam: FID IID father mother sex phenotype (whitespace-separated, no header)."""
    path = str(require_file(path, "PLINK .fam file"))
    ids, sex, lines = [], [], []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, start=1):
            cols = line.split()
            if not cols:
                continue
            if len(cols) < 5:
                raise InputError(f"{path}:{n}: {len(cols)} columns, expected 6 (FID IID father mother sex phenotype)")
            ids.append(cols[1])
            sex.append(_SEX_CODES.get(cols[4], UNKNOWN_SEX))
            lines.append(n)
    if not ids:
        raise InputError(f"{path}: no samples")
    _check_unique(ids, lines, path)
    return SampleTable(path, ids, np.array(sex, dtype=np.int8))


def read_psam(path: str | os.PathLike) -> SampleTable:
    """.psam: a header starting ``#FID`` or ``#IID`` (IID and optional SEX columns), or .fam layout."""
    path = str(require_file(path, "PLINK 2 .psam file"))
    with open(path, encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    if not first.startswith(("#FID", "#IID")):
        return read_fam(path)
    header = first[1:].split()
    iid = header.index("IID") if "IID" in header else -1
    if iid < 0:
        raise InputError(f"{path}:1: header has no IID column")
    sex_col = header.index("SEX") if "SEX" in header else -1
    ids, sex, lines = [], [], []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, start=1):
            if n == 1 or line.startswith("#"):
                continue
            cols = line.split()
            if not cols:
                continue
            if len(cols) != len(header):
                raise InputError(f"{path}:{n}: {len(cols)} columns, the header names {len(header)}")
            ids.append(cols[iid])
            sex.append(_SEX_CODES.get(cols[sex_col], UNKNOWN_SEX) if sex_col >= 0 else UNKNOWN_SEX)
            lines.append(n)
    if not ids:
        raise InputError(f"{path}: no samples")
    _check_unique(ids, lines, path)
    return SampleTable(path, ids, np.array(sex, dtype=np.int8))


def _pvar_columns(path: str, header: str, n: int) -> tuple[int, int, int, int, int]:
    names = header[1:].split()
    missing = [c for c in ("CHROM", "POS", "ID", "REF", "ALT") if c not in names]
    if missing:
        raise InputError(f"{path}:{n}: #CHROM header lacks column(s) {', '.join(missing)}")
    return tuple(names.index(c) for c in ("CHROM", "POS", "ID", "REF", "ALT"))


def scan_variants(path: str | os.PathLike, layout: str) -> VariantRows:
    """One pass over a .bim (``layout='bim'``) or .pvar: offsets, contigs, positions, ALT counts."""
    path = str(require_file(path, f"PLINK .{layout} file"))
    if path.endswith(".zst"):
        raise InputError(f"{path}: compressed .pvar.zst is not supported; decompress it with `zstd -d`")
    columns = BIM_COLUMNS
    offsets, lines, chroms, positions, n_alt = [], [], [], [], []
    offset = 0
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, start=1):
            here, offset = offset, offset + len(raw)
            if layout == "pvar" and raw.startswith(b"#"):
                if raw.startswith(b"#CHROM"):
                    columns = _pvar_columns(path, raw.decode(errors="replace"), n)
                continue
            cols = raw.split()
            if not cols:
                continue
            if len(cols) <= max(columns):
                raise InputError(f"{path}:{n}: {len(cols)} columns, expected at least {max(columns) + 1}")
            try:
                pos = int(cols[columns[1]])
            except ValueError:
                raise InputError(f"{path}:{n}: position {cols[columns[1]][:20].decode(errors='replace')!r} "
                                 "is not an integer") from None
            alt = cols[columns[4]]
            offsets.append(here)
            lines.append(n)
            chroms.append(cols[columns[0]].decode())
            positions.append(pos)
            n_alt.append(alt.count(b",") + 1)
    return VariantRows(path, layout, columns, np.array(offsets, dtype=np.int64), np.array(lines, dtype=np.int64),
                       chroms, np.array(positions, dtype=np.int64), np.array(n_alt, dtype=np.int64))


def _allele(code: str) -> str:
    """PLINK 1 writes a missing allele as '0'; the store (like VCF and plink2) uses '.'."""
    return "." if code == "0" else code


def read_variant_rows(path: str, columns, offset: int, count: int, first_line: int):
    """Re-read ``count`` rows from byte ``offset``: list of (chrom, pos, id, ref, [alts])."""
    out = []
    with open(path, "rb") as fh:
        fh.seek(offset)
        n = first_line
        while len(out) < count:
            raw = fh.readline()
            if not raw:
                raise InputError(f"{path}:{n}: file ends before the planned rows (was it changed after planning?)")
            n += 1
            cols = raw.decode(errors="replace").split()
            if not cols or cols[0].startswith("#"):
                continue
            ref, alt = _allele(cols[columns[3]]), _allele(cols[columns[4]])
            out.append((cols[columns[0]], int(cols[columns[1]]), cols[columns[2]], ref, alt.split(",")))
    return out
