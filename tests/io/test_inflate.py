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
            if method == inflate.ZLIB:  # deflate data intact, the Adler-32 trailer wrong
                checksum = src.copy()
                checksum[-1] ^= 1
                assert not fn(inflate.functions(), method, checksum, dst)


def test_bgzf_kernel_equals_python_inflate(tmp_path):
    from gwas.io import bgzf, bgzf_kernel
    from gwas.io.vcf.writer import BgzfWriter

    rng = np.random.default_rng(4)
    text = b"".join(b"%d\t%s\n" % (i, rng.integers(0, 3, int(rng.integers(1, 900))).tobytes()) for i in range(4000))
    with BgzfWriter(tmp_path / "t.gz", 1) as w:
        w.write(text)
    data = (tmp_path / "t.gz").read_bytes()
    blocks, _ = bgzf._split_blocks("t.gz", data, 0, True)
    assert len(blocks) > 10
    starts = np.concatenate([[0], np.cumsum(bgzf._sizes(data, blocks))]).astype(np.int64)
    table = np.array(blocks, dtype=np.int64)
    buf = np.frombuffer(data, dtype=np.uint8)
    fns = inflate.functions()
    crc_at = table[3, 1] + table[3, 2] - 8  # the fourth block's CRC32, then its ISIZE
    for fn in (bgzf_kernel.inflate_blocks, bgzf_kernel.inflate_blocks.py_func):
        out = np.zeros(starts[-1], np.uint8)
        assert fn(buf, table[:, 1], table[:, 2], out, starts, fns) == -1
        assert out.tobytes() == text
        bad = buf.copy()
        bad[table[3, 1] + 30: table[3, 1] + 60] ^= 0x77  # inside the fourth block's deflate data
        assert fn(bad, table[:, 1], table[:, 2], out, starts, fns) == 3
        for at, flip in ((crc_at, 1), (crc_at + 3, 0x80), (crc_at + 4, 1)):  # CRC32 low/high byte, ISIZE
            bad = buf.copy()
            bad[at] ^= flip
            assert fn(bad, table[:, 1], table[:, 2], out, starts, fns) == 3
        assert fn(buf, table[:, 1], table[:, 2], out[:-1], starts, fns) == len(blocks) - 2  # no room


def test_raw_inflate_and_crc32():
    data = np.random.default_rng(5).integers(0, 4, 70000).astype(np.uint8).tobytes()
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    src = np.frombuffer(packer.compress(data) + packer.flush() + b"tail", dtype=np.uint8)  # after the end: ignored
    fns = inflate.functions()
    assert inflate.crc32(fns, src.ctypes.data, len(src)) == zlib.crc32(src.tobytes())
    assert inflate.crc32(fns, src.ctypes.data, 0) == 0
    d = inflate.decompressor(fns)
    dst = np.zeros(len(data) + 1, np.uint8)
    assert inflate.inflate_raw(fns, d, src.ctypes.data, len(src), dst.ctypes.data, len(data))
    assert dst[:-1].tobytes() == data
    assert not inflate.inflate_raw(fns, d, src.ctypes.data, len(src), dst.ctypes.data, len(data) + 1)  # short
    assert not inflate.inflate_raw(fns, d, src.ctypes.data, len(src), dst.ctypes.data, len(data) - 1)  # no room
    assert not inflate.inflate_raw(fns, d, src.ctypes.data, len(src) // 2, dst.ctypes.data, len(data))  # cut
    inflate.free_decompressor(fns, d)
