"""VCF/BCF inputs -> store blocks (conventions: :mod:`gwas.store.variables`).

Planning reads every record's CHROM, POS and ALT count once. A bgzipped VCF is inflated in bulk
(:mod:`gwas.io.bgzf`, on ``threads`` threads) and scanned by a Numba kernel
(:func:`gwas.io.vcf.records.scan_heads`); the plan keeps each record's offset in the uncompressed
stream and the file's block table, so a task reads exactly its records' bytes back. A plain or
non-BGZF gzip VCF is read line by line, a BCF through pysam (records re-read via the index).

Conversion takes the text of a range of records as one buffer and parses all their sample
columns in one kernel call (:func:`gwas.io.vcf.records.parse_records`). Errors name the file and
the record's line number (BCF: record number).
"""

from __future__ import annotations

import gzip
import itertools
import re
import zlib
from pathlib import Path

import numpy as np

from gwas.ingest.heads import Heads, check_order
from gwas.ingest.scratch import held, keep
from gwas.io import bgzf
from gwas.io.vcf import records as vrec
from gwas.store import stats
from gwas.store.variables import set_variants
from hubscan.errors import InputError

#: contigs on which haploid calls are expected (males on X/Y, mitochondria)
HAPLOID_CONTIGS = re.compile(r"^(chr)?(X|Y|MT|M|23|24|26)$", re.IGNORECASE)


def _open_text(path: str):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def vcf_header(path: str, kind: str):
    """(sample ids, [(contig, length)], header line count, header bytes) of a VCF/BCF."""
    if kind == "bcf":
        import pysam

        try:
            with pysam.VariantFile(path) as vf:
                contigs = [(c, vf.header.contigs[c].length or -1) for c in vf.header.contigs]
                return list(vf.header.samples), contigs, 0, 0
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: cannot read BCF header: {exc}") from None
    contigs, n, size = [], 0, 0
    with _open_text(path) as fh:
        for raw in fh:
            n += 1
            size += len(raw)
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
                return cols[9:], contigs, n, size
            elif not line.startswith("##"):
                break
    if n == 0:
        raise InputError(f"{path}: empty file, not a VCF")
    raise InputError(f"{path}: no #CHROM header line before the records: not a VCF")


_FILTER_LINE = re.compile(r'^##FILTER=<ID=([^,>]+)(?:.*?Description="((?:[^"\\]|\\.)*)")?')


def vcf_filters_and_dosage(paths, kind: str) -> tuple[list[tuple[str, str]], bool]:
    """The inputs' filters as (id, description) pairs, PASS first then the ##FILTER ids in order of
    first appearance, and whether any header declares FORMAT DS (the store then gets ``call_DS``)."""
    filters, has_ds = {"PASS": "All filters passed"}, False
    for path in paths:
        if kind == "bcf":
            import pysam

            with pysam.VariantFile(path) as vf:
                for name, rec in vf.header.filters.items():
                    filters.setdefault(name, rec.description or "")
                has_ds = has_ds or "DS" in vf.header.formats
            continue
        with _open_text(path) as fh:
            for raw in fh:
                line = raw.decode(errors="replace").rstrip("\r\n")
                if not line.startswith("##"):
                    break
                m = _FILTER_LINE.match(line)
                if m:
                    filters.setdefault(m.group(1), m.group(2) or "")
                elif line.startswith("##FORMAT=<") and re.search(r"[<,]ID=DS[,>]", line):
                    has_ds = True
    return list(filters.items()), has_ds


def _line_head(path: str, lineno: int, raw: bytes):
    """(chrom, pos, n_alt) of one record line, or None for a blank line; InputError when malformed."""
    cols = raw.split(b"\t", 5)
    if len(cols) < 6:
        if not raw.strip():
            return None
        raise InputError(f"{path}:{lineno}: record has {len(cols)} tab-separated columns, at least 8 expected")
    try:
        pos = int(cols[1])
    except ValueError:
        raise InputError(f"{path}:{lineno}: POS {cols[1][:20].decode(errors='replace')!r} is not an integer") from None
    alt = cols[4]
    return cols[0].decode(), pos, (alt.count(b",") + 1) if alt != b"." else 1


def _scan_text(path: str, kind: str, n_header: int, heads: Heads) -> None:
    """Record heads of a plain or non-BGZF gzip VCF (line by line) or a BCF (via pysam)."""
    lineno, pos, nalt, chroms = [], [], [], []

    def record(ln, chrom, p, k):
        if not chroms or chroms[-1][1] != chrom:
            chroms.append((len(lineno), chrom))
        lineno.append(ln)
        pos.append(p)
        nalt.append(k)

    try:
        if kind == "bcf":
            import pysam

            with pysam.VariantFile(path) as vf:
                for i, rec in enumerate(vf, start=1):
                    record(i, rec.chrom, rec.pos, max(len(rec.alts or ()), 1))
        else:
            with _open_text(path) as fh:
                for ln, raw in enumerate(fh, start=1):
                    if ln > n_header:
                        head = _line_head(path, ln, raw)
                        if head is not None:
                            record(ln, *head)
    except InputError as exc:
        heads.error = exc
    except (EOFError, OSError, ValueError, zlib.error) as exc:  # truncated or corrupt gzip/BCF, undecodable bytes
        after = f" after line {lineno[-1]}" if lineno else ""
        heads.error = InputError(f"{path}: unreadable{after}: {exc}")
    heads.add(lineno, pos, nalt, np.full(len(lineno), -1), chroms)


def _scan_bgzf(path: str, n_header: int, header_bytes: int, heads: Heads, threads: int, on_text=None):
    """Record heads of a bgzipped VCF, inflated in bulk; returns (block offsets, block starts, length).
    ``on_text(text, at, first)``, when given, is called with each span of whole lines scanned (uint8,
    ``text[0]`` at stream offset ``at``, valid during the call only) and the index of its first record."""
    offsets, starts = [], []
    carry, carry_at, lineno, skip, total = np.zeros(0, np.uint8), header_bytes, n_header, header_bytes, 0

    def scan(arr: np.ndarray, at: int, start: int, stop: int) -> None:
        """Lines of arr[start:stop] (uint8; arr[0] at stream offset ``at``)."""
        nonlocal lineno
        first, begin = heads.n, start
        words = vrec.words_of(arr)
        while start < stop and heads.error is None:
            cap = (stop - start) // 256 + 64
            out = {k: np.empty(cap, np.int64) for k in ("start", "chrom_end", "pos", "nalt")}
            flag, new = np.empty(cap, np.int8), np.empty(cap, np.int8)
            n, nxt = vrec.scan_heads(arr, words, start, stop, out["start"], flag, out["chrom_end"], out["pos"],
                                     out["nalt"], new)
            linenos = lineno + 1 + np.arange(n)
            if (flag[:n] == vrec.HEAD_OTHER).any():  # an odd line: these lines the slow, exact way
                for ln, a, b in zip(linenos, out["start"][:n], np.append(out["start"][1:n], nxt)):
                    try:
                        head = _line_head(path, int(ln), arr[a:b].tobytes().rstrip(b"\n"))
                    except InputError as exc:
                        heads.error = exc
                        break
                    if head is not None:
                        heads.add([ln], [head[1]], [head[2]], [at + a], [(0, head[0])])
            else:
                rec = np.flatnonzero(flag[:n] == vrec.HEAD_RECORD)
                change = np.flatnonzero(new[rec])
                chroms = [(int(i), arr[out["start"][rec[i]]:out["chrom_end"][rec[i]]].tobytes().decode())
                          for i in change]
                heads.add(linenos[rec], out["pos"][rec], out["nalt"][rec], at + out["start"][rec], chroms)
            lineno += n
            start = nxt
        if on_text is not None:
            on_text(arr[begin:start], at + begin, first)

    for text, boffs, bstarts in bgzf.iter_batches(path, threads):  # text: a reused uint8 buffer
        offsets.append(boffs)
        starts.append(bstarts)
        total = int(bstarts[0]) + len(text)
        if heads.error is not None:
            continue  # keep the block table complete; records past an error are not needed
        at = int(bstarts[0])  # stream offset of text[0]
        begin = 0
        if skip:
            begin = min(skip, len(text))
            skip -= begin
        if len(carry):  # the line cut by the previous batch's end, completed
            nl = vrec.next_newline(text, vrec.words_of(text), begin, len(text))
            head = np.concatenate([carry, text[begin:nl + 1]])
            if nl == len(text):
                carry = head
                continue
            scan(head, carry_at, 0, len(head))
            carry, begin = carry[:0], nl + 1
        stop = vrec.last_newline(text, begin, len(text)) + 1
        if stop > begin:
            scan(text, at, begin, stop)
        else:
            stop = begin
        carry, carry_at = text[stop:].copy(), at + stop
    if len(carry) and heads.error is None:
        scan(carry, carry_at, 0, len(carry))
    cat = [np.concatenate(x) if x else np.zeros(0, np.int64) for x in (offsets, starts)]
    return cat[0], cat[1], total


def plan_vcf(paths, kind, threads: int = 1):
    """:class:`gwas.ingest.sources.SourcePlan` of VCF/BCF files (same samples in the same order)."""
    from gwas.ingest.sources import SourcePlan, same_samples

    samples, contig_len, contigs = None, {}, {}
    cols = {k: [] for k in ("file", "contig", "loc", "pos", "rank", "nsplit", "upos")}
    blocks = []
    for fi, p in enumerate(paths):
        ids, header_contigs, n_header, header_bytes = vcf_header(p, kind)
        samples = same_samples(samples, ids, p, paths[0])
        for c, ln in header_contigs:
            contig_len.setdefault(c, ln)
        heads = Heads()
        if kind == "vcf" and bgzf.is_bgzf(p):
            blocks.append(_scan_bgzf(p, n_header, header_bytes, heads, threads))
        else:
            _scan_text(p, kind, n_header, heads)
            blocks.append(None)
        lineno, pos, nalt, upos, run = heads.arrays()
        check_order(p, heads.run_names, run, lineno, pos)
        if heads.error is not None:
            raise heads.error
        same = np.zeros(len(pos), dtype=bool)
        same[1:] = (run[1:] == run[:-1]) & (pos[1:] == pos[:-1])
        group_start = np.maximum.accumulate(np.where(same, 0, np.arange(len(pos))))
        ids_of_run = np.array([contigs.setdefault(c, len(contigs)) for c in heads.run_names], dtype=np.int64)
        for k, v in (("file", np.full(len(pos), fi)), ("contig", ids_of_run[run] if len(pos) else run),
                     ("loc", lineno), ("pos", pos), ("rank", np.arange(len(pos)) - group_start),
                     ("nsplit", nalt), ("upos", upos)):
            cols[k].append(np.asarray(v, dtype=np.int64))
    ids = list(contigs)
    arr = {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in cols.items()}
    filters, has_ds = vcf_filters_and_dosage(paths, kind)
    return SourcePlan(kind, paths, None, samples, ids, [contig_len.get(c, -1) for c in ids],
                      arr["file"].astype(np.int32), arr["contig"].astype(np.int16), arr["loc"], arr["pos"],
                      arr["rank"], arr["nsplit"], with_genotypes=True, rec_upos=arr["upos"], bgzf_blocks=blocks,
                      filters=filters, with_dosages=has_ds)


# -- conversion ----------------------------------------------------------------------------------
def _lines(plan, r0: int, r1: int):
    """Yield (record index, line bytes) for records r0..r1-1 not in BGZF files: via the tabix/CSI
    index when present, else reading from the file's start."""
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
            it = (ln for i, ln in enumerate(fh, start=1) if i >= first and ln.strip())  # blank lines are no records
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


def record_text(plan, r0: int, r1: int) -> tuple[np.ndarray, np.ndarray]:
    """Text of records r0..r1-1 in one uint8 buffer and the offset of each record's line in it."""
    if plan.text is not None:  # held in memory (gwas.ingest.stream): rec_upos are offsets in it
        u0 = int(plan.rec_upos[r0])
        u1 = int(plan.rec_upos[r1]) if r1 < len(plan.rec_upos) else len(plan.text)
        return plan.text[u0:u1], plan.rec_upos[r0:r1] - u0
    parts, starts, at, r = [], [], 0, r0
    while r < r1:
        fi = int(plan.rec_file[r])
        table = plan.bgzf_blocks[fi] if plan.bgzf_blocks else None
        end = min(r1, int(np.searchsorted(plan.rec_file, fi, side="right")))
        if table is None:
            lines = []
            for _, line in _lines(plan, r, end):
                lines.append(line.rstrip(b"\r\n") + b"\n")
                starts.append(at)
                at += len(lines[-1])
            parts.append(np.frombuffer(b"".join(lines), dtype=np.uint8))
            r = end
            continue
        nxt = int(plan.rec_upos[end]) if end < len(plan.rec_upos) and plan.rec_file[end] == fi else table[2]
        u0 = int(plan.rec_upos[r])
        reuse = held("text") if end == r1 else None  # the reused buffer serves the range's last file only
        parts.append(bgzf.read_span(plan.paths[fi], table[0], table[1], u0, nxt, reuse))
        if reuse is not None and parts[-1].base is not None:
            keep("text", parts[-1].base)
        starts.extend((at + plan.rec_upos[r:end] - u0).tolist())
        at += len(parts[-1])
        r = end
    return parts[0] if len(parts) == 1 else np.concatenate(parts), np.asarray(starts, dtype=np.int64)


def _record_error(where: str, kind: int, sample: int, n: int, fmt: str, chrom: str) -> InputError:
    if kind == vrec.ERR_COLUMNS:
        return InputError(f"{where}: record does not have {n} sample columns")
    if kind == vrec.ERR_CALL:
        return InputError(f"{where}: cannot parse the call of sample column {sample} (FORMAT {fmt.strip()}): "
                          "malformed record")
    if kind == vrec.ERR_PLOIDY:
        return InputError(f"{where}: sample column {sample} has more than two alleles; ploidy above 2 is not "
                          "supported in VCF input")
    return InputError(f"{where}: haploid call in sample column {sample} on {chrom}: mixed ploidy is only allowed "
                      "on X, Y and MT")


def _quality_and_filters(plan, r0: int, meta: list) -> tuple[np.ndarray, np.ndarray]:
    """Per record of ``meta`` (from record ``r0``): QUAL as float32 (NaN for '.') and a row of
    ``plan.filters`` flags (True where FILTER names the filter; all False for '.'). A QUAL that is not
    a number or a FILTER not declared in the header raises InputError naming the file and line."""
    index = {name: j for j, (name, _) in enumerate(plan.filters)}
    quality = np.full(len(meta), np.nan, np.float32)
    filtered = np.zeros((len(meta), len(plan.filters)), np.bool_)
    seen: dict[bytes, list[int]] = {b".": [], b"PASS": [index["PASS"]]}
    for i, x in enumerate(meta):
        qual, names = x[5], x[6]
        where = lambda: f"{plan.paths[int(plan.rec_file[r0 + i])]}:{int(plan.rec_locator[r0 + i])}"  # noqa: E731
        if qual != b".":
            try:
                quality[i] = float(qual)
            except ValueError:
                raise InputError(f"{where()}: QUAL {qual[:20].decode(errors='replace')!r} is not a number") from None
        cols = seen.get(names)
        if cols is None:
            cols = []
            for name in names.decode(errors="replace").split(";"):
                if name not in index:
                    raise InputError(f"{where()}: FILTER {name!r} is not declared in the header "
                                     f"(no ##FILTER=<ID={name},...> line)")
                cols.append(index[name])
            seen[names] = cols
        filtered[i, cols] = True
    return quality, filtered


def convert_vcf(plan, a: int, b: int, r0: int, r1: int, block: dict, dosage, ploidy, modes, gts, phs) -> None:
    """Fill rows 0..b-a-1 of ``block`` (variant fields) and of the call arrays from records r0..r1-1,
    whose split variants cover a..b-1 (see :func:`gwas.ingest.sources.convert_range`)."""
    n = len(plan.sample_ids)
    buf, starts = record_text(plan, r0, r1)
    n_rec = r1 - r0
    tabs, ends = np.empty((n_rec, 9), np.int64), np.empty(n_rec, np.int64)
    vrec.record_tabs(buf, vrec.words_of(buf), starts, tabs, ends)
    need = 9 if n else 7  # tabs before the sample columns (before INFO's end without samples)
    fields = {k: np.full(n_rec, -1, np.int64) for k in ("gt", "ds")}
    n_alt = np.ones(n_rec, np.int64)
    haploid_ok = np.zeros(n_rec, np.bool_)
    row0 = plan.split_start[r0:r1] - a
    formats: dict[bytes, tuple[int, int]] = {}
    haploid: dict[str, bool] = {}
    meta, pending = [], None
    for i in range(n_rec):
        r = r0 + i
        t = tabs[i]
        if t[need - 1] < 0:
            k = int((t >= 0).sum()) + 1
            pending = InputError(f"{plan.paths[int(plan.rec_file[r])]}:{int(plan.rec_locator[r])}: record has {k} "
                                 f"columns, {9 + n} expected")
            break
        s0 = int(starts[i])
        text = buf[s0:t[need - 1]].tobytes()  # the columns before the samples
        t = t - s0
        chrom = text[:t[0]].decode()
        ref, alt = text[t[2] + 1:t[3]].decode(), text[t[3] + 1:t[4]].decode()
        alts = alt.split(",") if alt != "." else []
        n_alt[i] = max(len(alts), 1)
        if n:
            fmt = text[t[7] + 1:t[8]]
            if fmt not in formats:
                names = fmt.decode().rstrip("\r\n").split(":")
                formats[fmt] = (names.index("GT") if "GT" in names else -1, names.index("DS") if "DS" in names else -1)
            fields["gt"][i], fields["ds"][i] = formats[fmt]
            if fields["gt"][i] < 0 and fields["ds"][i] < 0:
                pending = InputError(f"{plan.paths[int(plan.rec_file[r])]}:{int(plan.rec_locator[r])}: FORMAT "
                                     f"{fmt.decode().strip()!r} has neither GT nor DS")
                break
        if chrom not in haploid:
            haploid[chrom] = bool(HAPLOID_CONTIGS.match(chrom))
        haploid_ok[i] = haploid[chrom]
        meta.append((chrom, int(text[t[0] + 1:t[1]]), text[t[1] + 1:t[2]].decode(), ref, alts or ["."],
                     text[t[4] + 1:t[5]], text[t[5] + 1:t[6]]))
    done = len(meta)
    err = np.zeros(3, np.int64)
    sample_start = np.where(tabs[:, 8] >= 0, tabs[:, 8] + 1, ends)
    if vrec.parse_records(buf, sample_start[:done], ends[:done], fields["gt"][:done], fields["ds"][:done],
                          n_alt[:done], haploid_ok[:done], row0[:done], n, gts, phs, dosage, ploidy, err):
        i, r = int(err[0]), r0 + int(err[0])
        fmt = buf[tabs[i, 7] + 1:tabs[i, 8]].tobytes().decode()
        raise _record_error(f"{plan.paths[int(plan.rec_file[r])]}:{int(plan.rec_locator[r])}", int(err[1]),
                            int(err[2]), n, fmt, meta[i][0])
    if pending is not None:
        raise pending
    n_alts = np.array([len(x[4]) for x in meta], dtype=np.int64)
    rec = np.repeat(np.arange(len(meta)), n_alts)  # record (from r0) of each split variant
    split = np.arange(len(rec)) - np.repeat(np.cumsum(n_alts) - n_alts, n_alts) + 1
    rows = plan.split_start[r0 + rec] - a + split - 1
    keep = (rows >= 0) & (rows < b - a)  # a multi-allelic record may straddle the block's ends
    rec, split, rows = rec[keep], split[keep], rows[keep]

    def column(k, dtype=object):
        return np.array([x[k] for x in meta], dtype=dtype)[rec]

    alts = np.array([alt for x in meta for alt in x[4]], dtype=object)[keep]
    quality, filtered = _quality_and_filters(plan, r0, meta)
    block["variant_quality"][rows] = quality[rec]
    block["variant_filter"][rows] = filtered[rec]
    set_variants(block, rows, plan.rec_contig[r0 + rec], column(1, np.int64), column(3), alts, column(2),
                 plan.rec_file[r0 + rec], split)
    modes[rows] = np.where(fields["ds"][rec] >= 0, stats.INFO_MACH, stats.INFO_HARD)
