"""PLINK 1 (.bed/.bim/.fam) and PLINK 2 (.pgen/.pvar/.psam) inputs -> store blocks.

Used by :func:`gwas.ingest.sources.plan_inputs` / :func:`~gwas.ingest.sources.convert_range` for
files named ``*.bed`` or ``*.pgen``; the ``.bim``/``.fam`` (``.pvar``/``.psam``) must sit beside
them with the same stem. Several filesets (e.g. one per chromosome) must list the same IIDs in
the same order.

Conventions (as plink2):

* Alleles: ``.bed`` A2 (``.bim`` column 6) is stored as REF and A1 (column 5) as ALT, so the
  stored ALT dosage is the A1 count (plink2 reads a ``.bed`` the same way, and ``plink2
  --make-bed`` writes a VCF's REF as A2, ALT as A1): ``ref-last``, the default. With
  ``ref-first`` (REGENIE's ``--ref-first``) A1 is REF and A2 ALT, the dosage the A2 count. ``.pvar`` REF/ALT are stored as they are;
  multi-allelic ``.pvar`` rows are split one ALT at a time like VCF records
  (:mod:`gwas.store.variables`). A PLINK 1 missing allele code ``0`` is stored as ``.``.
* Sample id = IID (FID is not stored; see :mod:`gwas.io.plink.tables`).
* Ploidy. PLINK files hold every call diploid; plink2 reads calls as haploid from the sample's
  sex: males on X (contig ``X``/``23``/``chrX``) and Y (``Y``/``24``), everyone on MT
  (``MT``/``M``/``26``). There a homozygous or missing call is stored haploid (``[a, -2]``,
  ploidy 1, dosage = copies of ALT in 0..1, a pgen dosage halved), exactly as a VCF with haploid
  male X calls is stored. A heterozygous call where a haploid one is expected (a PLINK
  "heterozygous haploid", e.g. a male in an X PAR that was not split off as ``XY``/``25``) is kept
  diploid. Unknown sex counts as diploid (female) on X and Y.
* Hard calls go to ``call_genotype``. Phase: pgen's phase-present flag for heterozygous calls;
  diploid homozygous calls count as phased when the file has any phase information (a
  homozygous call is phase-free); haploid calls and .bed calls are unphased (as VCF input).
* Dosage: .bed: the A1 count. .pgen biallelic rows: the stored dosage (1/16384 resolution) or
  the hard call; multi-allelic rows: hard-call counts. INFO: MaCH r^2 for rows where some dosage
  is not a hard call, 1 otherwise (:mod:`gwas.store.stats`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gwas.io.plink import bed as bed_io
from gwas.io.plink import pgen as pgen_io
from gwas.io.plink.layout import haploid_samples
from gwas.io.plink.tables import read_fam, read_psam, read_variant_rows, scan_variants
from gwas.ingest.sources import REF_FIRST, SourcePlan, summarise
from gwas.store import stats
from hubscan.errors import InputError
from hubscan.files import require_file

#: companions of each genotype file: (variant table, layout, sample table)
COMPANIONS = {"bed": (".bim", "bim", ".fam"), "pgen": (".pvar", "pvar", ".psam")}


@dataclass
class PlinkMeta:
    """What tasks need beyond :class:`gwas.ingest.sources.SourcePlan`: per input file its
    variant table (path, column indexes, ALT count per row), per record its row's byte offset
    and line number, and the samples' sex."""

    variant_paths: list[str]
    columns: list[tuple]
    n_alt: list[np.ndarray]
    phase_present: list[bool]
    rec_offset: np.ndarray
    rec_line: np.ndarray
    sex: np.ndarray


def companion(path: str, ext: str) -> str:
    stem = str(path)[: -len(Path(path).suffix)]
    return str(require_file(stem + ext, f"PLINK {ext} file beside {path}"))


def plan_plink(paths: list[str], kind: str):
    var_ext, layout, sample_ext = COMPANIONS[kind]
    samples = None
    contigs: dict[str, int] = {}
    cols = {k: [] for k in ("file", "contig", "loc", "pos", "nsplit", "offset", "line")}
    meta = {"variant_paths": [], "columns": [], "n_alt": [], "phase_present": []}
    for fi, p in enumerate(paths):
        sample_path = companion(p, sample_ext)
        table = read_fam(sample_path) if kind == "bed" else read_psam(sample_path)
        if samples is None:
            samples = table
        elif table.ids != samples.ids:
            raise InputError(f"{sample_path}: sample ids (IID) differ from those of {samples.path}")
        rows = scan_variants(companion(p, var_ext), layout)
        n_s, n_v = len(table.ids), len(rows.offsets)
        if kind == "bed":
            if (rows.n_alt > 1).any():
                raise InputError(f"{rows.path}:{int(rows.line_numbers[np.argmax(rows.n_alt > 1)])}: "
                                 "a .bim row with several alleles in one column")
            bed_io.check_bed(p, n_s, n_v, sample_path, rows.path)
            phase = False
        else:
            phase = pgen_io.pgen_counts(p, rows.n_alt, n_s, sample_path, rows.path)
        cols["file"].append(np.full(n_v, fi, dtype=np.int32))
        cols["contig"].append(np.array([contigs.setdefault(c, len(contigs)) for c in rows.chroms], dtype=np.int16))
        cols["loc"].append(np.arange(n_v, dtype=np.int64))
        cols["pos"].append(rows.positions)
        cols["nsplit"].append(rows.n_alt)
        cols["offset"].append(rows.offsets)
        cols["line"].append(rows.line_numbers)
        for k, v in (("variant_paths", rows.path), ("columns", rows.columns), ("n_alt", rows.n_alt),
                     ("phase_present", phase)):
            meta[k].append(v)
    cat = {k: np.concatenate(v) for k, v in cols.items()}
    plan = SourcePlan(kind, paths, None, samples.ids, list(contigs), [-1] * len(contigs), cat["file"],
                      cat["contig"], cat["loc"], cat["pos"], np.zeros(len(cat["pos"]), np.int64), cat["nsplit"],
                      with_genotypes=True, with_dosages=kind == "pgen")
    plan.plink = PlinkMeta(**meta, rec_offset=cat["offset"], rec_line=cat["line"], sex=samples.sex)
    return plan


def _read_calls(plan, fi: int, l0: int, l1: int):
    """(codes int8 (k, n, 2) allele index or -1, phased bool (k, n), dosage float64 (k, n) NaN where none)."""
    n = len(plan.sample_ids)
    if plan.kind == "bed":
        count = bed_io.read_bed_range(plan.paths[fi], n, l0, l1)
        if plan.allele_order == REF_FIRST:  # A1 is REF: the A2 count
            count = np.where(count < 0, count, 2 - count).astype(np.int8)
        codes = np.stack([np.where(count < 0, -1, (count == 2).astype(np.int8)),
                          np.where(count < 0, -1, (count >= 1).astype(np.int8))], axis=2).astype(np.int8)
        return codes, np.zeros(count.shape, dtype=bool), np.full(count.shape, np.nan)
    codes, phased, dosage = pgen_io.read_pgen_range(plan.paths[fi], n, plan.plink.n_alt[fi], l0, l1)
    codes = np.where(codes < 0, -1, codes).astype(np.int8)
    if plan.plink.phase_present[fi]:
        phased |= (codes[:, :, 0] == codes[:, :, 1]) & (codes[:, :, 0] >= 0)
    return codes, phased, dosage


def convert_plink_range(plan, a: int, b: int) -> dict[str, np.ndarray]:
    """Store arrays for split variants a..b-1 of a PLINK plan (see module docstring)."""
    m, n = b - a, len(plan.sample_ids)
    v_rec = np.searchsorted(plan.split_start, np.arange(a, b), side="right") - 1
    v_alt = (np.arange(a, b) - plan.split_start[v_rec] + 1).astype(np.int8)  # 1-based ALT index
    r0, r1 = int(v_rec[0]), int(v_rec[-1]) + 1
    codes = np.empty((r1 - r0, n, 2), dtype=np.int8)
    phased = np.empty((r1 - r0, n), dtype=bool)
    given = np.empty((r1 - r0, n))
    rows = []
    r = r0
    while r < r1:  # one run of records per input file
        fi = int(plan.rec_file[r])
        end = min(r1, int(np.searchsorted(plan.rec_file, fi, side="right")))
        l0, l1 = int(plan.rec_locator[r]), int(plan.rec_locator[end - 1]) + 1
        codes[r - r0:end - r0], phased[r - r0:end - r0], given[r - r0:end - r0] = _read_calls(plan, fi, l0, l1)
        rows += read_variant_rows(plan.plink.variant_paths[fi], plan.plink.columns[fi], int(plan.plink.rec_offset[r]),
                                  end - r, int(plan.plink.rec_line[r]))
        r = end
    if plan.kind == "bed" and plan.allele_order == REF_FIRST:  # A1 (column 5) is REF, A2 ALT
        rows = [(c, pos, vid, alts[0], [ref]) for c, pos, vid, ref, alts in rows]
    # haploid calls where plink2 reads them so: homozygous or missing, in a haploid context
    for r in range(r0, r1):
        hap = haploid_samples(plan.contig_ids[plan.rec_contig[r]], plan.plink.sex)
        if hap.any():
            c = codes[r - r0]
            make = hap & (c[:, 0] == c[:, 1])
            c[make, 1] = -2
            given[r - r0, make] /= 2
            phased[r - r0, make] = False  # a haploid call has no phase (as VCF input)
    g = codes[v_rec - r0]
    alt = v_alt[:, None, None]
    gt = np.where(g == alt, 1, np.where(g < 0, g, 0)).astype(np.int8)
    missing = (gt[:, :, 0] == -1) | (gt[:, :, 1] == -1)
    hard = np.where(missing, np.nan, (gt == 1).sum(2).astype(np.float64))
    ploidy = np.where(gt[:, :, 1] == -2, 1, 2).astype(np.int8)
    dosage = given[v_rec - r0]
    dosage = np.where(np.isnan(dosage) & (plan.rec_nsplit[v_rec] > 1)[:, None], hard, dosage)
    dosage = np.where(np.isnan(dosage) & ~missing, hard, dosage)  # .bed rows: hard calls
    soft = ~(np.isnan(dosage) & np.isnan(hard) | (dosage == hard)).all(1)  # some dosage is not a hard call
    summary = summarise(dosage, ploidy, np.where(soft, stats.INFO_MACH, stats.INFO_HARD))
    recs = [rows[i] for i in v_rec - r0]
    ids = np.array([x[2] for x in recs], dtype=object)
    absent = np.isin(ids, ["", "."])
    return {
        "variant_contig": plan.rec_contig[v_rec].astype(np.int16),
        "variant_position": np.array([x[1] for x in recs], dtype=np.int32),
        "variant_allele": np.array([(x[3], x[4][j - 1]) for x, j in zip(recs, v_alt)], dtype=object).reshape(m, 2),
        "variant_id": np.where(absent, ".", ids).astype(object), "variant_id_mask": absent,
        "variant_source": plan.rec_file[v_rec].astype(np.int32), "variant_split": v_alt.astype(np.int16),
        **summary, "call_genotype": gt,
        "call_genotype_mask": gt < 0, "call_genotype_phased": phased[v_rec - r0] & ~missing,
    }
