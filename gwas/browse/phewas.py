"""Per-variant data for variant (PheWAS) and region pages, gathered in bounded memory.

Traits are streamed one after another; each batch of rows is appended, as Arrow record batches
(LZ4-compressed IPC), to the spill file of its *bucket* (chromosome, ``spill_bp`` window). When
every trait is read, each bucket is loaded alone, sorted by (position, ref, alt, trait) and cut into
site chunks (chromosome, ``chunk_bp`` window): ``data/variants/<chrom>/<chunk>.bin.gz``. Memory is
bounded by one bucket (traits x variants in ``spill_bp``), never the whole release; no row becomes
a Python object (only each variant's id and alleles do).

A chunk file is one gzip member (decoded in the browser with ``DecompressionStream``) holding::

    b"HSV1"  uint32 LE header length H  header (UTF-8 JSON, space-padded so 8 + H is a multiple of 8)
    p b s f n   float64 LE: -log10 p, beta, se, effect allele frequency, protected n; R values
                each, or V (one per variant) for the columns named in the header's "const"
    t           int32 LE, R values: trait index (data/traits.json order); absent when the
                header's "every_trait" is true (each variant has rows 0 .. traits-1, in order)

with R the chunk's (variant, trait) rows, ordered by variant (position, ref, alt) then trait, and V
its variants. The header is ``{"chrom", "chunk", "rows": R, "pos": [...], "ref": [...], "alt":
[...], "rsid": [...], "start": [...], "const": [...], "every_trait": bool}``, one entry per variant
(``start``: its first row; its rows run to the next variant's start, or R). A column is "const" when
every variant of the chunk has one value (same bits) for all its traits, as allele frequency and n
often do: stored once, repeated by the reader. The variant's id is ``chrom:pos:ref:alt``; ``rsid``
the first ``rs<digits>`` id the release gives it ('' when none). Floats are the release's float64
values bit for bit (NaN where the release has none: suppressed n, missing values), so every number
shown is the release's.
"""

from __future__ import annotations

import gzip
import json
import re
import struct
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gwas.browse.release import COLUMNS

MAGIC = b"HSV1"
FLOATS = ("p", "b", "s", "f", "n")
SCHEMA = pa.schema([("t", pa.int32())] + [f for f in COLUMNS if f.name != "chrom"])
#: gzip level of chunk files: 6 (zlib's default) is ~3x slower than 1 for a few % smaller files
GZIP_LEVEL = 1
#: rows held back before the spill writes them (one write per bucket then): ~70 bytes a row
PENDING_ROWS = 1_000_000


def finite_list(values: np.ndarray, integer: bool = False) -> list:
    """JSON-safe list: NaN/inf as null; integers as int when ``integer``."""
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v)
    if ok.all():
        return v.astype(np.int64).tolist() if integer else v.tolist()
    conv = int if integer else float
    return [conv(x) if good else None for x, good in zip(v.tolist(), ok.tolist())]


def chunk_path(chrom: str, first_pos: int) -> str:
    """Site-relative path of a chunk (chromosome names made file-safe)."""
    return f"data/variants/{safe_name(chrom)}/{first_pos}.bin.gz"


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(text))


class Spill:
    """Append-only bucket files under ``folder``; ``add`` one trait's batch, then ``buckets``."""

    def __init__(self, folder: Path, spill_bp: int):
        self.folder, self.spill_bp = folder, spill_bp
        self.writers: dict[tuple[int, int], pa.ipc.RecordBatchStreamWriter] = {}
        self.options = pa.ipc.IpcWriteOptions(compression="lz4")
        self.rows = 0
        self.pending: dict[tuple[int, int], list[pa.RecordBatch]] = {}
        self.pending_rows = 0

    def add(self, trait: int, chrom_idx: np.ndarray, batch: pa.RecordBatch) -> None:
        """Spill a :data:`gwas.browse.release.COLUMNS` batch of trait ``trait`` (``chrom_idx``: its
        rows' chromosome indices)."""
        pos = batch.column("pos").to_numpy()
        bucket = pos // self.spill_bp
        key = chrom_idx.astype(np.int64) * (1 << 32) + bucket
        if len(key) and (np.diff(key) >= 0).all():
            order = None                    # already in genome order (the usual release)
            ks = key
        else:
            order = np.argsort(key, kind="stable")
            ks = key[order]
        cuts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1], True])
        whole = pa.record_batch([pa.array(np.full(len(pos), trait, np.int32))] +
                                [batch.column(f.name) for f in SCHEMA if f.name != "t"], schema=SCHEMA)
        if order is not None:
            whole = whole.take(pa.array(order))
        for s, e in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
            k = (int(ks[s] >> 32), int(ks[s] & 0xFFFFFFFF))
            self.pending.setdefault(k, []).append(whole.slice(s, e - s))
        self.rows += len(pos)
        self.pending_rows += len(pos)
        if self.pending_rows >= PENDING_ROWS:
            self.flush()

    def flush(self) -> None:
        """Write the slices held back: one record batch per bucket (few, larger writes)."""
        for k, parts in self.pending.items():
            w = self.writers.get(k)
            if w is None:
                w = self.writers[k] = pa.ipc.new_stream(str(self.folder / f"{k[0]}-{k[1]}.arrow"), SCHEMA,
                                                        options=self.options)
            w.write_batch(pa.concat_batches(parts) if len(parts) > 1 else parts[0])
        self.pending, self.pending_rows = {}, 0

    def buckets(self):
        """(chrom index, bucket, Arrow table) per bucket in genome order; each file removed once read."""
        self.flush()
        for w in self.writers.values():
            w.close()
        for k in sorted(self.writers):
            path = self.folder / f"{k[0]}-{k[1]}.arrow"
            with pa.OSFile(str(path)) as f:
                table = pa.ipc.open_stream(f).read_all()
            path.unlink()
            yield k[0], k[1], table


def _changes(column: pa.ChunkedArray) -> np.ndarray:
    """bool per row: differs from the row before (row 0 True)."""
    a = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if len(a) < 2:
        return np.ones(len(a), bool)
    return np.r_[True, pc.not_equal(a.slice(1), a.slice(0, len(a) - 1)).to_numpy(zero_copy_only=False)]


def encode_chunk(header: dict, columns: dict[str, np.ndarray], n_traits: int) -> bytes:
    """The bytes of one chunk file before gzip (see the module docstring); ``header`` needs
    chrom, chunk, pos, ref, alt, rsid and start (first row of each variant)."""
    r = len(columns["t"])
    starts = np.asarray(header["start"], np.int64)
    lengths = np.diff(np.r_[starts, r])
    variant_of_row = np.repeat(np.arange(len(starts)), lengths)
    header = dict(header, rows=r, const=[], every_trait=bool(
        (lengths == n_traits).all() and (columns["t"] == np.arange(r) - starts[variant_of_row]).all()))
    data = []
    for k in FLOATS:
        bits = np.ascontiguousarray(columns[k], "<f8").view("<i8")
        if (bits == bits[starts][variant_of_row]).all():
            header["const"].append(k)
            bits = bits[starts]
        data.append(bits.tobytes())
    if not header["every_trait"]:
        data.append(np.ascontiguousarray(columns["t"], "<i4").tobytes())
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    return b"".join([MAGIC, struct.pack("<I", len(text)), text] + data)


def decode_chunk(data: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, columns of R values) of a chunk file's bytes (gzip or not); the inverse of
    :func:`encode_chunk`."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if data[:4] != MAGIC:
        raise ValueError("not a hubscan variant chunk")
    (h,) = struct.unpack("<I", data[4:8])
    header = json.loads(data[8:8 + h])
    r, off = header["rows"], 8 + h
    starts = np.asarray(header["start"], np.int64)
    lengths = np.diff(np.r_[starts, r])
    variant_of_row = np.repeat(np.arange(len(starts)), lengths)
    cols = {}
    for k in FLOATS:
        m = len(starts) if k in header["const"] else r
        cols[k] = np.frombuffer(data, "<f8", m, off)
        off += 8 * m
        if k in header["const"]:
            cols[k] = cols[k][variant_of_row]
    if header["every_trait"]:
        cols["t"] = (np.arange(r) - starts[variant_of_row]).astype(np.int32)
    else:
        cols["t"] = np.frombuffer(data, "<i4", r, off)
    return header, cols


def write_chunks(site: Path, chrom: str, table: pa.Table, chunk_rows: int, n_traits: int, rsids,
                 last: bool = True) -> tuple[int, list[int], pa.Table | None]:
    """Write the chunks of ``table`` (rows of one chromosome, any order): consecutive variants
    until a chunk holds ``chunk_rows`` rows or more. Unless ``last``, the rows after the last full
    chunk are returned to be written with the chromosome's next rows (so chunks do not depend on
    the spill buckets). ``rsids(rsid, variant id)`` is called once per variant written with an
    rsid. Returns (variants written, chunk start positions written, rows carried or None)."""
    table = table.sort_by([("pos", "ascending"), ("ref", "ascending"), ("alt", "ascending"), ("t", "ascending")])
    pos = table.column("pos").to_numpy()
    new = _changes(table.column("pos")) | _changes(table.column("ref")) | _changes(table.column("alt"))
    starts = np.flatnonzero(new)
    # chunks end where a position ends (a position's variants share a chunk: the page finds a
    # variant's chunk from its position alone)
    at = np.r_[np.flatnonzero(_changes(table.column("pos"))), len(pos)]
    row_cuts = [0]
    while row_cuts[-1] < len(pos):
        k = int(np.searchsorted(at, row_cuts[-1] + chunk_rows))
        row_cuts.append(int(at[min(k, len(at) - 1)]))
    carry = None
    if not last and len(row_cuts) > 1 and len(pos) - row_cuts[-2] < chunk_rows:
        carry = table.slice(row_cuts[-2])
        row_cuts.pop()
    if len(row_cuts) < 2:
        return 0, [], carry
    rows = row_cuts[-1]
    starts = starts[starts < rows]
    cuts = np.searchsorted(starts, row_cuts).tolist()
    variant_of_row = np.cumsum(new[:rows]) - 1
    vid = table.column("vid").slice(0, rows)
    is_rs = pc.match_substring_regex(vid, r"^rs[0-9]+$").to_numpy(zero_copy_only=False)
    rs_rows = np.flatnonzero(is_rs)
    rs_variants, first = np.unique(variant_of_row[rs_rows], return_index=True)
    ref = table.column("ref").take(pa.array(starts)).to_pylist()
    alt = table.column("alt").take(pa.array(starts)).to_pylist()
    rsid = [""] * len(starts)
    if len(rs_variants):
        for v, r in zip(rs_variants.tolist(), vid.take(pa.array(rs_rows[first])).to_pylist()):
            rsid[v] = r
    cols = {k: table.column(k).slice(0, rows).to_numpy() for k in (*FLOATS, "t")}
    vpos = pos[starts]
    folder = site / "data" / "variants" / safe_name(chrom)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    bounds = np.r_[starts, rows]
    for a, z in zip(cuts[:-1], cuts[1:]):
        r0, r1 = int(bounds[a]), int(bounds[z])
        for v in range(a, z):
            if rsid[v]:
                rsids(rsid[v], f"{chrom}:{int(vpos[v])}:{ref[v]}:{alt[v]}")
        first_pos = int(vpos[a])
        header = {"chrom": chrom, "chunk": first_pos, "pos": vpos[a:z].tolist(), "ref": ref[a:z], "alt": alt[a:z],
                  "rsid": rsid[a:z], "start": (starts[a:z] - r0).tolist()}
        data = encode_chunk(header, {k: c[r0:r1] for k, c in cols.items()}, n_traits)
        (folder / f"{first_pos}.bin.gz").write_bytes(gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))
        written.append(first_pos)
    return len(starts), written, carry
