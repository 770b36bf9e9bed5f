"""Input plans and block conversion: VCF/BCF, BGEN and PLINK 1/2 records -> store blocks.

:func:`plan_inputs` reads headers and one cheap pass over record positions (VCF text columns 1-5,
BGEN block headers or its ``.bgi``) and returns a :class:`SourcePlan`: sample ids, contigs and per
source record its file, locator (BGEN byte offset; VCF line number, position and rank among
records at that position) and how many biallelic variants it splits into. :func:`convert_range`
turns any range of split variants into a block of store arrays, so parallel tasks can own
chunk-aligned ranges. Conventions (splitting, dosage, INFO): :mod:`gwas.store.variables`; PLINK
inputs (.bed/.bim/.fam, .pgen/.pvar/.psam: allele order, IID, ploidy from sex): :mod:`gwas.ingest.plink`.
"""

from __future__ import annotations

import gzip
import itertools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gwas.io.bgen import decode as bgen_decode
from gwas.io.bgen.reader import BgenFile, alt_dosages, count_tables
from gwas.io.vcf.parse import parse_samples
from gwas.store import stats
from gwas.store.dosage_kernel import encode_dosage_fast
from hubscan.errors import InputError
from hubscan.files import require_file

#: contigs on which haploid calls are expected (males on X/Y, mitochondria)
HAPLOID_CONTIGS = re.compile(r"^(chr)?(X|Y|MT|M|23|24|26)$", re.IGNORECASE)


@dataclass
class SourcePlan:
    kind: str  # "vcf" | "bcf" | "bgen" | "bed" | "pgen"
    paths: list[str]
    sample_path: str | None
    sample_ids: list[str]
    contig_ids: list[str]
    contig_lengths: list[int]
    rec_file: np.ndarray
    rec_contig: np.ndarray
    rec_locator: np.ndarray  # BGEN byte offset / VCF line number / PLINK row index in its file
    rec_pos: np.ndarray
    rec_rank: np.ndarray  # records before this one at the same contig and position (VCF)
    rec_nsplit: np.ndarray
    with_genotypes: bool
    plink: object = None  # gwas.ingest.plink.PlinkMeta for PLINK inputs
    split_start: np.ndarray = field(init=False)

    def __post_init__(self):
        self.split_start = np.concatenate([[0], np.cumsum(self.rec_nsplit)]).astype(np.int64)

    @property
    def n_variants(self) -> int:
        return int(self.split_start[-1])


def input_kind(path: str | os.PathLike) -> str:
    name = str(path).lower()
    if name.endswith(".bgen"):
        return "bgen"
    if name.endswith(".bcf"):
        return "bcf"
    if name.endswith((".vcf", ".vcf.gz", ".vcf.bgz")):
        return "vcf"
    if name.endswith(".bed"):
        return "bed"
    if name.endswith(".pgen"):
        return "pgen"
    raise InputError(f"{path}: unknown genotype file type (expected .vcf.gz, .vcf, .bcf, .bgen, PLINK .bed "
                     "or .pgen)")


def check_unique_samples(ids: list[str], where: str) -> None:
    seen = set()
    for i, s in enumerate(ids):
        if s in seen:
            raise InputError(f"{where}: duplicate sample id at sample column {i + 1}")
        seen.add(s)


def plan_inputs(paths, sample_path=None) -> SourcePlan:
    """Plan the ingestion of one or more files of one kind with the same samples (in order)."""
    paths = [str(require_file(p, "genotype file")) for p in paths]
    if not paths:
        raise InputError("no genotype files given")
    kinds = {input_kind(p) for p in paths}
    if len(kinds) != 1:
        raise InputError(f"mixing genotype file types is not supported: {sorted(kinds)}")
    kind = kinds.pop()
    if kind in ("bed", "pgen"):
        from gwas.ingest.plink import plan_plink

        return plan_plink(paths, kind)
    return _plan_bgen(paths, sample_path) if kind == "bgen" else _plan_vcf(paths, kind)


# -- BGEN ---------------------------------------------------------------------------------------
def _plan_bgen(paths, sample_path) -> SourcePlan:
    contigs: dict[str, int] = {}
    cols = {k: [] for k in ("file", "contig", "loc", "nsplit")}
    samples = None
    for fi, p in enumerate(paths):
        with BgenFile(p, sample_path) as b:
            if samples is None:
                samples = b.sample_ids
                check_unique_samples(samples, str(sample_path or p))
            elif b.sample_ids != samples:
                raise InputError(f"{p}: sample ids differ from those of {paths[0]}")
            offsets, n_alleles, chroms = b.scan()
        cols["file"].append(np.full(len(offsets), fi, dtype=np.int32))
        cols["contig"].append(np.array([contigs.setdefault(c, len(contigs)) for c in chroms], dtype=np.int16))
        cols["loc"].append(offsets)
        cols["nsplit"].append(np.maximum(n_alleles - 1, 1))
    cat = {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in cols.items()}
    zeros = np.zeros(len(cat["loc"]), dtype=np.int64)
    return SourcePlan("bgen", paths, str(sample_path) if sample_path else None, samples, list(contigs),
                      [-1] * len(contigs), cat["file"], cat["contig"], cat["loc"], zeros, zeros,
                      cat["nsplit"], with_genotypes=False)


def _bgen_records(plan: SourcePlan, r0: int, r1: int):
    open_files: dict[int, BgenFile] = {}
    try:
        for r in range(r0, r1):
            fi = int(plan.rec_file[r])
            if fi not in open_files:
                open_files[fi] = BgenFile(plan.paths[fi], plan.sample_path)
            b = open_files[fi]
            first = int(np.searchsorted(plan.rec_file, fi))
            yield b.read(r - first, int(plan.rec_locator[r]))
    finally:
        for b in open_files.values():
            b.close()


def _bgen_split(v):
    """Per ALT allele j: (dosage, E[g^2]) arrays of the split variant (NaN for missing calls)."""
    k = len(v.alleles)
    if k == 2:
        e, f = np.empty(len(v.ploidy)), np.empty(len(v.ploidy))
        bgen_decode.biallelic_moments(v.probs, v.ploidy.astype(np.int64), v.phased, e, f)
        return [(e, f)]
    if k < 2:
        e = np.where(v.missing, np.nan, 0.0)
        return [(e, e)]
    dos = alt_dosages(v)
    out = []
    for a in range(1, k):
        if v.phased:
            ph = np.nan_to_num(v.probs[:, [h * k + a for h in range(int(v.ploidy.max()))]])
            f = dos[:, a - 1] ** 2 + (ph * (1 - ph)).sum(1)
        else:
            counts, offsets, _ = count_tables(int(v.ploidy.max()), k)
            f = np.array([np.nansum(v.probs[s, :offsets[z + 1] - offsets[z]] * counts[offsets[z]:offsets[z + 1], a] ** 2)
                          for s, z in enumerate(v.ploidy)])
        out.append((dos[:, a - 1], np.where(v.missing, np.nan, f)))
    return out


# -- VCF / BCF ------------------------------------------------------------------------------------
def _open_text(path: str):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _vcf_header(path: str, kind: str):
    """(sample ids, [(contig, length)], header line count) of a VCF/BCF."""
    if kind == "bcf":
        import pysam

        try:
            with pysam.VariantFile(path) as vf:
                contigs = [(c, vf.header.contigs[c].length or -1) for c in vf.header.contigs]
                return list(vf.header.samples), contigs, 0
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: cannot read BCF header: {exc}") from None
    contigs, n = [], 0
    with _open_text(path) as fh:
        for raw in fh:
            n += 1
            line = raw.decode(errors="replace").rstrip("\r\n")
            if line.startswith("##contig=<"):
                m_id = re.search(r"[<,]ID=([^,>]+)", line)
                m_len = re.search(r"[<,]length=(\d+)", line)
                if m_id:
                    contigs.append((m_id.group(1), int(m_len.group(1)) if m_len else -1))
            elif line.startswith("#CHROM"):
                cols = line.split("\t")
                if len(cols) < 8:
                    raise InputError(f"{path}:{n}: #CHROM header has {len(cols)} columns, at least 8 expected")
                return cols[9:], contigs, n
            elif not line.startswith("##"):
                break
    if n == 0:
        raise InputError(f"{path}: empty file, not a VCF")
    raise InputError(f"{path}: no #CHROM header line before the records: not a VCF")


def _vcf_positions(path: str, kind: str, n_header: int):
    """Yield (line number, chrom, pos, n_alt) per record (BCF: record number as line)."""
    if kind == "bcf":
        import pysam

        with pysam.VariantFile(path) as vf:
            for i, rec in enumerate(vf, start=1):
                yield i, rec.chrom, rec.pos, max(len(rec.alts or ()), 1)
        return
    with _open_text(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            if lineno <= n_header:
                continue
            cols = raw.split(b"\t", 5)
            if len(cols) < 6:
                if not raw.strip():
                    continue
                raise InputError(f"{path}:{lineno}: record has {len(cols)} tab-separated columns, at least 8 expected")
            try:
                pos = int(cols[1])
            except ValueError:
                raise InputError(f"{path}:{lineno}: POS {cols[1][:20].decode(errors='replace')!r} is not an integer") from None
            alt = cols[4]
            yield lineno, cols[0].decode(), pos, (alt.count(b",") + 1) if alt != b"." else 1


def _plan_vcf(paths, kind) -> SourcePlan:
    samples, contig_len, contigs = None, {}, {}
    cols = {k: [] for k in ("file", "contig", "loc", "pos", "rank", "nsplit")}
    for fi, p in enumerate(paths):
        ids, header_contigs, n_header = _vcf_header(p, kind)
        if samples is None:
            samples = ids
            check_unique_samples(samples, p)
        elif ids != samples:
            raise InputError(f"{p}: sample ids differ from those of {paths[0]}")
        for c, ln in header_contigs:
            contig_len.setdefault(c, ln)
        prev_chrom, prev_pos, rank, seen_here = None, -1, 0, set()
        for lineno, chrom, pos, nalt in _vcf_positions(p, kind, n_header):
            if chrom != prev_chrom:
                if chrom in seen_here:
                    raise InputError(f"{p}:{lineno}: contig {chrom} appears again after other contigs: "
                                     "the file is not sorted (sort it with `bcftools sort`)")
                seen_here.add(chrom)
                prev_chrom, prev_pos, rank = chrom, -1, 0
            elif pos < prev_pos:
                raise InputError(f"{p}:{lineno}: position {pos} after {prev_pos} on {chrom}: the file is not "
                                 "sorted (sort it with `bcftools sort`)")
            rank = rank + 1 if pos == prev_pos else 0
            prev_pos = pos
            cols["file"].append(fi)
            cols["contig"].append(contigs.setdefault(chrom, len(contigs)))
            cols["loc"].append(lineno)
            cols["pos"].append(pos)
            cols["rank"].append(rank)
            cols["nsplit"].append(nalt)
    ids = list(contigs)
    arr = {k: np.asarray(v, dtype=np.int64) for k, v in cols.items()}
    return SourcePlan(kind, paths, None, samples, ids, [contig_len.get(c, -1) for c in ids],
                      arr["file"].astype(np.int32), arr["contig"].astype(np.int16), arr["loc"], arr["pos"],
                      arr["rank"], arr["nsplit"], with_genotypes=True)


def _vcf_lines(plan: SourcePlan, r0: int, r1: int):
    """Yield (record index, line bytes) for records r0..r1-1, via the tabix/CSI index when present."""
    import pysam

    r = r0
    while r < r1:
        fi, contig = int(plan.rec_file[r]), int(plan.rec_contig[r])
        seg_end = r
        while seg_end < r1 and plan.rec_file[seg_end] == fi and plan.rec_contig[seg_end] == contig:
            seg_end += 1
        path, chrom = plan.paths[fi], plan.contig_ids[contig]
        pos, rank = int(plan.rec_pos[r]), int(plan.rec_rank[r])
        if plan.kind == "bcf":
            vf = pysam.VariantFile(path)
            it = (str(rec).encode() for rec in vf.fetch(chrom, pos - 1) if rec.pos >= pos)
        elif Path(path + ".tbi").exists() or Path(path + ".csi").exists():
            tf = pysam.TabixFile(path)
            # sorted (checked when planning): skip the records before pos (e.g. deletions overlapping it)
            lines = itertools.dropwhile(lambda ln: int(ln.split("\t", 2)[1]) < pos, tf.fetch(chrom, pos - 1))
            it = (ln.encode() for ln in lines)
        else:  # no index: read sequentially to the first wanted line
            first = int(plan.rec_locator[r])
            fh = _open_text(path)
            it = (ln for i, ln in enumerate(fh, start=1) if i >= first)
            rank = 0
        for _ in range(rank):
            next(it)
        for rr in range(r, seg_end):
            line = next(it, None)
            if line is None:
                raise InputError(f"{path}:{int(plan.rec_locator[rr])}: record missing on re-reading "
                                 "(was the file changed after planning?)")
            yield rr, line
        r = seg_end


def _vcf_record(plan: SourcePlan, r: int, line: bytes):
    """Parse one VCF text record into (chrom, pos, id, alleles, gt int16 (n, 2), phased, ds or None)."""
    where = f"{plan.paths[int(plan.rec_file[r])]}:{int(plan.rec_locator[r])}"
    n = len(plan.sample_ids)
    cols = line.split(b"\t", 9)
    if len(cols) < (10 if n else 8):
        raise InputError(f"{where}: record has {len(cols)} columns, {9 + n} expected")
    ref, alt = cols[3].decode(), cols[4].decode()
    alts = alt.split(",") if alt != "." else []
    n_alt = max(len(alts), 1)
    fmt = cols[8].decode().rstrip("\r\n").split(":") if n else []
    gt_index = fmt.index("GT") if "GT" in fmt else -1
    ds_index = fmt.index("DS") if "DS" in fmt else -1
    gt = np.empty((n, 2), dtype=np.int16)
    phased = np.empty(n, dtype=np.bool_)
    ds = np.empty((n, n_alt), dtype=np.float64)
    bad_ploidy = np.zeros(1, dtype=np.int64)
    if n:
        if gt_index < 0 and ds_index < 0:
            raise InputError(f"{where}: FORMAT {cols[8].decode().strip()!r} has neither GT nor DS")
        data = np.frombuffer(line, dtype=np.uint8)
        start = len(line) - len(cols[9])
        code = parse_samples(data, start, n, gt_index, ds_index, n_alt, gt, phased, ds, bad_ploidy)
        if code == -(n + 1):
            raise InputError(f"{where}: record does not have {n} sample columns")
        if code < 0:
            raise InputError(f"{where}: cannot parse the call of sample column {-code} "
                             f"(FORMAT {cols[8].decode().strip()}): malformed record")
        if bad_ploidy[0]:
            raise InputError(f"{where}: sample column {bad_ploidy[0]} has more than two alleles; "
                             "ploidy above 2 is not supported in VCF input")
        if gt_index < 0:
            gt[:] = -1
            phased[:] = False
    chrom = cols[0].decode()
    if n and gt_index >= 0 and not HAPLOID_CONTIGS.match(chrom):
        hap = np.flatnonzero((gt[:, 1] == -2))
        if len(hap):
            raise InputError(f"{where}: haploid call in sample column {hap[0] + 1} on {chrom}: mixed ploidy is "
                             "only allowed on X, Y and MT")
    return chrom, int(cols[1]), cols[2].decode(), ref, alts or ["."], gt, phased, (ds if ds_index >= 0 else None)


# -- conversion ----------------------------------------------------------------------------------
#: genotypes converted at once inside a part: bounds the float64 working arrays (about 40 bytes per
#: genotype) to a few hundred MB whatever the part size; the outputs (7 bytes per genotype) stay whole.
SUB_BLOCK_GENOTYPES = 1 << 23


def convert_range(plan: SourcePlan, a: int, b: int) -> dict[str, np.ndarray]:
    """Store arrays (see :mod:`gwas.store.variables`) for split variants a..b-1 of ``plan``,
    converted ``SUB_BLOCK_GENOTYPES`` at a time (an unindexed VCF in one go: it is read from its start)."""
    step = max(1, SUB_BLOCK_GENOTYPES // max(len(plan.sample_ids), 1))
    unindexed = plan.kind == "vcf" and not all(Path(p + ".tbi").exists() or Path(p + ".csi").exists()
                                               for p in plan.paths)
    if b - a <= step or unindexed:
        return _convert_sub_range(plan, a, b)
    out = None
    for s in range(a, b, step):
        part = _convert_sub_range(plan, s, min(b, s + step))
        if out is None:
            out = {k: np.empty((b - a,) + v.shape[1:], dtype=v.dtype) for k, v in part.items()}
        for k, v in part.items():
            out[k][s - a:s - a + len(v)] = v
    return out


def summarise(dosage: np.ndarray, ploidy: np.ndarray, modes: np.ndarray, square: np.ndarray | None = None) -> dict:
    """Per-variant frequency, call rate and INFO (each variant with its own INFO mode, see
    :mod:`gwas.store.stats`) and the encoded dosages of a block."""
    m = dosage.shape[0]
    out = {"variant_allele_frequency": np.empty(m), "variant_call_rate": np.empty(m), "variant_info": np.empty(m)}
    for mode in np.unique(modes):
        sel = np.flatnonzero(modes == mode)
        whole = len(sel) == m
        st = stats.variant_stats(dosage if whole else dosage[sel], ploidy if whole else ploidy[sel],
                                 None if square is None else (square if whole else square[sel]), int(mode))
        out["variant_allele_frequency"][sel] = st.allele_frequency
        out["variant_call_rate"][sel] = st.call_rate
        out["variant_info"][sel] = st.info
    out["call_dosage_scaled"] = encode_dosage_fast(dosage)
    return out


def _convert_sub_range(plan: SourcePlan, a: int, b: int) -> dict[str, np.ndarray]:
    if plan.kind in ("bed", "pgen"):
        from gwas.ingest.plink import convert_plink_range

        return convert_plink_range(plan, a, b)
    n_s = len(plan.sample_ids)
    m = b - a
    r0 = int(np.searchsorted(plan.split_start, a, side="right") - 1)
    r1 = int(np.searchsorted(plan.split_start, b, side="left"))
    block = {
        "variant_contig": np.empty(m, np.int16), "variant_position": np.empty(m, np.int32),
        "variant_allele": np.empty((m, 2), dtype=object), "variant_id": np.empty(m, dtype=object),
        "variant_id_mask": np.empty(m, bool), "variant_source": np.empty(m, np.int32),
        "variant_split": np.empty(m, np.int16),
    }
    dosage = np.empty((m, n_s))
    square = np.empty((m, n_s)) if plan.kind == "bgen" else None  # E[g^2]: only the IMPUTE info needs it
    ploidy = np.empty((m, n_s), dtype=np.int8)
    modes = np.empty(m, dtype=np.int8)
    if plan.with_genotypes:
        gts = np.empty((m, n_s, 2), np.int8)
        phs = np.empty((m, n_s), bool)

    def put(r, j, chrom_idx, pos, vid, ref, alt, e, f, z, mode, g=None, ph=None):
        v = int(plan.split_start[r]) + j - a
        if not 0 <= v < m:
            return
        block["variant_contig"][v] = chrom_idx
        block["variant_position"][v] = pos
        block["variant_allele"][v] = (ref, alt)
        block["variant_id"][v] = vid if vid not in ("", ".") else "."
        block["variant_id_mask"][v] = vid in ("", ".")
        block["variant_source"][v] = plan.rec_file[r]
        block["variant_split"][v] = j + 1
        dosage[v], ploidy[v], modes[v] = e, z, mode
        if square is not None:
            square[v] = f
        if g is not None:
            gts[v], phs[v] = g, ph

    if plan.kind == "bgen":
        for r, var in zip(range(r0, r1), _bgen_records(plan, r0, r1)):
            vid = var.rsid if var.rsid not in ("", ".") else var.variant_id
            for j, (e, f) in enumerate(_bgen_split(var)):
                alt = var.alleles[j + 1] if len(var.alleles) > 1 else "."
                put(r, j, plan.rec_contig[r], var.position, vid, var.alleles[0], alt, e, f, var.ploidy,
                    stats.INFO_IMPUTE)
    else:
        for r, line in _vcf_lines(plan, r0, r1):
            chrom, pos, vid, ref, alts, gt, phased, ds = _vcf_record(plan, r, line)
            z = np.where(gt[:, 1] == -2, 1, 2)
            any_missing = (gt[:, 0] == -1) | (gt[:, 1] == -1)
            for j, alt in enumerate(alts):
                if len(alts) == 1:  # codes are already 0/1 (or -1 missing, -2 haploid fill)
                    g = gt.astype(np.int8)
                else:
                    g = np.where(gt == j + 1, 1, np.where(gt < 0, gt, 0)).astype(np.int8)
                hard = np.where(any_missing, np.nan, (g == 1).sum(1, dtype=np.int64).astype(np.float64))
                if ds is not None:  # DS where given; a sample with DS '.' but a GT call keeps its GT count
                    e, mode = np.where(np.isnan(ds[:, j]), hard, ds[:, j]), stats.INFO_MACH
                else:
                    e, mode = hard, stats.INFO_HARD
                put(r, j, plan.rec_contig[r], pos, vid, ref, alt, e, None, z, mode, g, phased)
    block.update(summarise(dosage, ploidy, modes, square))
    if plan.with_genotypes:
        block["call_genotype"] = gts
        block["call_genotype_mask"] = gts == -1
        block["call_genotype_phased"] = phs
    return block
