"""The bad-input corpus: one row per broken input, each built in a fresh folder from the shared valid
cohort (``conftest.valid``). A case gives the ``hubscan`` arguments, the exit code, and a pattern the
single error line must match (``{tmp}`` stands for the case's folder, so the pattern names the file).

Exit codes as the README: 1 bad input or output, 2 usage or configuration.
"""

from __future__ import annotations

import gzip
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: a folder no process may create (read-only sysfs, even for root)
UNWRITABLE = "/sys/hubscan-bad-input-out"


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path, dict], list[str]]   # (case folder, valid cohort) -> hubscan arguments
    exit: int
    message: str                               # regex; {tmp} = re.escape(case folder)


# -- helpers -------------------------------------------------------------------------------------

def _text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _bgzip(path: Path, text: str) -> Path:
    import pysam

    plain = path.with_suffix("")
    plain.write_text(text)
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()
    return path


VCF_HEAD = ("##fileformat=VCFv4.2\n##contig=<ID=21,length=48129895>\n"
            '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\tS3\n")
VCF_ROWS = ["21\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t1/1\t0/0\n",
            "21\t200\t.\tC\tT\t.\tPASS\t.\tGT\t0/0\t0/1\t0/1\n",
            "21\t300\t.\tG\tA\t.\tPASS\t.\tGT\t1/1\t0/0\t0/1\n"]


def _vcf(tmp, rows=None, head=VCF_HEAD):
    return _bgzip(tmp / "in.vcf.gz", head + "".join(VCF_ROWS if rows is None else rows))


def _ingest_vcf(rows=None, head=VCF_HEAD):
    return lambda tmp, v: ["ingest", str(_vcf(tmp, rows, head)), "--out", str(tmp / "store")]


def _plink(tmp: Path, fam=None, bim=None, bed=None) -> Path:
    """A valid 4-sample x 3-variant PLINK 1 file set, with any part replaced."""
    fam = fam if fam is not None else "".join(f"F{i} S{i} 0 0 {1 + i % 2} -9\n" for i in range(4))
    bim = bim if bim is not None else "".join(f"21\trs{i}\t0\t{100 * (i + 1)}\tA\tG\n" for i in range(3))
    if bed is None:
        bed = bytes([0x6C, 0x1B, 0x01]) + bytes([0b11011000, 0b00100111, 0b11111111])
    _text(tmp / "g.fam", fam)
    _text(tmp / "g.bim", bim)
    (tmp / "g.bed").write_bytes(bed)
    return tmp / "g.bed"


def _ingest_plink(**parts):
    return lambda tmp, v: ["ingest", str(_plink(tmp, **parts)), "--out", str(tmp / "store")]


def _copy(src: Path, dst: Path) -> Path:
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        shutil.copy(src, dst)
    return dst


def _truncated_bgen(tmp, v):
    data = Path(v["bgen"]).read_bytes()
    (tmp / "g.bgen").write_bytes(data[: len(data) * 2 // 3])
    return ["ingest", str(tmp / "g.bgen"), "--sample-file", str(v["sample"]), "--out", str(tmp / "store")]


def _bad_magic_bgen(tmp, v):
    data = bytearray(Path(v["bgen"]).read_bytes())
    offset = struct.unpack_from("<I", data, 0)[0]
    data[16:20] = b"XXXX"  # magic number "bgen" at bytes 16-19 of the header block
    assert offset >= 20
    (tmp / "g.bgen").write_bytes(bytes(data))
    return ["ingest", str(tmp / "g.bgen"), "--sample-file", str(v["sample"]), "--out", str(tmp / "store")]


def _bgen_sample_count(tmp, v):
    lines = Path(v["sample"]).read_text().splitlines(keepends=True)
    _text(tmp / "g.sample", "".join(lines[:-5]))
    return ["ingest", str(v["bgen"]), "--sample-file", str(tmp / "g.sample"), "--out", str(tmp / "store")]


def _gwas(v, tmp, *extra, pheno=None, cov=None, out=None):
    args = ["gwas", "--genotype-store", str(v["store"]), "--phenotypes", str(pheno or v["pheno"]),
            "--covariate", str(cov or v["cov"]), "--out", str(out or tmp / "gwas")]
    return args + list(extra)


def _yaml_gwas(text):
    def build(tmp, v):
        cfg = _text(tmp / "run.yaml", text.format(store=v["store"], pheno=v["pheno"], out=tmp / "gwas"))
        return ["gwas", "--config", str(cfg)]
    return build


def _edited_pheno(edit):
    def build(tmp, v):
        lines = Path(v["pheno"]).read_text().splitlines(keepends=True)
        return _gwas(v, tmp, pheno=_text(tmp / "pheno.tsv", "".join(edit(lines))))
    return build


def _edited_cov(edit):
    def build(tmp, v):
        lines = Path(v["cov"]).read_text().splitlines(keepends=True)
        return _gwas(v, tmp, cov=_text(tmp / "cov.tsv", "".join(edit(lines))))
    return build


def _set_cell(lines, row, col, value):
    cells = lines[row].rstrip("\n").split("\t")
    cells[col] = value
    return lines[:row] + ["\t".join(cells) + "\n"] + lines[row + 1:]


def _store_without_success(tmp, v):
    store = _copy(v["store"], tmp / "store")
    (store / "_SUCCESS").unlink()
    return _gwas({**v, "store": store}, tmp)


def _file_as_out(tmp, v):
    _text(tmp / "gwas", "not a folder\n")
    return _gwas(v, tmp)


def _out_under_file(command):
    def build(tmp, v):
        _text(tmp / "afile", "x\n")
        return command(tmp, v, tmp / "afile" / "out")
    return build


def _out_unwritable(command):
    return lambda tmp, v: command(tmp, v, Path(UNWRITABLE))


def _wgr(v, tmp, *extra, pheno=None):
    return ["wgr", "--genotype-store", str(v["store"]), "--phenotypes", str(pheno or v["pheno"]),
            "--covariate", str(v["cov"]), "--out", str(tmp / "step1"), *extra]


def _wgr_flat_trait(tmp, v):
    """A trait determined by the covariate (2 x age + 1: no variance after it) beside a valid one."""
    age = {ln.split("\t")[1]: ln.rstrip("\n").split("\t")[2] for ln in Path(v["cov"]).read_text().splitlines()[1:]}
    lines = Path(v["pheno"]).read_text().splitlines(keepends=True)
    edited = [lines[0].rstrip("\n") + "\tage_score\n"]
    for ln in lines[1:]:
        a = age[ln.split("\t")[1]]
        edited.append(ln.rstrip("\n") + ("\tNA\n" if a == "NA" else f"\t{2 * float(a) + 1}\n"))
    return _wgr(v, tmp, "--bsize", "50", "--min-maf", "0.05", "--trait", "ldl", "--trait", "age_score",
                pheno=_text(tmp / "pheno.tsv", "".join(edited)))


def _loco(tmp, v, ids, name="p_1.loco") -> Path:
    """A REGENIE .loco of trait ldl for ``ids`` (FID_IID header, chromosomes 1-23, value 0.1)."""
    rows = [f"{c} " + " ".join("0.1" for _ in ids) for c in range(1, 24)]
    return _text(tmp / name, "FID_IID " + " ".join(f"{i}_{i}" for i in ids) + "\n" + "\n".join(rows) + "\n")


def _pheno_ids(v) -> list[str]:
    return [ln.split("\t")[1] for ln in Path(v["pheno"]).read_text().splitlines()[1:]]


def _pred_unknown_trait(tmp, v):
    """A prediction list naming a trait (height) that is not in the run."""
    loco = _loco(tmp, v, _pheno_ids(v))
    pred = _text(tmp / "p_pred.list", f"ldl {loco}\nheight {loco}\n")
    return _gwas(v, tmp, "--trait", "ldl", "--pred", str(pred))


def _pred_loco_samples(tmp, v):
    """A .loco whose samples do not cover the run's (the last sample missing)."""
    loco = _loco(tmp, v, _pheno_ids(v)[:-1])
    pred = _text(tmp / "p_pred.list", f"ldl {loco}\n")
    return _gwas(v, tmp, "--trait", "ldl", "--pred", str(pred))


def _gwas_to(tmp, v, out):
    return _gwas(v, tmp, out=out)


def _publish_to(tmp, v, out):
    return ["publish", str(v["results"]), "--out", str(out), "--no-plots"]


def _phenotypes(v, tmp, *extra, linkage=None, omop=None, out=None):
    return ["phenotypes", "--omop", str(omop or v["omop"]), "--linkage", str(linkage or v["linkage"]),
            "--genotype-store", str(v["store"]), "--out", str(out or tmp / "phen"), *extra]


def _phenotypes_to(tmp, v, out):
    return _phenotypes(v, tmp, out=out)


def _ingest_to(tmp, v, out):
    return ["ingest", str(v["vcf"]), "--out", str(out)]


def _qc_to(tmp, v, out):
    return ["qc", str(v["store"]), "--out", str(out)]


def _simulate_to(tmp, v, out):
    return ["simulate", "--samples", "50", "--variants", "50", "--out", str(out)]


def _edited_linkage(edit):
    def build(tmp, v):
        lines = Path(v["linkage"]).read_text().splitlines(keepends=True)
        return _phenotypes(v, tmp, "--linkage-duplicates", "error",
                           linkage=_text(tmp / "linkage.csv", "".join(edit(lines))))
    return build


def _definitions(text):
    def build(tmp, v):
        return _phenotypes(v, tmp, "--definitions", str(_text(tmp / "traits.yaml", text)))
    return build


def _edited_omop(table, edit):
    def build(tmp, v):
        omop = _copy(v["omop"], tmp / "omop")
        path = omop / f"{table}.csv"
        edit(path)
        return _phenotypes(v, tmp, omop=omop)
    return build


def _drop_table(path: Path):
    path.unlink()


def _cut_column(name):
    def edit(path: Path):
        import pandas as pd

        t = pd.read_csv(path, dtype=str, keep_default_na=False)
        t.drop(columns=[name]).to_csv(path, index=False)
    return edit


def _publish_store(edit):
    def build(tmp, v):
        store = _copy(v["results"], tmp / "results")
        edit(store)
        return ["publish", str(store), "--out", str(tmp / "release"), "--no-plots"]
    return build


def _gz_truncate(tmp, v):
    data = Path(v["vcf"]).read_bytes()
    (tmp / "cut.vcf.gz").write_bytes(data[: len(data) // 2])
    return ["ingest", str(tmp / "cut.vcf.gz"), "--out", str(tmp / "store")]


def _garbage_vcf_gz(tmp, v):
    (tmp / "garbage.vcf.gz").write_bytes(bytes(range(256)) * 8)
    return ["ingest", str(tmp / "garbage.vcf.gz"), "--out", str(tmp / "store")]


def _gzip_not_bgzf_truncated(tmp, v):
    data = gzip.compress((VCF_HEAD + "".join(VCF_ROWS)).encode(), mtime=0)
    (tmp / "cut.vcf.gz").write_bytes(data[:-12])
    return ["ingest", str(tmp / "cut.vcf.gz"), "--out", str(tmp / "store")]


def _head(n):
    return lambda lines: lines[:n]


CASES: list[Case] = [
    # ---- VCF --------------------------------------------------------------------------------
    Case("vcf-truncated", _gz_truncate, 1, r"{tmp}/cut\.vcf\.gz"),
    Case("vcf-garbage-bytes", _garbage_vcf_gz, 1, r"{tmp}/garbage\.vcf\.gz"),
    Case("vcf-plain-gzip-truncated", _gzip_not_bgzf_truncated, 1, r"{tmp}/cut\.vcf\.gz"),
    Case("vcf-no-chrom-header", _ingest_vcf(head=VCF_HEAD.split("#CHROM")[0]), 1, r"{tmp}/in\.vcf\.gz"),
    Case("vcf-too-few-samples-in-record", _ingest_vcf(rows=[VCF_ROWS[0], "21\t200\t.\tC\tT\t.\tPASS\t.\tGT\t0/0\t0/1\n"]),
         1, r"{tmp}/in\.vcf\.gz.*(line|record|variant)"),
    Case("vcf-non-numeric-pos", _ingest_vcf(rows=[VCF_ROWS[0], VCF_ROWS[1].replace("\t200\t", "\tx200\t")]),
         1, r"{tmp}/in\.vcf\.gz.*(line|record|variant|POS)"),
    Case("vcf-bad-genotype", _ingest_vcf(rows=[VCF_ROWS[0], VCF_ROWS[1].replace("0/0", "0/Q")]),
         1, r"{tmp}/in\.vcf\.gz"),
    Case("vcf-unsorted", _ingest_vcf(rows=[VCF_ROWS[1], VCF_ROWS[0]]), 1, r"{tmp}/in\.vcf\.gz"),
    Case("vcf-missing-file", lambda tmp, v: ["ingest", str(tmp / "none.vcf.gz"), "--out", str(tmp / "store")],
         1, r"{tmp}/none\.vcf\.gz"),
    # ---- BGEN -------------------------------------------------------------------------------
    Case("bgen-truncated", _truncated_bgen, 1, r"{tmp}/g\.bgen"),
    Case("bgen-bad-magic", _bad_magic_bgen, 1, r"{tmp}/g\.bgen"),
    Case("bgen-sample-file-count", _bgen_sample_count, 1, r"{tmp}/g\.sample"),
    # ---- PLINK ------------------------------------------------------------------------------
    Case("bed-truncated", _ingest_plink(bed=bytes([0x6C, 0x1B, 0x01, 0xFF])), 1, r"{tmp}/g\.bed"),
    Case("bed-bad-magic", _ingest_plink(bed=bytes([0x00, 0x00, 0x01, 1, 2, 3])), 1, r"{tmp}/g\.bed"),
    Case("bim-non-numeric-position", _ingest_plink(bim="21\trs0\t0\t100\tA\tG\n21\trs1\t0\tabc\tA\tG\n21\trs2\t0\t300\tA\tG\n"),
         1, r"{tmp}/g\.bim.*(line )?2"),
    Case("bim-too-few-columns", _ingest_plink(bim="21\trs0\t0\t100\tA\tG\n21\trs1\t100\tA\n21\trs2\t0\t300\tA\tG\n"),
         1, r"{tmp}/g\.bim.*(line )?2"),
    Case("fam-wrong-columns", _ingest_plink(fam="F0 S0 0 0 1 -9\nF1 S1\nF2 S2 0 0 1 -9\nF3 S3 0 0 2 -9\n"),
         1, r"{tmp}/g\.fam.*(line )?2"),
    Case("fam-duplicate-iid", _ingest_plink(fam="F0 S0 0 0 1 -9\nF1 S0 0 0 1 -9\nF2 S2 0 0 1 -9\nF3 S3 0 0 2 -9\n"),
         1, r"{tmp}/g\.fam:2: .*unique"),
    Case("fam-missing", lambda tmp, v: (_plink(tmp), (tmp / "g.fam").unlink(),
                                        ["ingest", str(tmp / "g.bed"), "--out", str(tmp / "store")])[-1],
         1, r"{tmp}/g\.fam"),
    # ---- run configuration (YAML) -----------------------------------------------------------
    Case("yaml-syntax", _yaml_gwas("genotypes: {store}\nphenotypes: {pheno}\nmin_maf: [0.01\nout: {out}\n"),
         2, r"{tmp}/run\.yaml:\d+: "),
    Case("yaml-tab-indent", _yaml_gwas("genotypes: {store}\n\tphenotypes: {pheno}\nout: {out}\n"),
         2, r"{tmp}/run\.yaml:2: "),
    Case("yaml-not-mapping", _yaml_gwas("- genotypes\n- {store}\n"), 2, r"{tmp}/run\.yaml: .*mapping"),
    Case("yaml-unknown-key", _yaml_gwas("genotypes: {store}\nphenotypes: {pheno}\nout: {out}\nminimum_maf: 0.1\n"),
         2, r"{tmp}/run\.yaml: unknown key.*minimum_maf"),
    Case("yaml-wrong-type", _yaml_gwas("genotypes: {store}\nphenotypes: {pheno}\nout: {out}\nmin_maf: low\n"),
         2, r"{tmp}/run\.yaml: min_maf must be"),
    Case("yaml-missing-file", lambda tmp, v: ["gwas", "--config", str(tmp / "none.yaml")], 2, r"{tmp}/none\.yaml"),
    Case("gwas-min-maf-out-of-range", lambda tmp, v: _gwas(v, tmp, "--min-maf", "2"), 2, r"min_maf must be in \[0, 1\]"),
    # ---- outputs ----------------------------------------------------------------------------
    Case("gwas-out-is-a-file", _file_as_out, 1, r"{tmp}/gwas .*not a folder"),
    Case("gwas-out-under-a-file", _out_under_file(_gwas_to), 1, r"{tmp}/afile/out"),
    Case("gwas-out-unwritable", _out_unwritable(_gwas_to), 1, UNWRITABLE),
    Case("publish-out-under-a-file", _out_under_file(_publish_to), 1, r"{tmp}/afile/out"),
    Case("publish-out-unwritable", _out_unwritable(_publish_to), 1, UNWRITABLE),
    Case("phenotypes-out-under-a-file", _out_under_file(_phenotypes_to), 1, r"{tmp}/afile/out"),
    Case("phenotypes-out-unwritable", _out_unwritable(_phenotypes_to), 1, UNWRITABLE),
    Case("ingest-out-unwritable", _out_unwritable(_ingest_to), 1, UNWRITABLE),
    Case("qc-out-unwritable", _out_unwritable(_qc_to), 1, UNWRITABLE),
    Case("simulate-out-unwritable", _out_unwritable(_simulate_to), 1, UNWRITABLE),
    # ---- scan inputs ------------------------------------------------------------------------
    Case("covariate-no-shared-sample", _edited_cov(lambda ls: [ls[0]] + [ln.replace("S0", "X9") for ln in ls[1:]]),
         1, r"{tmp}/cov\.tsv"),
    Case("covariate-non-numeric", _edited_cov(lambda ls: _set_cell(ls, 4, 2, "old")), 1, r"{tmp}/cov\.tsv: line 5"),
    Case("covariate-missing-file", lambda tmp, v: _gwas(v, tmp, cov=tmp / "none.tsv"), 1, r"{tmp}/none\.tsv"),
    Case("phenotype-non-numeric", _edited_pheno(lambda ls: _set_cell(ls, 3, 2, "high")), 1, r"{tmp}/pheno\.tsv: line 4"),
    Case("phenotype-short-row", _edited_pheno(lambda ls: ls[:5] + ["S1\tS1\t3.1\n"] + ls[6:]), 1,
         r"{tmp}/pheno\.tsv: line 6"),
    Case("phenotype-bad-header", _edited_pheno(lambda ls: ["sample\tldl\tbmi\n"] + ls[1:]), 1, r"{tmp}/pheno\.tsv: line 1"),
    Case("phenotype-duplicate-iid", _edited_pheno(lambda ls: ls + [ls[1]]), 1, r"{tmp}/pheno\.tsv"),
    Case("phenotype-empty", _edited_pheno(lambda ls: []), 1, r"{tmp}/pheno\.tsv"),
    Case("phenotype-missing-file", lambda tmp, v: _gwas(v, tmp, pheno=tmp / "none.tsv"), 1, r"{tmp}/none\.tsv"),
    Case("phenotype-no-shared-sample", _edited_pheno(lambda ls: [ls[0]] + [ln.replace("S0", "X9") for ln in ls[1:]]),
         1, r"{tmp}/pheno\.tsv"),
    Case("gwas-unknown-trait", lambda tmp, v: _gwas(v, tmp, "--trait", "height"), 2, r"height"),
    Case("gwas-unknown-variant", lambda tmp, v: _gwas(v, tmp, "--variant-id", "21:1:A:C"), 1, r"21:1:A:C"),
    Case("gwas-variant-list-missing", lambda tmp, v: _gwas(v, tmp, "--variant-ids-file", str(tmp / "none.txt")),
         1, r"{tmp}/none\.txt"),
    Case("gwas-store-missing", lambda tmp, v: _gwas({**v, "store": tmp / "nostore"}, tmp), 1, r"{tmp}/nostore"),
    Case("gwas-store-incomplete", _store_without_success, 1, r"{tmp}/store"),
    # ---- whole-genome regression: step 1 and prediction files in step 2 ----------------------
    Case("wgr-too-few-variants", lambda tmp, v: _wgr(v, tmp, "--trait", "ldl", "--bsize", "1000"), 1,
         r"only \d+ variants pass the variant filters, fewer than one block of 1000 \(--bsize\)"),
    Case("wgr-trait-without-variance", _wgr_flat_trait, 1, r"trait\(s\) age_score have no variance after the covariates"),
    Case("gwas-pred-unknown-trait", _pred_unknown_trait, 1, r"{tmp}/p_pred\.list: trait\(s\) height not in this run"),
    Case("gwas-pred-loco-samples", _pred_loco_samples, 1, r"{tmp}/p_1\.loco: samples do not match the run \(trait ldl\)"),
    # ---- phenotypes: linkage, OMOP, definitions ---------------------------------------------
    Case("linkage-missing-column", _edited_linkage(lambda ls: ["patient,sample_id\n"] + ls[1:]), 1,
         r"{tmp}/linkage\.csv: .*patient_id"),
    Case("linkage-blank-id", _edited_linkage(lambda ls: ls[:3] + [",S000003\n"] + ls[4:]), 1,
         r"{tmp}/linkage\.csv: line 4"),
    Case("linkage-duplicate-sample", _edited_linkage(lambda ls: ls[:3] + ["Pdup," + ls[2].split(",")[1]] + ls[3:]),
         1, r"{tmp}/linkage\.csv: line \d+: sample linked to several patients"),
    Case("linkage-missing-file", lambda tmp, v: _phenotypes(v, tmp, linkage=tmp / "none.csv"), 1, r"{tmp}/none\.csv"),
    Case("linkage-links-no-sample", _edited_linkage(lambda ls: [ls[0]] + [ln.replace(",S", ",X") for ln in ls[1:]]),
         1, r"{tmp}/linkage\.csv.*no .*sample"),
    Case("omop-no-person-table", _edited_omop("person", _drop_table), 1, r"{tmp}/omop.*person"),
    Case("omop-person-without-person-id", _edited_omop("person", _cut_column("person_id")), 1,
         r"{tmp}/omop/person\.csv.*person_id"),
    Case("omop-missing-folder", lambda tmp, v: _phenotypes(v, tmp, omop=tmp / "noomop"), 1, r"{tmp}/noomop"),
    Case("definitions-yaml-syntax", _definitions("traits:\n  - name: t2d\n    include: [{vocabulary: ICD10, codes: [E11]\n"),
         2, r"{tmp}/traits\.yaml:\d+: "),
    Case("definitions-missing-file", lambda tmp, v: _phenotypes(v, tmp, "--definitions", str(tmp / "none.yaml")),
         1, r"{tmp}/none\.yaml"),
    Case("phenotypes-store-and-samples", lambda tmp, v: _phenotypes(v, tmp, "--samples", str(v["sample"])), 2,
         r"exactly one of --samples FILE or --genotype-store DIR"),
    # ---- publish ----------------------------------------------------------------------------
    Case("publish-not-a-results-store", lambda tmp, v: ["publish", str(v["store"]), "--out", str(tmp / "release")], 1,
         r"results"),
    Case("publish-incomplete-store", _publish_store(lambda s: (s / "_SUCCESS").unlink()), 1,
         r"{tmp}/results.*incomplete"),
    Case("publish-bad-results-json", _publish_store(lambda s: (s / "_results.json").write_text("{not json")), 1,
         r"{tmp}/results/_results\.json"),
    Case("publish-bad-date", lambda tmp, v: ["publish", str(v["results"]), "--out", str(tmp / "release"),
                                            "--date", "2026-13-40"], 2, r"date"),
]
