"""BGEN reader: v1.1 (layout 1) and v1.2 (layout 2), 1-32 bits, zlib / zstd / uncompressed.

Spec: https://www.well.ox.ac.uk/~gav/bgen_format/spec/latest.html (all integers little-endian).

* :class:`BgenFile` parses the header and sample ids (from the file, else an Oxford ``.sample``,
  else ``sample_0 .. sample_{N-1}``), lists the byte offset of every variant block (from the
  ``.bgi`` index when present and consistent with the file, else by walking the block headers),
  and decodes variants from any offset, so a Spark task can convert one byte range.
* :meth:`BgenFile.read` returns a :class:`BgenVariant`: identifiers, alleles in the file's order
  (read as ``ref-first``: the first is REF), per-sample ploidy, missingness, phasing and the
  probabilities (``probs`` (N, width) float64, NaN beyond a sample's count and for missing samples;
  unphased genotypes in colex order, phased: K probabilities per haplotype). :func:`ref_last`
  reorders a variant read from a ``ref-last`` file (REGENIE's default and plink2 ``--export
  bgen-1.2``'s: the last allele is REF) so that REF comes first.

Every structural problem (truncated block, bad decompressed length, a ploidy or allele count the
header contradicts) raises :class:`hubscan.errors.InputError` naming the file, the variant number
and its byte offset. Decoding kernels: :mod:`gwas.io.bgen.decode`.
"""

from __future__ import annotations

import functools
import itertools
import os
import sqlite3
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gwas.io.bgen import blocks, decode
from hubscan.errors import InputError
from hubscan.files import require_file

COMPRESSION_NAMES = {0: "none", 1: "zlib", 2: "zstd"}
MAX_PLOIDY = 63


@dataclass
class BgenVariant:
    index: int
    offset: int
    next_offset: int
    variant_id: str
    rsid: str
    chrom: str
    position: int
    alleles: list[str]
    ploidy: np.ndarray  # (N,) uint8
    missing: np.ndarray  # (N,) bool
    phased: bool
    bits: int  # precision: 16 for layout 1
    probs: np.ndarray  # (N, width) float64


@functools.lru_cache(maxsize=1)
def _zstd():
    import numcodecs

    return numcodecs.Zstd()


@functools.lru_cache(maxsize=256)
def genotype_allele_counts(ploidy: int, n_alleles: int) -> np.ndarray:
    """(n_genotypes, n_alleles) int64: copies of each allele in each unphased genotype, BGEN/VCF colex order."""
    tuples = sorted(itertools.combinations_with_replacement(range(n_alleles), ploidy), key=lambda t: t[::-1])
    counts = np.zeros((len(tuples), n_alleles), dtype=np.int64)
    for row, t in enumerate(tuples):
        for a in t:
            counts[row, a] += 1
    return counts


@functools.lru_cache(maxsize=256)
def count_tables(max_ploidy: int, n_alleles: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stacked allele-count tables for ploidy 0..max_ploidy: (counts, offsets, n_genotypes per ploidy)."""
    tables = [genotype_allele_counts(z, n_alleles) for z in range(max_ploidy + 1)]
    offsets = np.zeros(max_ploidy + 2, dtype=np.int64)
    offsets[1:] = np.cumsum([len(t) for t in tables])
    n_comb = np.array([len(t) for t in tables], dtype=np.int64)
    return np.concatenate(tables), offsets, n_comb


def read_sample_file(path: str | os.PathLike) -> list[str]:
    """Sample ids of an Oxford ``.sample`` file (two header lines, then one row per sample).

    The id is the first column (ID_1), except when every ID_1 is ``0``: PLINK writes its family id
    there (``0`` = none) and the sample id in ID_2, which is then used.
    """
    path = require_file(path, "sample file")
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    if len(lines) < 2:
        raise InputError(f"{path}: an Oxford .sample file needs two header lines (names, types)")
    ncol = len(lines[0].split())
    ids = []
    for lineno, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if len(fields) != ncol:
            raise InputError(f"{path}:{lineno}: expected {ncol} columns like the header, found {len(fields)}")
        ids.append(fields[:2])
    use = 1 if ids and ncol > 1 and all(f[0] == "0" for f in ids) else 0
    return [f[use] for f in ids]


class BgenFile:
    """An open BGEN file (see module docstring). Use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | os.PathLike, sample_path: str | os.PathLike | None = None, samples: bool = True):
        """``samples=False``: skip the sample ids (``sample_ids`` is None), for reading variants only."""
        self.path = require_file(path, "BGEN file")
        self._fh = open(self.path, "rb")
        self.file_size = os.fstat(self._fh.fileno()).st_size
        if self.file_size == 0:
            self.close()
            raise InputError(f"{self.path}: empty file, not a BGEN file")
        try:
            self._read_header(sample_path, samples)
        except Exception:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self._fh.close()

    # -- header ------------------------------------------------------------------------------
    def read_bytes(self, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
        """File bytes ``start .. stop - 1`` as a uint8 array (InputError when the file is shorter),
        read into ``out`` (uint8, ``stop - start`` long) when given."""
        out = np.empty(max(stop - start, 0), dtype=np.uint8) if out is None else out
        self._fh.seek(start)
        if self._fh.readinto(memoryview(out)) != len(out):
            raise InputError(f"{self.path}: truncated file: bytes {start}-{stop} needed, file ends at byte "
                             f"{self.file_size}")
        return out

    def _bytes(self, offset: int, n: int, what: str) -> bytes:
        self._fh.seek(offset)
        data = self._fh.read(n)
        if len(data) != n:
            raise InputError(f"{self.path}: truncated file: {what} at byte {offset} needs {n} bytes, "
                             f"file ends at byte {self.file_size}")
        return data

    def _read_header(self, sample_path, samples: bool = True) -> None:
        first, header_len = struct.unpack("<II", self._bytes(0, 8, "header"))
        if header_len < 20:
            raise InputError(f"{self.path}: header length {header_len} < 20: not a BGEN file")
        header = self._bytes(4, header_len, "header block")
        self.n_variants, self.n_samples = struct.unpack_from("<II", header, 4)
        magic = header[12:16]
        if magic not in (b"bgen", b"\0\0\0\0"):
            raise InputError(f"{self.path}: magic bytes {magic!r} are not 'bgen': not a BGEN file")
        (flags,) = struct.unpack_from("<I", header, header_len - 4)
        self.compression = flags & 3
        self.layout = (flags >> 2) & 0xF
        has_ids = bool(flags >> 31)
        if self.compression not in COMPRESSION_NAMES or self.layout not in (1, 2):
            raise InputError(f"{self.path}: unsupported BGEN flags: compression {self.compression}, layout {self.layout}")
        if self.layout == 1 and self.compression == 2:
            raise InputError(f"{self.path}: zstd compression is not allowed with layout 1")
        self.first_variant_offset = first + 4
        file_ids = None
        if not samples:
            self.sample_ids, self.sample_source = None, None
            return
        if has_ids:
            block_len, n = struct.unpack("<II", self._bytes(4 + header_len, 8, "sample id block"))
            if n != self.n_samples:
                raise InputError(f"{self.path}: sample id block lists {n} samples, header says {self.n_samples}")
            raw = self._bytes(4 + header_len + 8, block_len - 8, "sample id block")
            file_ids, pos = [], 0
            for _ in range(n):
                (ln,) = struct.unpack_from("<H", raw, pos)
                file_ids.append(raw[pos + 2: pos + 2 + ln].decode())
                pos += 2 + ln
        if sample_path is not None:
            ids = read_sample_file(sample_path)
            if len(ids) != self.n_samples:
                raise InputError(f"{sample_path}: lists {len(ids)} samples but {self.path} holds {self.n_samples}")
            if file_ids is not None and file_ids != ids:
                raise InputError(f"{sample_path}: sample ids differ from those stored in {self.path}")
            self.sample_ids = ids
            self.sample_source = "sample-file"
        elif file_ids is not None:
            self.sample_ids = file_ids
            self.sample_source = "bgen"
        else:
            self.sample_ids = [f"sample_{i}" for i in range(self.n_samples)]
            self.sample_source = "generated"

    # -- variant offsets ---------------------------------------------------------------------
    def scan(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(byte offset, allele count, chromosome) of every variant, from the .bgi or a header walk."""
        if not hasattr(self, "_scan"):
            self._scan = self._scan_index() or self._scan_blocks()
        return self._scan

    def variant_offsets(self) -> np.ndarray:
        return self.scan()[0]

    def _scan_index(self):
        bgi = Path(str(self.path) + ".bgi")
        if not bgi.is_file():
            return None
        try:
            with sqlite3.connect(f"file:{bgi}?mode=ro", uri=True) as con:
                rows = con.execute("SELECT file_start_position, size_in_bytes, number_of_alleles, chromosome "
                                   "FROM Variant ORDER BY file_start_position").fetchall()
        except sqlite3.Error as exc:
            raise InputError(f"{bgi}: not a readable BGEN index: {exc}") from None
        if len(rows) != self.n_variants or (rows and (rows[0][0] != self.first_variant_offset
                                                       or rows[-1][0] + rows[-1][1] > self.file_size)):
            raise InputError(f"{bgi}: index does not match {self.path} ({len(rows)} variants indexed, "
                             f"{self.n_variants} in the file); rebuild it with `bgenix -index`")
        return (np.array([r[0] for r in rows], dtype=np.int64), np.array([r[2] for r in rows], dtype=np.int64),
                [r[3] for r in rows])

    def _scan_blocks(self):
        """Walk every block header (:func:`gwas.io.bgen.blocks.walk_headers` over the mapped file);
        a block the walk stops at is re-read the checked way, which names the fault."""
        data = np.memmap(self.path, dtype=np.uint8, mode="r")
        heads = np.empty((self.n_variants, blocks.N_FIELDS), dtype=np.int64)
        done = blocks.walk_headers(data, self.first_variant_offset, self.n_variants, self.layout, self.compression,
                                   self.n_samples, heads)
        if done < self.n_variants:
            self.check_block(done, int(heads[done, blocks.H_START]))
        at, length = heads[:, blocks.H_CHROM], heads[:, blocks.H_CHROM_LEN]
        same = np.zeros(len(at), dtype=bool)  # the chromosome's bytes equal the previous variant's
        width = int(length.max(initial=0))
        if len(at) > 1 and width <= 32:  # short names (all real ones): compared with NumPy
            cols = np.arange(width)
            name = np.where(cols < length[:, None], data[np.minimum(at[:, None] + cols, len(data) - 1)], 0)
            same[1:] = (length[1:] == length[:-1]) & (name[1:] == name[:-1]).all(axis=1)
        runs = np.flatnonzero(~same)
        text, names = memoryview(data), {}
        spans = heads[runs, blocks.H_CHROM:blocks.H_CHROM_LEN + 1].tolist()
        firsts = [names.get(key) or names.setdefault(key, str(key, "utf-8", "replace"))
                  for key in (text[a:a + n].tobytes() for a, n in spans)]
        chroms = np.repeat(np.array(firsts, dtype=object), np.diff(np.append(runs, len(at)))).tolist()
        return heads[:, blocks.H_START].copy(), heads[:, blocks.H_K].copy(), chroms

    def check_block(self, i: int, offset: int) -> None:
        """Read variant ``i`` at byte ``offset`` the checked way: raises InputError naming what is wrong
        with it, or, when nothing is, one saying its block differs from what was read before."""
        _, pos = self._variant_header(i, offset)
        self._data_end(i, pos)
        self.read(i, offset)
        raise InputError(f"{self.path}: variant {i} at byte {offset}: block differs from the earlier read of the "
                         "file (was the file changed meanwhile?)")

    # -- one variant -------------------------------------------------------------------------
    def _string(self, i: int, pos: int, width: int) -> tuple[str, int]:
        fmt = "<H" if width == 2 else "<I"
        (n,) = struct.unpack(fmt, self._bytes(pos, width, f"variant {i}: string length"))
        return self._bytes(pos + width, n, f"variant {i}: string").decode(errors="replace"), pos + width + n

    def _variant_header(self, i: int, pos: int):
        start = pos
        if self.layout == 1:
            (n,) = struct.unpack("<I", self._bytes(pos, 4, f"variant {i} header"))
            if n != self.n_samples:
                raise InputError(f"{self.path}: variant {i} at byte {start}: block says {n} samples, "
                                 f"header {self.n_samples} (corrupt block)")
            pos += 4
        vid, pos = self._string(i, pos, 2)
        rsid, pos = self._string(i, pos, 2)
        chrom, pos = self._string(i, pos, 2)
        (position,) = struct.unpack("<I", self._bytes(pos, 4, f"variant {i}: position"))
        pos += 4
        if self.layout == 1:
            k = 2
        else:
            (k,) = struct.unpack("<H", self._bytes(pos, 2, f"variant {i}: allele count"))
            pos += 2
            if k < 1:
                raise InputError(f"{self.path}: variant {i} at byte {start}: allele count 0 (corrupt block)")
        alleles = []
        for _ in range(k):
            a, pos = self._string(i, pos, 4)
            alleles.append(a)
        return (vid, rsid, chrom, position, alleles), pos

    def _data_end(self, i: int, pos: int) -> int:
        if self.layout == 1 and self.compression == 0:
            end = pos + 6 * self.n_samples
        else:
            (c,) = struct.unpack("<I", self._bytes(pos, 4, f"variant {i}: data length"))
            end = pos + 4 + c
        if end > self.file_size:
            raise InputError(f"{self.path}: variant {i} at byte {pos}: genotype data runs past the end of the "
                             f"file ({end} > {self.file_size} bytes): truncated file")
        return end

    def _decompress(self, i: int, pos: int, block_offset: int) -> tuple[bytes, int]:
        where = f"{self.path}: variant {i} at byte {block_offset}"
        if self.layout == 1:
            if self.compression == 0:
                n = 6 * self.n_samples
                return self._bytes(pos, n, f"variant {i}: genotype data"), pos + n
            (c,) = struct.unpack("<I", self._bytes(pos, 4, f"variant {i}: data length"))
            raw, expected, end = self._bytes(pos + 4, c, f"variant {i}: genotype data"), 6 * self.n_samples, pos + 4 + c
        else:
            (c,) = struct.unpack("<I", self._bytes(pos, 4, f"variant {i}: data length"))
            if self.compression == 0:
                return self._bytes(pos + 4, c, f"variant {i}: genotype data"), pos + 4 + c
            if c < 4:
                raise InputError(f"{where}: data length {c} too short (corrupt block)")
            (expected,) = struct.unpack("<I", self._bytes(pos + 4, 4, f"variant {i}: data length"))
            raw, end = self._bytes(pos + 8, c - 4, f"variant {i}: genotype data"), pos + 4 + c
        try:
            if self.compression == 1:
                data = zlib.decompress(raw)
            else:
                data = bytes(_zstd().decode(raw))
        except Exception as exc:  # zlib.error, RuntimeError from zstd
            raise InputError(f"{where}: cannot decompress genotype data ({exc}): corrupt block") from None
        if len(data) != expected:
            raise InputError(f"{where}: decompressed {len(data)} bytes, block header says {expected} (corrupt block)")
        return data, end

    def read_raw(self, i: int, offset: int):
        """((variant id, rsid, chrom, position, alleles), decompressed genotype data, end offset) of
        variant number ``i`` whose block starts at byte ``offset``."""
        header, pos = self._variant_header(i, offset)
        data, end = self._decompress(i, pos, offset)
        return header, data, end

    def read(self, i: int, offset: int) -> BgenVariant:
        """Decode variant number ``i`` whose block starts at byte ``offset``."""
        (vid, rsid, chrom, position, alleles), data, end = self.read_raw(i, offset)
        n = self.n_samples
        where = f"{self.path}: variant {i} at byte {offset}"
        if self.layout == 1:
            probs = np.empty((n, 3), dtype=np.float64)
            decode.decode_layout1(np.frombuffer(data, dtype="<u2").astype(np.float64), n, probs)
            missing = np.isnan(probs[:, 0])
            return BgenVariant(i, offset, end, vid, rsid, chrom, position, alleles,
                               np.full(n, 2, dtype=np.uint8), missing, False, 16, probs)
        buf = np.frombuffer(data, dtype=np.uint8)
        if len(buf) < 10 + n:
            raise InputError(f"{where}: probability block of {len(buf)} bytes is shorter than its preamble (corrupt block)")
        n_block, k = struct.unpack_from("<IH", data, 0)
        if n_block != n or k != len(alleles):
            raise InputError(f"{where}: probability block says {n_block} samples and {k} alleles, expected "
                             f"{n} and {len(alleles)} (corrupt block)")
        pmin, pmax = buf[6], buf[7]
        pbytes = buf[8: 8 + n]
        ploidy = (pbytes & 0x3F).astype(np.int64)
        missing = (pbytes & 0x80).astype(bool)
        phased, bits = int(buf[8 + n]), int(buf[9 + n])
        if phased not in (0, 1) or not 1 <= bits <= 32 or (n and (ploidy.min() < pmin or ploidy.max() > pmax)):
            raise InputError(f"{where}: invalid probability block (phased={phased}, bits={bits}, ploidy range "
                             f"{pmin}-{pmax}) (corrupt block)")
        _, _, n_comb = count_tables(int(pmax), k)
        per_sample = ploidy * (k - 1) if phased else n_comb[ploidy] - 1
        needed_bits = int(per_sample.sum()) * bits
        if 10 + n + (needed_bits + 7) // 8 > len(buf):
            raise InputError(f"{where}: probability block holds {len(buf) - 10 - n} bytes of values, "
                             f"{(needed_bits + 7) // 8} needed (truncated or corrupt block)")
        width = int(pmax) * k if phased else int(n_comb[pmax])
        probs = np.empty((n, max(width, 1)), dtype=np.float64)
        decode.decode_layout2(buf[10 + n:], n, k, ploidy, missing, bool(phased), bits, n_comb, probs)
        return BgenVariant(i, offset, end, vid, rsid, chrom, position, alleles, ploidy.astype(np.uint8),
                           missing, bool(phased), bits, probs)

    def iter_range(self, start: int, stop: int):
        """Decode variants ``start`` .. ``stop - 1`` (indexes into :meth:`variant_offsets`)."""
        offsets = self.variant_offsets()
        for i in range(start, stop):
            yield self.read(i, int(offsets[i]))


def ref_last(v: BgenVariant) -> BgenVariant:
    """``v`` read from a ``ref-last`` file: its last allele (REF) moved first, the others after it
    in their order (biallelic: the two swapped), and its probabilities permuted to match - unphased:
    each sample's genotypes for its own ploidy (a haploid sample's two, a diploid's three reversed
    when biallelic), phased: each haplotype's K. A one-allele variant is returned as it is."""
    k = len(v.alleles)
    if k < 2:
        return v
    perm = np.array([k - 1, *range(k - 1)])  # new allele j is old allele perm[j]
    probs = np.full_like(v.probs, np.nan)
    if v.phased:
        h = np.arange(v.probs.shape[1] // k)[:, None] * k
        probs[:] = v.probs[:, (h + perm[None, :]).ravel()]
    else:
        for z in np.unique(v.ploidy).tolist():
            old = genotype_allele_counts(z, k)
            row = {tuple(c): r for r, c in enumerate(old.tolist())}
            src = np.array([row[tuple(c)] for c in old[:, np.argsort(perm)].tolist()], dtype=np.int64)
            take = np.flatnonzero(v.ploidy == z)
            probs[np.ix_(take, np.arange(len(src)))] = v.probs[np.ix_(take, src)]
    return BgenVariant(v.index, v.offset, v.next_offset, v.variant_id, v.rsid, v.chrom, v.position,
                       [v.alleles[j] for j in perm], v.ploidy, v.missing, v.phased, v.bits, probs)


def alt_dosages(v: BgenVariant) -> np.ndarray:
    """(N, K-1) float64 expected count of each non-reference allele (NaN for missing samples)."""
    k = len(v.alleles)
    out = np.empty((v.probs.shape[0], max(k - 1, 0)), dtype=np.float64)
    if k < 2:
        return out
    counts, offsets, _ = count_tables(int(v.ploidy.max()) if len(v.ploidy) else 0, k)
    decode.allele_dosages(v.probs, v.ploidy.astype(np.int64), v.phased, k, counts, offsets, out)
    return out
