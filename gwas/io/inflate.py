"""zlib and zstd decompression callable from Numba kernels (and from plain Python), so a kernel can
inflate many blocks without the GIL and without a Python call per block.

The C functions come from libraries the project already loads: zlib streams (BGEN blocks) are
inflated by libdeflate (``libdeflate_zlib_decompress``, which checks the Adler-32; exported by the
``deflate`` package's extension; about 3x zlib's speed on 8-bit BGEN blocks), raw deflate (BGZF
blocks) by zlib's ``inflate`` from the library Python's own ``zlib`` module is linked with (found
through that module's shared object), zstd by ``ZSTD_decompress`` / ``ZSTD_isError`` from
numcodecs' zstd extension, which exports them.
Kernels receive the function addresses as an int64 array (:func:`functions`), not as ctypes
globals, so Numba can cache them. LP64 platforms (Linux, macOS): ``uLong`` and ``size_t`` are 64-bit.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import zlib
from functools import cache

import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic, overload

#: indexes into :func:`functions` (ZLIB_VERSION: the address of zlib's version string)
ZLIB_DECOMPRESS, ZSTD_DECOMPRESS, ZSTD_IS_ERROR = 0, 1, 2
INFLATE_INIT2, INFLATE, INFLATE_RESET, INFLATE_END, ZLIB_VERSION = 3, 4, 5, 6, 7
DEFLATE_ALLOC, DEFLATE_FREE = 8, 9
#: zlib's z_stream on LP64 platforms: 112 bytes; int64 words of the fields used (next_in, avail_in,
#: next_out, avail_out, total_out)
Z_STREAM_WORDS, Z_NEXT_IN, Z_AVAIL_IN, Z_NEXT_OUT, Z_AVAIL_OUT, Z_TOTAL_OUT = 14, 0, 1, 3, 4, 5
#: BGEN compression codes (flags bits 0-1)
NONE, ZLIB, ZSTD = 0, 1, 2


def _symbol(lib: ctypes.CDLL, name: str) -> int:
    return ctypes.cast(getattr(lib, name), ctypes.c_void_p).value


@cache
def functions() -> np.ndarray:
    """int64 addresses of the C functions (and zlib's version string) at the indexes above."""
    path = getattr(zlib, "__file__", None) or ctypes.util.find_library("z")  # zlib built into Python: libz
    libz = ctypes.CDLL(path)
    import deflate._deflate
    import numcodecs.zstd

    libzstd = ctypes.CDLL(numcodecs.zstd.__file__)
    libdeflate = ctypes.CDLL(deflate._deflate.__file__)
    version = libz.zlibVersion
    version.restype = ctypes.c_void_p
    return np.array([_symbol(libdeflate, "libdeflate_zlib_decompress"), _symbol(libzstd, "ZSTD_decompress"),
                     _symbol(libzstd, "ZSTD_isError"), _symbol(libz, "inflateInit2_"), _symbol(libz, "inflate"),
                     _symbol(libz, "inflateReset"), _symbol(libz, "inflateEnd"), version(),
                     _symbol(libdeflate, "libdeflate_alloc_decompressor"),
                     _symbol(libdeflate, "libdeflate_free_decompressor")], dtype=np.int64)


def _c_call(fn: int, ret, args: tuple):
    proto = ctypes.CFUNCTYPE(ret, *[ctypes.c_uint64] * len(args))
    return proto(int(fn))(*[int(a) for a in args])


def _codegen(ret_bits: int):
    """Lowering of a call to the C function at address args[0] with the other arguments as 64-bit
    integers/pointers, returning a ``ret_bits``-bit integer (32: int, 64: size_t or a pointer;
    0: nothing)."""
    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        fnty = ir.FunctionType(ir.IntType(ret_bits) if ret_bits else ir.VoidType(), [i64] * (len(args) - 1))
        ptr = builder.inttoptr(args[0], fnty.as_pointer())
        got = builder.call(ptr, [context.cast(builder, v, t, types.int64)
                                 for v, t in zip(args[1:], signature.args[1:])])
        return got if ret_bits else context.get_dummy_value()

    return codegen


@intrinsic
def _call_size4(typingctx, fn, a, b, c, d):
    return types.uint64(fn, a, b, c, d), _codegen(64)


@intrinsic
def _call_int6(typingctx, fn, a, b, c, d, e, f):
    return types.int32(fn, a, b, c, d, e, f), _codegen(32)


@intrinsic
def _call_ptr0(typingctx, fn):
    return types.int64(fn), _codegen(64)


@intrinsic
def _call_void1(typingctx, fn, a):
    return types.none(fn, a), _codegen(0)


@intrinsic
def _call_int1(typingctx, fn, a):
    return types.int32(fn, a), _codegen(32)


@intrinsic
def _call_int2(typingctx, fn, a, b):
    return types.int32(fn, a, b), _codegen(32)


def decompress(fns, method: int, src_ptr: int, src_len: int, dst_ptr: int, dst_len: int) -> bool:
    """Decompress ``src_len`` bytes at address ``src_ptr`` (``method`` ZLIB or ZSTD) into exactly
    ``dst_len`` bytes at ``dst_ptr``; False when the data are corrupt (a zlib stream's Adler-32
    included), inflate to another length, or (ZLIB) no decompressor could be allocated."""
    if method == ZLIB:
        d = _c_call(fns[DEFLATE_ALLOC], ctypes.c_uint64, ())
        if not d:
            return False
        rc = _c_call(fns[ZLIB_DECOMPRESS], ctypes.c_int, (d, src_ptr, src_len, dst_ptr, dst_len, 0))
        _c_call(fns[DEFLATE_FREE], None, (d,))
        return rc == 0  # no actual-length pointer given: 0 only for exactly dst_len bytes
    got = _c_call(fns[ZSTD_DECOMPRESS], ctypes.c_size_t, (dst_ptr, dst_len, src_ptr, src_len))
    return not _c_call(fns[ZSTD_IS_ERROR], ctypes.c_uint, (got,)) and got == dst_len


@overload(decompress, jit_options={"nogil": True})
def _decompress_jit(fns, method, src_ptr, src_len, dst_ptr, dst_len):
    def impl(fns, method, src_ptr, src_len, dst_ptr, dst_len):
        if method == ZLIB:  # a decompressor per call: a small allocation next to the inflation
            d = _call_ptr0(fns[DEFLATE_ALLOC])
            if d == 0:
                return False
            rc = _call_int6(fns[ZLIB_DECOMPRESS], d, src_ptr, src_len, dst_ptr, dst_len, 0)
            _call_void1(fns[DEFLATE_FREE], d)
            return rc == 0
        got = _call_size4(fns[ZSTD_DECOMPRESS], dst_ptr, dst_len, src_ptr, src_len)
        return _call_int1(fns[ZSTD_IS_ERROR], got) == 0 and got == dst_len

    return impl


def raw_stream(fns) -> np.ndarray:
    """A zlib stream for raw deflate data (no header; BGZF blocks): int64 (Z_STREAM_WORDS,) words;
    release it with :func:`end_raw`."""
    stream = np.zeros(Z_STREAM_WORDS, dtype=np.int64)
    if _c_call(fns[INFLATE_INIT2], ctypes.c_int, (stream.ctypes.data, 2**64 - 15, fns[ZLIB_VERSION], 112)) != 0:
        raise MemoryError("zlib inflateInit2 failed")
    return stream


def end_raw(fns, stream: np.ndarray) -> None:
    """Release a stream made by :func:`raw_stream`."""
    _c_call(fns[INFLATE_END], ctypes.c_int, (stream.ctypes.data,))


def inflate_raw(fns, stream, src_ptr: int, src_len: int, dst_ptr: int, dst_len: int) -> bool:
    """Inflate raw deflate data at ``src_ptr`` into exactly ``dst_len`` bytes at ``dst_ptr`` with
    ``stream`` (:func:`raw_stream`); False when the data are corrupt, end early or inflate to more."""
    _c_call(fns[INFLATE_RESET], ctypes.c_int, (stream.ctypes.data,))
    stream[Z_NEXT_IN], stream[Z_AVAIL_IN], stream[Z_NEXT_OUT], stream[Z_AVAIL_OUT] = src_ptr, src_len, dst_ptr, dst_len
    rc = _c_call(fns[INFLATE], ctypes.c_int, (stream.ctypes.data, 4))  # Z_FINISH
    return rc == 1 and stream[Z_TOTAL_OUT] == dst_len  # Z_STREAM_END


@overload(inflate_raw, jit_options={"nogil": True})
def _inflate_raw_jit(fns, stream, src_ptr, src_len, dst_ptr, dst_len):
    def impl(fns, stream, src_ptr, src_len, dst_ptr, dst_len):
        _call_int1(fns[INFLATE_RESET], stream.ctypes.data)
        stream[Z_NEXT_IN] = src_ptr
        stream[Z_AVAIL_IN] = src_len
        stream[Z_NEXT_OUT] = dst_ptr
        stream[Z_AVAIL_OUT] = dst_len
        rc = _call_int2(fns[INFLATE], stream.ctypes.data, 4)
        return rc == 1 and stream[Z_TOTAL_OUT] == dst_len

    return impl
