"""BGZF (blocked gzip, as written by bgzip/htslib) read in bulk: many blocks per call, inflated on
threads by a kernel calling zlib without the GIL (:mod:`gwas.io.bgzf_kernel`).

A BGZF file is a series of gzip members ("blocks") of at most 64 KiB each, whose gzip header
carries the block's compressed size in a ``BC`` extra subfield (SAM/BAM specification, section 4.1).
Positions here are offsets in the whole uncompressed stream.

:func:`is_bgzf` recognises the format; :func:`iter_batches` inflates a whole file in order, in
batches, telling each block's file offset and where its data starts in the uncompressed stream;
:func:`read_span` returns any span of the uncompressed stream from those two tables. Every structural problem raises
:class:`hubscan.errors.InputError` naming the file and the block's byte offset.
"""

from __future__ import annotations

import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from gwas.io import bgzf_kernel, inflate
from hubscan.errors import InputError

#: compressed bytes read per batch (a batch is inflated on the threads together)
BATCH_BYTES = 8 << 20
_MAX_BLOCK = 1 << 16


def is_bgzf(path: str | os.PathLike) -> bool:
    """True when ``path`` starts with a gzip member carrying the BGZF ``BC`` block-size subfield."""
    with open(path, "rb") as fh:
        head = fh.read(_MAX_BLOCK)
    return _block_size(head, 0) is not None


def _block_size(data, at: int) -> int | None:
    """Total size in bytes of the BGZF block starting at ``data[at]``, or None when it is not one."""
    if len(data) - at < 18 or data[at] != 0x1F or data[at + 1] != 0x8B or data[at + 2] != 8 or not data[at + 3] & 4:
        return None
    (xlen,) = struct.unpack_from("<H", data, at + 10)
    p, end = at + 12, at + 12 + xlen
    if end > len(data):
        return None
    while p + 4 <= end:
        (slen,) = struct.unpack_from("<H", data, p + 2)
        if data[p] == 66 and data[p + 1] == 67 and slen == 2:
            return struct.unpack_from("<H", data, p + 4)[0] + 1
        p += 4 + slen
    return None


def _split_blocks(path, data, base: int, final: bool) -> tuple[list[tuple[int, int, int]], int]:
    """Blocks wholly inside ``data`` (file bytes from offset ``base``): [(file offset, start, size)]
    and the number of bytes they cover. With ``final`` the data must end on a block boundary."""
    blocks, at = [], 0
    while at < len(data):
        size = _block_size(data, at)
        if size is None:
            if len(data) - at < 18 + 256 and not final:  # header cut by the batch end: next batch
                break
            raise InputError(f"{path}: byte {base + at} does not start a BGZF block (not bgzipped, or corrupt)")
        if at + size > len(data):
            if final:
                raise InputError(f"{path}: BGZF block at byte {base + at} runs past the end of the file "
                                 "(truncated file)")
            break
        blocks.append((base + at, at, size))
        at += size
    return blocks, at


def _sizes(data, blocks) -> np.ndarray:
    """Uncompressed size of each block, from its ISIZE trailer."""
    return np.array([struct.unpack_from("<I", data, at + size - 4)[0] for _, at, size in blocks], dtype=np.int64)


def _inflate_into(path, data, blocks, out: np.ndarray, starts: np.ndarray) -> None:
    """Inflate each block into ``out[starts[k]:]`` (its ISIZE bytes), many per kernel call
    (:func:`gwas.io.bgzf_kernel.inflate_blocks`); a block it refuses is inflated the checked way."""
    if not blocks:
        return
    table = np.array(blocks, dtype=np.int64)
    bad = bgzf_kernel.inflate_blocks(np.frombuffer(data, dtype=np.uint8), table[:, 1], table[:, 2], out,
                                     np.asarray(starts, dtype=np.int64), inflate.functions())
    if bad >= 0:
        _inflate_checked(path, data, blocks[bad], out, int(starts[bad]))
        raise InputError(f"{path}: BGZF block at byte {blocks[bad][0]}: cannot inflate (corrupt file)")


def _inflate_checked(path, data, block, out: np.ndarray, u: int) -> None:
    """Inflate one block with Python's zlib into ``out[u:]``; InputError naming what is wrong with it
    (deflate data, ISIZE or CRC32)."""
    offset, at, size = block
    (xlen,) = struct.unpack_from("<H", data, at + 10)
    crc, isize = struct.unpack_from("<II", data, at + size - 8)
    try:
        raw = zlib.decompress(memoryview(data)[at + 12 + xlen: at + size - 8], -15)
    except zlib.error as exc:
        raise InputError(f"{path}: BGZF block at byte {offset}: cannot inflate ({exc}): corrupt file") from None
    if len(raw) != isize:
        raise InputError(f"{path}: BGZF block at byte {offset}: inflated {len(raw)} bytes, its trailer says "
                         f"{isize} (corrupt file)")
    if (got := zlib.crc32(raw)) != crc:
        raise InputError(f"{path}: BGZF block at byte {offset}: CRC mismatch (the inflated data's CRC32 is "
                         f"{got:08x}, its trailer says {crc:08x}): corrupt file")
    out[u:u + isize] = np.frombuffer(raw, dtype=np.uint8)


def _inflate_all(path, data, blocks, out: np.ndarray, pool: ThreadPoolExecutor | None) -> tuple[int, np.ndarray]:
    """Inflate ``blocks`` one after another into ``out`` (replaced by a larger buffer when short; on
    the pool's threads in contiguous shares); returns (bytes written, the buffer)."""
    sizes = _sizes(data, blocks)
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    if len(out) < starts[-1]:
        out = np.empty(int(starts[-1]), dtype=np.uint8)
    if pool is None or len(blocks) < 8:
        _inflate_into(path, data, blocks, out, starts)
    else:
        k = pool._max_workers
        cut = [len(blocks) * i // k for i in range(k + 1)]
        def share(i):
            _inflate_into(path, data, blocks[cut[i]:cut[i + 1]], out, starts[cut[i]:cut[i + 1]])

        for _ in pool.map(share, range(k)):
            pass
    return int(starts[-1]), out


def iter_batches(path: str | os.PathLike, threads: int = 1):
    """Yield (uncompressed bytes as a uint8 array, block file offsets int64, block starts int64) per
    batch of whole blocks, in file order; block starts are offsets in the whole uncompressed stream.
    The array is reused: it is valid until the next batch is asked for."""
    size = os.path.getsize(path)
    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    buf = np.empty(0, dtype=np.uint8)
    raw = np.empty(BATCH_BYTES + 2 * _MAX_BLOCK, dtype=np.uint8)  # reused (fresh memory costs page faults):
    try:                                                          # the bytes left over, then the next read
        with open(path, "rb") as fh:
            base, ustart, pending = 0, 0, 0
            while True:
                got = fh.readinto(memoryview(raw)[pending:pending + BATCH_BYTES])
                data = memoryview(raw)[:pending + got]
                final = base + len(data) >= size
                blocks, used = _split_blocks(path, data, base, final)
                n, buf = _inflate_all(path, data, blocks, buf, pool)
                if blocks:
                    starts = ustart + np.concatenate([[0], np.cumsum(_sizes(data, blocks))[:-1]]).astype(np.int64)
                    yield buf[:n], np.array([b[0] for b in blocks], dtype=np.int64), starts
                ustart += n
                base, pending = base + used, len(data) - used
                if final:
                    return
                if not got:
                    raise InputError(f"{path}: BGZF data ends inside a block at byte {base} (truncated file)")
                if pending > _MAX_BLOCK:
                    raise InputError(f"{path}: byte {base} does not start a BGZF block (not bgzipped, or corrupt)")
                raw[:pending] = raw[used:used + pending]
    finally:
        if pool is not None:
            pool.shutdown()


def read_span(path: str | os.PathLike, block_offsets: np.ndarray, block_starts: np.ndarray, u0: int, u1: int,
              out: np.ndarray | None = None) -> np.ndarray:
    """Bytes ``u0 .. u1 - 1`` of the uncompressed stream as a uint8 array, given every block's file
    offset and uncompressed start (as :func:`iter_batches` reports them for the whole file). ``out``
    (grown when too short) is a buffer to reuse: the result may be a view of it."""
    out = np.empty(0, dtype=np.uint8) if out is None else out
    if u1 <= u0:
        return out[:0]
    k0 = int(np.searchsorted(block_starts, u0, side="right")) - 1
    k1 = int(np.searchsorted(block_starts, u1, side="left"))  # blocks k0 .. k1 - 1 hold the span
    c0 = int(block_offsets[k0])
    c1 = int(block_offsets[k1]) if k1 < len(block_offsets) else os.path.getsize(path)
    with open(path, "rb") as fh:
        fh.seek(c0)
        data = fh.read(c1 - c0)
    blocks, used = _split_blocks(path, data, c0, final=True)
    if used != c1 - c0 or [b[0] for b in blocks] != [int(o) for o in block_offsets[k0:k1]]:
        raise InputError(f"{path}: BGZF blocks from byte {c0} differ from the planning pass (was the file "
                         "changed after planning?)")
    n, out = _inflate_all(path, data, blocks, out, None)
    a = u0 - int(block_starts[k0])
    if a + (u1 - u0) > n:
        raise InputError(f"{path}: uncompressed data ends before byte {u1} (was the file changed after planning?)")
    return out[a: a + (u1 - u0)]
