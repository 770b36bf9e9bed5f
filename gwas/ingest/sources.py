"""Input plans and block conversion: VCF/BCF, BGEN and PLINK 1/2 records -> store blocks.

:func:`plan_inputs` reads headers and one cheap pass over record positions (VCF text columns 1-5,
BGEN block headers or its ``.bgi``) and returns a :class:`SourcePlan`: sample ids, contigs and per
source record its file, locator (BGEN byte offset; VCF line number, position and rank among
records at that position; in a BGZF file also the line's offset in the uncompressed stream) and
how many biallelic variants it splits into. :func:`convert_range` turns any range of split variants
into a block of store arrays, so parallel tasks can own chunk-aligned ranges; inside a range,
sub-blocks run on threads (Numba kernels and the C decompressors release the GIL). Conventions (splitting, dosage,
INFO): :mod:`gwas.store.variables`; VCF/BCF reading: :mod:`gwas.ingest.vcf`; PLINK inputs
(.bed/.bim/.fam, .pgen/.pvar/.psam: allele order, IID, ploidy from sex): :mod:`gwas.ingest.plink`.
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gwas.io import inflate
from gwas.io.bgen import blocks as bgen_blocks
from gwas.io.bgen import decode as bgen_decode
from gwas.io.bgen.reader import BgenFile, alt_dosages, count_tables, ref_last
from gwas.ingest.scratch import drop as drop_scratch
from gwas.ingest.scratch import scratch
from gwas.store import stats
from gwas.store.dosage_kernel import encode_dosage_fast, encode_dosage_kernel, hard_call_kernel
from gwas.store.variables import DERIVED_FIELDS, FIELDS, GENOTYPE_FIELDS, set_variants
from hubscan.errors import ConfigError, InputError
from hubscan.files import require_file

#: ``allele_order`` values. BGEN lists a variant's alleles without saying which is REF; a ``.bim``
#: lists A1 (column 5) then A2 (column 6). ``ref-last`` (the default, as REGENIE's, and the order
#: plink2 ``--export bgen-1.2`` and ``--make-bed`` write): the last allele is REF, the first ALT -
#: the effect allele; ``ref-first``: the first is REF. VCF/BCF, .pgen and Hail name REF: ``named``.
REF_FIRST, REF_LAST, NAMED = "ref-first", "ref-last", "named"
ALLELE_ORDERS = (REF_FIRST, REF_LAST)
ORDERED_KINDS = ("bgen", "bed")


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
    rec_upos: np.ndarray | None = None  # VCF in BGZF: offset of the record's line in the uncompressed stream
    bgzf_blocks: list | None = None  # VCF: per file (block offsets, block starts, length) or None if not BGZF
    text: np.ndarray | None = None  # VCF records' text held in memory (uint8; rec_upos index it), single pass
    allele_order: str = NAMED  # BGEN and .bed: which listed allele is REF (see ALLELE_ORDERS)
    filters: list | None = None  # [(id, description)], PASS first (None: PASS alone)
    with_dosages: bool = False  # the input can carry dosages: the store gets call_DS
    split_start: np.ndarray = field(init=False)

    def __post_init__(self):
        if self.filters is None:
            self.filters = [("PASS", "All filters passed")]
        self.split_start = np.concatenate([[0], np.cumsum(self.rec_nsplit)]).astype(np.int64)

    @property
    def n_variants(self) -> int:
        return int(self.split_start[-1])


def resolve_allele_order(kind: str, allele_order: str | None) -> str:
    """The allele order of ``kind`` input: ``allele_order`` (default ``ref-last``) for BGEN and .bed,
    ``named`` for the formats that name REF (ConfigError when one is asked of them)."""
    if allele_order is not None and allele_order not in ALLELE_ORDERS:
        raise ConfigError(f"allele order {allele_order!r}: expected one of {', '.join(ALLELE_ORDERS)}")
    if kind in ORDERED_KINDS:
        return allele_order or REF_LAST
    if allele_order is not None:
        raise ConfigError(f"--{allele_order} applies to BGEN and PLINK .bed input only: {kind} input names its "
                          "REF allele")
    return NAMED


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


def same_samples(samples: list[str] | None, ids: list[str], path: str, first_path: str,
                 where: str | None = None) -> list[str]:
    """The sample ids of a multi-file input: the first file's ``ids`` (``samples`` is None; checked
    unique, errors naming ``where`` or ``path``), else ``samples``, which ``ids`` must equal."""
    if samples is None:
        check_unique_samples(ids, where or path)
        return ids
    if ids != samples:
        raise InputError(f"{path}: sample ids differ from those of {first_path}")
    return samples


def plan_inputs(paths, sample_path=None, threads: int = 1, allele_order: str | None = None) -> SourcePlan:
    """Plan the ingestion of one or more files of one kind with the same samples (in order);
    a bgzipped VCF is inflated on ``threads`` threads. ``allele_order``: see :func:`resolve_allele_order`."""
    paths = [str(require_file(p, "genotype file")) for p in paths]
    if not paths:
        raise InputError("no genotype files given")
    kinds = {input_kind(p) for p in paths}
    if len(kinds) != 1:
        raise InputError(f"mixing genotype file types is not supported: {sorted(kinds)}")
    kind = kinds.pop()
    order = resolve_allele_order(kind, allele_order)
    if kind in ("bed", "pgen"):
        from gwas.ingest.plink import plan_plink

        plan = plan_plink(paths, kind)
        plan.allele_order = order
        return plan
    if kind == "bgen":
        plan = _plan_bgen(paths, sample_path)
        plan.allele_order = order
        return plan
    from gwas.ingest.vcf import plan_vcf

    return plan_vcf(paths, kind, threads)


# -- BGEN ---------------------------------------------------------------------------------------
def _plan_bgen(paths, sample_path) -> SourcePlan:
    contigs: dict[str, int] = {}
    cols = {k: [] for k in ("file", "contig", "loc", "nsplit")}
    samples = None
    for fi, p in enumerate(paths):
        with BgenFile(p, sample_path) as b:
            samples = same_samples(samples, b.sample_ids, p, paths[0], str(sample_path or p))
            offsets, n_alleles, chroms = b.scan()
        cols["file"].append(np.full(len(offsets), fi, dtype=np.int32))
        cols["contig"].append(np.array([contigs.setdefault(c, len(contigs)) for c in chroms], dtype=np.int16))
        cols["loc"].append(offsets)
        cols["nsplit"].append(np.maximum(n_alleles - 1, 1))
    cat = {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in cols.items()}
    zeros = np.zeros(len(cat["loc"]), dtype=np.int64)
    return SourcePlan("bgen", paths, str(sample_path) if sample_path else None, samples, list(contigs),
                      [-1] * len(contigs), cat["file"], cat["contig"], cat["loc"], zeros, zeros,
                      cat["nsplit"], with_genotypes=True, with_dosages=True)


def _convert_bgen(plan: SourcePlan, a: int, r0: int, r1: int, block: dict[str, np.ndarray]) -> None:
    """Records r0..r1-1 into the rows of ``block`` (split variants ``a ..``). Each file's byte range
    is read at once and its block headers walked by a kernel; biallelic layout-2 variants are then
    decompressed, decoded and summarised many per kernel call, any other variant (and one the
    kernel refuses) through :meth:`BgenFile.read`, which names a fault. A ``ref-last`` plan reads
    every record with its last allele as REF (:func:`gwas.io.bgen.reader.ref_last`)."""
    n, fns, m = len(plan.sample_ids), inflate.functions(), len(block["variant_position"])
    flip = plan.allele_order == REF_LAST
    ploidy = scratch("ploidy", (m, n), np.int8)  # each call's ploidy, for the hard calls

    def read(bf, i, offset):
        var = bf.read(i, offset)
        return ref_last(var) if flip else var

    r = r0
    while r < r1:
        fi = int(plan.rec_file[r])
        first = int(np.searchsorted(plan.rec_file, fi))
        end = min(r1, int(np.searchsorted(plan.rec_file, fi, side="right")))
        with BgenFile(plan.paths[fi], samples=False) as bf:
            start = int(plan.rec_locator[r])
            stop = int(plan.rec_locator[end]) if end < len(plan.rec_file) and plan.rec_file[end] == fi else bf.file_size
            buf = bf.read_bytes(start, stop, scratch("bgen", (stop - start,), np.uint8))  # memory already mapped
            heads = np.empty((end - r, bgen_blocks.N_FIELDS), dtype=np.int64)
            done = bgen_blocks.walk_headers(buf, 0, end - r, bf.layout, bf.compression, n, heads)
            moved = np.flatnonzero(heads[:done, bgen_blocks.H_START] + start != plan.rec_locator[r:r + done])
            if done < end - r or len(moved):
                k = int(moved[0]) if len(moved) else done
                bf.check_block(r + k - first, int(plan.rec_locator[r + k]))
            text = memoryview(buf)

            def strings(starts, lengths):  # header strings at (start, length)
                return [str(text[a:a + k], "utf-8", "replace") for a, k in zip(starts.tolist(), lengths.tolist())]

            rs_at, rs_len = heads[:, bgen_blocks.H_RSID], heads[:, bgen_blocks.H_RSID_LEN]
            no_rsid = (rs_len == 0) | ((rs_len == 1) & (buf[np.minimum(rs_at, len(buf) - 1)] == ord(".")))
            id_at = np.where(no_rsid, heads[:, bgen_blocks.H_ID], rs_at)  # the rsid, else the variant id
            id_len = np.where(no_rsid, heads[:, bgen_blocks.H_ID_LEN], rs_len)
            fast = np.flatnonzero(heads[:, bgen_blocks.H_K] == 2) if bf.layout == 2 else np.zeros(0, np.int64)
            ids = strings(id_at[fast], id_len[fast])
            refs = strings(heads[fast, bgen_blocks.H_A0], heads[fast, bgen_blocks.H_A0_LEN])
            alts = strings(heads[fast, bgen_blocks.H_A1], heads[fast, bgen_blocks.H_A1_LEN])
            if flip:
                refs, alts = alts, refs
            other = np.ones(len(heads), dtype=bool)
            other[fast] = False
            for i in np.flatnonzero(other).tolist():  # multi-allelic, one-allele and layout-1 records
                h, rr = heads[i].tolist(), r + i
                vid = strings(id_at[i:i + 1], id_len[i:i + 1])[0]
                var = read(bf, rr - first, start + h[bgen_blocks.H_START])
                for j, (e, f) in enumerate(_bgen_split(var)):
                    v = int(plan.split_start[rr]) + j - a
                    if 0 <= v < m:  # a multi-allelic record may straddle the block's ends
                        set_variants(block, v, plan.rec_contig[rr], h[bgen_blocks.H_POS], var.alleles[0],
                                     var.alleles[j + 1] if len(var.alleles) > 1 else ".", vid, fi, j + 1)
                        _put_bgen_row(block, v, e, f, var.ploidy)
                        ploidy[v] = var.ploidy
            rec = r + fast
            rows = plan.split_start[rec] - a  # one row each, inside the block
            set_variants(block, rows, plan.rec_contig[rec], heads[fast, bgen_blocks.H_POS], refs, alts, ids, fi, 1)
            at = heads[fast, bgen_blocks.H_DATA]
            k = 0
            while k < len(rows):  # a block the kernel refuses goes the checked way (which names the fault)
                bad = bgen_blocks.biallelic_dosages(buf, at[k:], bf.compression, fns, n, rows[k:],
                                                    block["call_dosage_scaled"], block["variant_alt_frequency"],
                                                    block["variant_call_rate"], block["variant_info"], ploidy, flip)
                if bad == 0:
                    break
                k += bad - 1
                var = read(bf, int(rec[k]) - first, int(plan.rec_locator[rec[k]]))
                (e, f), = _bgen_split(var)
                _put_bgen_row(block, int(rows[k]), e, f, var.ploidy)
                ploidy[int(rows[k])] = var.ploidy
                k += 1
        r = end
    hard_call_kernel(block["call_dosage_scaled"], ploidy, block["call_genotype"], block["call_genotype_mask"],
                     block["call_genotype_phased"])


def _put_bgen_row(block: dict[str, np.ndarray], v: int, dosage, square, ploidy) -> None:
    """Row ``v``'s dosage codes and statistics (IMPUTE info) from one variant's float arrays."""
    st = stats.variant_stats(dosage[None], ploidy[None], square[None], stats.INFO_IMPUTE)
    block["variant_alt_frequency"][v] = st.allele_frequency[0]
    block["variant_call_rate"][v] = st.call_rate[0]
    block["variant_info"][v] = st.info[0]
    block["call_dosage_scaled"][v] = encode_dosage_fast(dosage[None])[0]


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


# -- conversion ----------------------------------------------------------------------------------
#: genotypes converted at once inside a part: bounds the float64 working arrays (about 40 bytes per
#: genotype) to a few hundred MB whatever the part size; the outputs (7 bytes per genotype) stay whole.
SUB_BLOCK_GENOTYPES = 1 << 23


def _sequential(plan: SourcePlan) -> bool:
    """True when records can only be reached by reading from the file's start (plain or non-BGZF
    gzip VCF without a tabix/CSI index)."""
    if plan.kind != "vcf":
        return False
    tables = plan.bgzf_blocks or [None] * len(plan.paths)
    return any(t is None and not (Path(p + ".tbi").exists() or Path(p + ".csi").exists())
               for p, t in zip(plan.paths, tables))


def convert_range(plan: SourcePlan, a: int, b: int, threads: int = 1, out: dict[str, np.ndarray] | None = None,
                  pool: ThreadPoolExecutor | None = None) -> dict[str, np.ndarray]:
    """Store arrays (see :mod:`gwas.store.variables`) for split variants a..b-1 of ``plan``,
    converted ``SUB_BLOCK_GENOTYPES`` at a time on ``threads`` threads (an unindexed plain VCF in one
    go: it is read from its start). The result does not depend on ``threads``. ``out``: arrays of an
    earlier result with the same number of variants, overwritten (every element) instead of new ones.
    ``pool``: an executor of ``threads`` threads to convert on, whose threads keep their scratch
    arrays from one call to the next (else one made for this call, whose threads and arrays end with it)."""
    step = max(1, SUB_BLOCK_GENOTYPES // max(len(plan.sample_ids), 1))
    ranges = [(a, b)] if b - a <= step or _sequential(plan) else [(s, min(b, s + step)) for s in range(a, b, step)]
    out = _empty_block(plan, b - a) if out is None else out
    if threads <= 1 or len(ranges) == 1:
        try:
            for s, e in ranges:
                _convert_sub_range(plan, s, e, out, s - a)
        finally:
            drop_scratch()
    else:
        with ThreadPoolExecutor(min(threads, len(ranges))) if pool is None else contextlib.nullcontext(pool) as run:
            for _ in run.map(lambda r: _convert_sub_range(plan, r[0], r[1], out, r[0] - a), ranges):
                pass
    return out


def _empty_block(plan: SourcePlan, m: int) -> dict[str, np.ndarray]:
    """Uninitialised arrays of every store field with a variants dimension, for ``m`` variants."""
    sizes = {"variants": m, "samples": len(plan.sample_ids), "alleles": 2, "ploidy": 2, "filters": len(plan.filters)}
    return {name: np.empty(tuple(sizes[d] for d in f.dims), dtype=object if f.dtype == "str" else f.dtype)
            for name, f in FIELDS.items() if "variants" in f.dims and name not in DERIVED_FIELDS
            and (plan.with_genotypes or name not in GENOTYPE_FIELDS)}

def summarise(dosage: np.ndarray, ploidy: np.ndarray, modes: np.ndarray, square: np.ndarray | None = None) -> dict:
    """Per-variant frequency, call rate and INFO (each variant with its own INFO mode, see
    :mod:`gwas.store.stats`) and the encoded dosages of a block."""
    st = stats.variant_stats(dosage, ploidy, square, modes)
    return {"variant_alt_frequency": st.allele_frequency, "variant_call_rate": st.call_rate,
            "variant_info": st.info, "call_dosage_scaled": encode_dosage_fast(dosage)}


def _convert_sub_range(plan: SourcePlan, a: int, b: int, out: dict[str, np.ndarray], at: int) -> None:
    """Convert split variants a..b-1 into rows ``at .. at + b - a`` of the arrays of ``out``."""
    m = b - a
    block = {k: v[at:at + m] for k, v in out.items()}  # views: written in place
    if plan.kind != "vcf" and plan.kind != "bcf":  # no QUAL or FILTER
        block["variant_quality"][:] = np.nan
        block["variant_filter"][:] = False
    if plan.kind in ("bed", "pgen"):
        from gwas.ingest.plink import convert_plink_range

        for k, v in convert_plink_range(plan, a, b).items():
            block[k][:] = v
        return
    n_s = len(plan.sample_ids)
    r0 = int(np.searchsorted(plan.split_start, a, side="right") - 1)
    r1 = int(np.searchsorted(plan.split_start, b, side="left"))
    if plan.kind == "bgen":
        _convert_bgen(plan, a, r0, r1, block)
        return
    from gwas.ingest.vcf import convert_vcf

    modes = np.empty(m, dtype=np.int8)
    dosage = scratch("dosage", (m, n_s), np.float64)
    ploidy = scratch("ploidy", (m, n_s), np.int8)
    gts, phs = block["call_genotype"], block["call_genotype_phased"]
    convert_vcf(plan, a, b, r0, r1, block, dosage, ploidy, modes, gts, phs)
    st = stats.variant_stats(dosage, ploidy, None, modes)
    block["variant_alt_frequency"][:] = st.allele_frequency
    block["variant_call_rate"][:] = st.call_rate
    block["variant_info"][:] = st.info
    encode_dosage_kernel(dosage, block["call_dosage_scaled"])
    if plan.with_genotypes:
        np.less(gts, 0, out=block["call_genotype_mask"])
