"""Genotype inputs as a Hail MatrixTable, and the sample files QC reads (recorded sex, labels).

Inputs: bgzipped VCF/BCF (one or several files with the same samples, e.g. one per chromosome),
BGEN 1.2 (with its Oxford ``.sample`` when ids are not in the file; hard calls are the most likely
genotype when its probability is at least 0.9, as Hail's ``import_bgen`` makes them), PLINK 1
``.bed`` (with ``.bim``/``.fam`` beside it), a Hail MatrixTable folder (``.mt``) or a hubscan
genotype store (its variants with INFO >= :data:`STORE_QC_MIN_INFO`, converted to PLINK hard calls
first, :mod:`gwas.qc.from_store`). Contigs may be
named ``chr1`` or ``1`` (GRCh37).
"""

from __future__ import annotations

import csv
from pathlib import Path

from gwas.io.bgzf import is_bgzf
from hubscan.errors import InputError

MALE, FEMALE = 1, 2
#: Recorded-sex codes accepted (case-insensitive); empty, "0", "NA" and "unknown" mean not recorded.
SEX_CODES = {"1": MALE, "m": MALE, "male": MALE, "2": FEMALE, "f": FEMALE, "female": FEMALE}
MISSING_SEX = {"", "0", "na", "nan", "unknown", "u", "-9"}
#: QC of a genotype store uses its hard-called variants: INFO/r² at least this (imputed dosages are
#: not QC material; directly genotyped variants have INFO 1).
STORE_QC_MIN_INFO = 0.99
SAMPLE_ID_COLUMNS = ("sample_id", "IID", "iid", "ID_1", "sample.id", "s", "sample")


def input_kind(path: str) -> str:
    from hubscan.parts import SUCCESS_MARKER

    if Path(path).is_dir() and (Path(path) / ".zgroup").exists():
        if not (Path(path) / SUCCESS_MARKER).exists():
            raise InputError(f"{path}: not a complete genotype store (no {SUCCESS_MARKER}); finish `hubscan ingest` first")
        return "store"
    name = path.rstrip("/").lower()
    for suffix, kind in ((".vcf.gz", "vcf"), (".vcf.bgz", "vcf"), (".vcf", "vcf"), (".bcf", "bcf"),
                         (".bgen", "bgen"), (".bed", "plink"), (".mt", "mt")):
        if name.endswith(suffix):
            return kind
    raise InputError(f"{path}: unknown genotype format (expected .vcf.gz, .bcf, .bgen, .bed, a Hail .mt "
                     "or a hubscan genotype store)")


def check_inputs(paths: list[str]) -> str:
    """The one format of ``paths``, or InputError (unknown format, missing file, mixed formats)."""
    if not paths:
        raise InputError("no genotype input given")
    kinds = {input_kind(str(p)) for p in paths}
    for p in paths:
        if not Path(p).exists():
            raise InputError(f"genotype input {p} does not exist")
    if len(kinds) != 1:
        raise InputError(f"genotype inputs mix formats ({', '.join(sorted(kinds))}); give files of one format")
    return kinds.pop()


def load_genotypes(hl, paths: list[str], sample_file: str | None = None, scratch: str | None = None):
    """One MatrixTable with entry field ``GT`` (and row key locus/alleles) from ``paths``."""
    kind = check_inputs(paths)
    recode = {f"chr{c}": c for c in [*map(str, range(1, 23)), "X", "Y", "MT"]}
    if kind == "bcf":
        raise InputError(f"{paths[0]}: Hail reads VCF, not BCF; convert with `bcftools view -Oz`, "
                         "or ingest it into the genotype store and run QC from there")
    if kind == "vcf":
        gz = [str(p) for p in paths if str(p).endswith((".gz", ".bgz"))]
        bgzf = [is_bgzf(p) for p in gz]
        mt = hl.import_vcf([str(p) for p in paths], force_bgz=bool(gz) and all(bgzf),
                           force=bool(gz) and not all(bgzf), contig_recoding=recode,
                           reference_genome="GRCh37", array_elements_required=False)
    elif kind == "bgen":
        index = {str(p): str(Path(scratch or Path(p).parent) / (Path(p).name + ".idx2")) for p in paths}
        hl.index_bgen([str(p) for p in paths], index_file_map=index, contig_recoding=recode,
                      reference_genome="GRCh37")
        mt = hl.import_bgen([str(p) for p in paths], entry_fields=["GT"], sample_file=sample_file,
                            index_file_map=index)
    elif kind == "store":
        from gwas.qc.from_store import store_to_plink

        if len(paths) != 1:
            raise InputError("give one genotype store")
        bed = store_to_plink(paths[0], Path(scratch or ".") / "store", min_info=STORE_QC_MIN_INFO)
        stem = str(bed)[:-4]
        mt = hl.import_plink(stem + ".bed", stem + ".bim", stem + ".fam", contig_recoding=recode,
                             reference_genome="GRCh37", quant_pheno=True, missing="-9")
    elif kind == "plink":
        if len(paths) != 1:
            raise InputError("give one PLINK .bed file (with .bim and .fam beside it)")
        stem = str(paths[0])[:-4]
        for ext in (".bim", ".fam"):
            if not Path(stem + ext).exists():
                raise InputError(f"{stem + ext} is missing (needed beside {paths[0]})")
        mt = hl.import_plink(stem + ".bed", stem + ".bim", stem + ".fam", contig_recoding=recode,
                             reference_genome="GRCh37")
    else:
        if len(paths) != 1:
            raise InputError("give one MatrixTable")
        mt = hl.read_matrix_table(str(paths[0]))
        if "GT" not in mt.entry:
            raise InputError(f"{paths[0]}: the MatrixTable has no GT entry field")
    mt = mt.select_entries("GT")
    return mt.filter_rows(hl.len(mt.alleles) == 2)


def variant_id(hl, locus, alleles):
    """The variant's id "chrom:pos:ref:alt" as a Hail string expression (plink2's
    ``--set-all-var-ids @:#:$r:$a``)."""
    return hl.format("%s:%d:%s:%s", locus.contig, locus.position, alleles[0], alleles[1])


def _dialect(path: Path, first_line: str) -> str | None:
    if "\t" in first_line:
        return "\t"
    if "," in first_line:
        return ","
    return None  # whitespace


def read_sample_table(path: str | Path, column: str, what: str) -> dict[str, str]:
    """``sample id -> value of column`` from a TSV/CSV/whitespace file with a header (Oxford
    ``.sample`` files too: their second, type line is skipped). Raises InputError naming the file
    and line for a missing column, a short line or a repeated sample."""
    return {sample: value for _, sample, value in _sample_rows(path, column, what)}


def _sample_rows(path: str | Path, column: str, what: str) -> list[tuple[int, str, str]]:
    """(line number, sample id, value) per data line; see :func:`read_sample_table`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} file {path} does not exist")
    lines = path.read_text().splitlines()
    if not lines:
        raise InputError(f"{path}: empty {what} file")
    sep = _dialect(path, lines[0])
    rows = list(csv.reader(lines, delimiter=sep)) if sep else [line.split() for line in lines]
    header = rows[0]
    start = 2 if path.suffix == ".sample" else 1
    id_col = next((c for c in SAMPLE_ID_COLUMNS if c in header), None)
    if id_col is None:
        raise InputError(f"{path}:1: no sample id column (one of {', '.join(SAMPLE_ID_COLUMNS)})")
    if column not in header:
        raise InputError(f"{path}:1: no column {column!r} (columns: {', '.join(header)})")
    i, j = header.index(id_col), header.index(column)
    seen: set[str] = set()
    out = []
    for lineno, row in enumerate(rows[start:], start=start + 1):
        if not row:
            continue
        if len(row) <= max(i, j):
            raise InputError(f"{path}:{lineno}: {len(row)} fields, expected {len(header)}")
        if row[i] in seen:
            raise InputError(f"{path}:{lineno}: sample listed twice")
        seen.add(row[i])
        out.append((lineno, row[i], row[j]))
    return out


def read_recorded_sex(path: str | Path, column: str = "sex") -> dict[str, int | None]:
    """Recorded sex per sample: 1 male, 2 female, None not recorded. Codes: :data:`SEX_CODES`,
    :data:`MISSING_SEX`; any other code is an InputError naming the line."""
    codes: dict[str, int | None] = {}
    for lineno, sample, code in _sample_rows(path, column, "recorded-sex"):
        key = code.strip().lower()
        if key in SEX_CODES:
            codes[sample] = SEX_CODES[key]
        elif key in MISSING_SEX:
            codes[sample] = None
        else:
            raise InputError(f"{path}:{lineno}: unknown sex code {code!r} in column {column!r}; "
                             f"use 1/M/male, 2/F/female, or 0/NA for not recorded")
    return codes
