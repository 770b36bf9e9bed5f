"""zlib, raw deflate and zstd decompression (and CRC-32) callable from Numba kernels and from plain
Python, so a kernel can inflate many blocks without the GIL and without a Python call per block.

The C functions come from libraries the project already loads: libdeflate (exported by the
``deflate`` package's extension) inflates zlib streams (BGEN blocks; ``libdeflate_zlib_decompress``,
which checks the Adler-32; about 3x zlib's speed on 8-bit BGEN blocks) and raw deflate data (BGZF
blocks; ``libdeflate_deflate_decompress``, whose gzip CRC-32 the caller checks with
``libdeflate_crc32``: about 0.5 CPU ns per inflated byte of a bgzipped VCF, CRC included, where
zlib's ``inflate`` took 1.4); zstd by ``ZSTD_decompress`` / ``ZSTD_isError`` from numcodecs' zstd
extension, which exports them. A libdeflate decompressor serves one thread at a time: each call
or kernel allocates its own.
Kernels receive the function addresses as an int64 array (:func:`functions`), not as ctypes
globals, so Numba can cache them. LP64 platforms (Linux, macOS): ``size_t`` is 64-bit.
"""

from __future__ import annotations

import ctypes
from functools import cache

import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic, overload

#: indexes into :func:`functions`
ZLIB_DECOMPRESS, ZSTD_DECOMPRESS, ZSTD_IS_ERROR, DEFLATE_ALLOC, DEFLATE_FREE, RAW_DECOMPRESS, CRC32 = range(7)
#: BGEN compression codes (flags bits 0-1)
NONE, ZLIB, ZSTD = 0, 1, 2


def _symbol(lib: ctypes.CDLL, name: str) -> int:
    return ctypes.cast(getattr(lib, name), ctypes.c_void_p).value


@cache
def functions() -> np.ndarray:
    """int64 addresses of the C functions at the indexes above."""
    import deflate._deflate
    import numcodecs.zstd

    libzstd = ctypes.CDLL(numcodecs.zstd.__file__)
    libdeflate = ctypes.CDLL(deflate._deflate.__file__)
    return np.array([_symbol(libdeflate, "libdeflate_zlib_decompress"), _symbol(libzstd, "ZSTD_decompress"),
                     _symbol(libzstd, "ZSTD_isError"), _symbol(libdeflate, "libdeflate_alloc_decompressor"),
                     _symbol(libdeflate, "libdeflate_free_decompressor"),
                     _symbol(libdeflate, "libdeflate_deflate_decompress"), _symbol(libdeflate, "libdeflate_crc32")],
                    dtype=np.int64)


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
def _call_u32_3(typingctx, fn, a, b, c):
    return types.uint32(fn, a, b, c), _codegen(32)


def decompressor(fns) -> int:
    """The address of a new libdeflate decompressor (one thread's at a time; release it with
    :func:`free_decompressor`), 0 when it cannot be allocated."""
    return _c_call(fns[DEFLATE_ALLOC], ctypes.c_uint64, ())


def free_decompressor(fns, d: int) -> None:
    """Release a decompressor made by :func:`decompressor`."""
    _c_call(fns[DEFLATE_FREE], None, (d,))


@overload(decompressor, jit_options={"nogil": True})
def _decompressor_jit(fns):
    return lambda fns: _call_ptr0(fns[DEFLATE_ALLOC])


@overload(free_decompressor, jit_options={"nogil": True})
def _free_decompressor_jit(fns, d):
    return lambda fns, d: _call_void1(fns[DEFLATE_FREE], d)


def decompress(fns, method: int, src_ptr: int, src_len: int, dst_ptr: int, dst_len: int) -> bool:
    """Decompress ``src_len`` bytes at address ``src_ptr`` (``method`` ZLIB or ZSTD) into exactly
    ``dst_len`` bytes at ``dst_ptr``; False when the data are corrupt (a zlib stream's Adler-32
    included), inflate to another length, or (ZLIB) no decompressor could be allocated."""
    if method == ZLIB:
        d = decompressor(fns)
        if not d:
            return False
        rc = _c_call(fns[ZLIB_DECOMPRESS], ctypes.c_int, (d, src_ptr, src_len, dst_ptr, dst_len, 0))
        free_decompressor(fns, d)
        return rc == 0  # no actual-length pointer given: 0 only for exactly dst_len bytes
    got = _c_call(fns[ZSTD_DECOMPRESS], ctypes.c_size_t, (dst_ptr, dst_len, src_ptr, src_len))
    return not _c_call(fns[ZSTD_IS_ERROR], ctypes.c_uint, (got,)) and got == dst_len


@overload(decompress, jit_options={"nogil": True})
def _decompress_jit(fns, method, src_ptr, src_len, dst_ptr, dst_len):
    def impl(fns, method, src_ptr, src_len, dst_ptr, dst_len):
        if method == ZLIB:  # a decompressor per call: a small allocation next to the inflation
            d = decompressor(fns)
            if d == 0:
                return False
            rc = _call_int6(fns[ZLIB_DECOMPRESS], d, src_ptr, src_len, dst_ptr, dst_len, 0)
            free_decompressor(fns, d)
            return rc == 0
        got = _call_size4(fns[ZSTD_DECOMPRESS], dst_ptr, dst_len, src_ptr, src_len)
        return _call_int1(fns[ZSTD_IS_ERROR], got) == 0 and got == dst_len

    return impl


def inflate_raw(fns, d: int, src_ptr: int, src_len: int, dst_ptr: int, dst_len: int) -> bool:
    """Inflate raw deflate data (no header or trailer: a BGZF block's) at ``src_ptr`` into exactly
    ``dst_len`` bytes at ``dst_ptr`` with the decompressor ``d`` (:func:`decompressor`); False when
    the data are corrupt or inflate to another length. Bytes after the deflate stream's end are ignored."""
    return _c_call(fns[RAW_DECOMPRESS], ctypes.c_int, (d, src_ptr, src_len, dst_ptr, dst_len, 0)) == 0


def crc32(fns, ptr: int, n: int) -> int:
    """The gzip CRC-32 (uint32, as in a gzip/BGZF trailer) of ``n`` bytes at address ``ptr``."""
    return _c_call(fns[CRC32], ctypes.c_uint32, (0, ptr, n))


@overload(inflate_raw, jit_options={"nogil": True})
def _inflate_raw_jit(fns, d, src_ptr, src_len, dst_ptr, dst_len):
    def impl(fns, d, src_ptr, src_len, dst_ptr, dst_len):  # no actual-length pointer: 0 only for dst_len bytes
        return _call_int6(fns[RAW_DECOMPRESS], d, src_ptr, src_len, dst_ptr, dst_len, 0) == 0

    return impl


@overload(crc32, jit_options={"nogil": True})
def _crc32_jit(fns, ptr, n):
    return lambda fns, ptr, n: _call_u32_3(fns[CRC32], 0, ptr, n)
