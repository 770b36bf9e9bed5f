"""Numba kernel inflating many BGZF blocks in one call without the GIL (libdeflate's raw deflate
decompressor and CRC-32 through :mod:`gwas.io.inflate`); a plain function under ``numba.njit``
(``.py_func`` runs it as Python). Block layout: SAM/BAM specification section 4.1 (gzip member:
12-byte header + XLEN extra bytes, raw deflate data, CRC32 and ISIZE trailer of 4 bytes each,
little-endian)."""

import numba
import numpy as np
from numba.extending import register_jitable

from gwas.io import inflate


@register_jitable
def _u32(data, e):
    """The little-endian uint32 at ``data[e]``, as int64 (plain Python outside a kernel)."""
    return (np.int64(data[e]) | (np.int64(data[e + 1]) << 8) | (np.int64(data[e + 2]) << 16)
            | (np.int64(data[e + 3]) << 24))


@numba.njit(cache=True, nogil=True)
def inflate_blocks(data, at, size, out, starts, fns):
    """Inflate the block at ``data[at[k]]`` (``size[k]`` bytes) into ``out[starts[k]:]`` (its ISIZE
    bytes) for every k, with one libdeflate decompressor for the call. Returns -1, or the index of
    the first block that is corrupt, inflates to another size than its ISIZE, fails its CRC32 or
    overflows ``out`` (the caller re-reads it the checked way, which names the fault)."""
    d = inflate.decompressor(fns)
    if d == 0:
        raise MemoryError("libdeflate: cannot allocate a decompressor")
    base_in = data.ctypes.data
    base_out = out.ctypes.data
    bad = -1
    for k in range(len(at)):
        a, n = at[k], size[k]
        xlen = np.int64(data[a + 10]) | (np.int64(data[a + 11]) << 8)
        crc, isize = _u32(data, a + n - 8), _u32(data, a + n - 4)
        src_len = n - 20 - xlen
        if (src_len < 0 or starts[k] + isize > len(out)
                or not inflate.inflate_raw(fns, d, base_in + a + 12 + xlen, src_len, base_out + starts[k], isize)
                or inflate.crc32(fns, base_out + starts[k], isize) != crc):
            bad = k
            break
    inflate.free_decompressor(fns, d)
    return bad
