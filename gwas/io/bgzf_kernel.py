"""Numba kernel inflating many BGZF blocks in one call without the GIL (zlib's raw inflate through
:mod:`gwas.io.inflate`); a plain function under ``numba.njit`` (``.py_func`` runs it as Python).
Block layout: SAM/BAM specification section 4.1 (gzip member: 12-byte header + XLEN extra bytes,
raw deflate data, CRC32 and ISIZE trailer of 4 bytes each)."""

import numba
import numpy as np

from gwas.io import inflate


@numba.njit(cache=True, nogil=True)
def inflate_blocks(data, at, size, out, starts, fns, stream):
    """Inflate the block at ``data[at[k]]`` (``size[k]`` bytes) into ``out[starts[k]:]`` (its ISIZE
    bytes) for every k, with the raw stream ``stream`` (:func:`gwas.io.inflate.raw_stream`). Returns
    -1, or the index of the first block that is corrupt, inflates to another size or overflows
    ``out`` (the caller re-reads it the checked way, which names the fault)."""
    base_in = data.ctypes.data
    base_out = out.ctypes.data
    for k in range(len(at)):
        a, n = at[k], size[k]
        xlen = np.int64(data[a + 10]) | (np.int64(data[a + 11]) << 8)
        e = a + n - 4
        isize = (np.int64(data[e]) | (np.int64(data[e + 1]) << 8) | (np.int64(data[e + 2]) << 16)
                 | (np.int64(data[e + 3]) << 24))
        src_len = n - 20 - xlen
        if src_len < 0 or starts[k] + isize > len(out):
            return k
        if not inflate.inflate_raw(fns, stream, base_in + a + 12 + xlen, src_len, base_out + starts[k], isize):
            return k
    return -1
