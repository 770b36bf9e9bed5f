"""Hail MatrixTable input: Hail exports the calls as bgzipped, tabix-indexed VCF shards in parallel,
which then go through the VCF path (:mod:`gwas.ingest.sources`) as resumable store parts.

Requirements on the MatrixTable (what ``hl.import_vcf``/``import_bgen``/``import_plink`` give):
row key ``locus`` (``tlocus``) and ``alleles`` (``array<str>``, REF first), column key one string
field (the sample id), and at least one of the entry fields

* ``GT`` (``tcall``): stored in ``call_genotype`` (haploid and phased calls kept); dosage = ALT count;
* ``DS`` (``float64`` for biallelic rows, or ``array<float64>`` with one value per ALT): the dosage;
* ``GP`` (``array<float64>``, unphased genotype probabilities in VCF order, diploid or haploid),
  used only when there is no ``DS``: dosage of ALT j = sum over genotypes of GP x copies of j.
  (INFO is then the MaCH r^2 of those dosages, not the IMPUTE info a BGEN would give.)

Other entry fields are dropped. Rows come out in the MatrixTable's locus order; multi-allelic rows
are split like VCF records. The export lives in ``<store>/_mt_source/`` (written atomically, reused
by a resumed run, removed once the store is complete) and holds every genotype as VCF text, so
budget that space (about a third of a bgzipped VCF's size per 10^9 calls).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from hubscan.errors import InputError
from hubscan.files import atomic_dir

log = logging.getLogger(__name__)
EXPORT_DIR = "_mt_source"


def is_matrix_table(path) -> bool:
    p = Path(path)
    return str(p).rstrip("/").endswith(".mt") and (p / "metadata.json.gz").is_file()


def _dosage_from_gp(hl, gp, n_alleles):
    """array<float64> per ALT allele from unphased GP (diploid: VCF genotype order; haploid: one per allele)."""
    def diploid(j):
        return hl.sum(hl.range(hl.len(gp)).map(
            lambda i: gp[i] * hl.unphased_diploid_gt_index_call(i).one_hot_alleles(n_alleles)[j]))

    return hl.if_else(hl.len(gp) == n_alleles, gp[1:],
                      hl.range(1, n_alleles).map(diploid))


def export_shards(path, out: Path) -> list[str]:
    """Export the MatrixTable at ``path`` under ``out/_mt_source`` (or reuse a finished export); VCF shard paths."""
    dest = Path(out) / EXPORT_DIR
    if not (dest / "_DONE").is_file():
        from hubscan.runtime.hail import init_hail

        hl = init_hail(out)
        try:
            mt = hl.read_matrix_table(str(path))
        except Exception as exc:  # Hail raises its own FatalError / Java errors
            raise InputError(f"{path}: cannot read the Hail MatrixTable: {str(exc).splitlines()[0]}") from None
        keys = dict(mt.row_key.dtype.items())
        if list(keys) != ["locus", "alleles"] or not isinstance(keys["locus"], hl.tlocus) \
                or keys["alleles"] != hl.tarray(hl.tstr):
            raise InputError(f"{path}: row key is {dict(keys)}, expected locus (locus) and alleles (array<str>)")
        cols = dict(mt.col_key.dtype.items())
        if len(cols) != 1 or list(cols.values())[0] != hl.tstr:
            raise InputError(f"{path}: column key is {cols}, expected one string field (the sample id)")
        entry = dict(mt.entry.dtype.items())
        fields = {}
        if entry.get("GT") == hl.tcall:
            fields["GT"] = mt.GT
        if entry.get("DS") == hl.tfloat64:
            fields["DS"] = hl.or_missing(hl.is_defined(mt.DS), [mt.DS])
        elif entry.get("DS") == hl.tarray(hl.tfloat64):
            fields["DS"] = mt.DS
        elif entry.get("GP") == hl.tarray(hl.tfloat64):
            fields["DS"] = _dosage_from_gp(hl, mt.GP, hl.len(mt.alleles))
        if not fields:
            raise InputError(f"{path}: no GT (call), DS (float64) or GP (array<float64>) entry field; "
                             f"entry fields are {entry}")
        mt = mt.select_entries(**fields).select_rows().select_globals()
        mt = mt.key_cols_by(s=mt[list(cols)[0]]).select_cols()
        if "DS" in fields:  # Hail writes DS as Number=. ; the VCF path reads one value per ALT
            meta = {"format": {"DS": {"Number": "A", "Type": "Float", "Description": "ALT dosage"}}}
        else:
            meta = None
        log.info("exporting the MatrixTable %s as VCF shards", path)
        with atomic_dir(dest) as tmp:
            hl.export_vcf(mt, str(Path(tmp) / "shards.vcf.bgz"), parallel="header_per_shard", metadata=meta,
                          tabix=True)
            shard_dir = Path(tmp) / "shards.vcf.bgz"
            for f in sorted(shard_dir.glob("part-*.bgz")):
                f.rename(f.with_name(f.name[:-4] + ".vcf.bgz"))
                tbi = shard_dir / (f.name + ".tbi")
                if tbi.exists():
                    tbi.rename(shard_dir / (f.name[:-4] + ".vcf.bgz.tbi"))
            (Path(tmp) / "_DONE").write_text("ok\n")
    shards = sorted(str(p) for p in (dest / "shards.vcf.bgz").glob("part-*.vcf.bgz"))
    if not shards:
        raise InputError(f"{path}: the MatrixTable export produced no VCF shards")
    return shards


def remove_export(out: Path) -> None:
    shutil.rmtree(Path(out) / EXPORT_DIR, ignore_errors=True)
