"""Decompression through the C libraries from Numba kernels and plain Python
(:mod:`gwas.io.inflate`) against Python's own zlib and numcodecs' zstd."""

import zlib

import numba
import numcodecs
import numpy as np

from gwas.io import inflate


@numba.njit(cache=True)
def _decompress(fns, method, src, dst):
    return inflate.decompress(fns, method, src.ctypes.data, len(src), dst.ctypes.data, len(dst))


def test_decompress_through_c_libraries():
    data = np.random.default_rng(3).integers(0, 4, 5000).astype(np.uint8).tobytes()
    for method, packed in ((inflate.ZLIB, zlib.compress(data)), (inflate.ZSTD, bytes(numcodecs.Zstd(3).encode(data)))):
        src = np.frombuffer(packed, dtype=np.uint8)
        python = zlib.decompress(packed) if method == inflate.ZLIB else bytes(numcodecs.Zstd().decode(packed))
        assert python == data
        for fn in (_decompress, _decompress.py_func):
            dst = np.zeros(len(data), np.uint8)
            assert fn(inflate.functions(), method, src, dst) and dst.tobytes() == data
            assert not fn(inflate.functions(), method, src, np.zeros(len(data) - 1, np.uint8))  # another length
            assert not fn(inflate.functions(), method, src[:-7].copy(), dst)  # truncated stream
            garbled = src.copy()
            garbled[len(src) // 2:] ^= 0x5A
            assert not fn(inflate.functions(), method, garbled, dst)

