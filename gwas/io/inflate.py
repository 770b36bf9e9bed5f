"""zlib and zstd decompression callable from Numba kernels (and from plain Python), so a kernel can
inflate many blocks without the GIL and without a Python call per block.

The C functions come from libraries the project already loads: zlib's ``uncompress`` from the
library Python's own ``zlib`` module is linked with (found through that module's shared object),
``ZSTD_decompress`` / ``ZSTD_isError`` from numcodecs' zstd extension, which exports them.
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

#: indexes into :func:`functions`
ZLIB_UNCOMPRESS, ZSTD_DECOMPRESS, ZSTD_IS_ERROR = 0, 1, 2
#: BGEN compression codes (flags bits 0-1)
NONE, ZLIB, ZSTD = 0, 1, 2


def _symbol(lib: ctypes.CDLL, name: str) -> int:
    return ctypes.cast(getattr(lib, name), ctypes.c_void_p).value


@cache
def functions() -> np.ndarray:
    """int64 addresses of zlib ``uncompress``, ``ZSTD_decompress`` and ``ZSTD_isError``."""
    path = getattr(zlib, "__file__", None) or ctypes.util.find_library("z")  # zlib built into Python: libz
    libz = ctypes.CDLL(path)
    import numcodecs.zstd

    libzstd = ctypes.CDLL(numcodecs.zstd.__file__)
    return np.array([_symbol(libz, "uncompress"), _symbol(libzstd, "ZSTD_decompress"),
                     _symbol(libzstd, "ZSTD_isError")], dtype=np.int64)


def _c_call(fn: int, ret, args: tuple):
    proto = ctypes.CFUNCTYPE(ret, *[ctypes.c_uint64] * len(args))
    return proto(int(fn))(*[int(a) for a in args])


def _codegen(ret_bits: int):
    """Lowering of a call to the C function at address args[0] with the other arguments as 64-bit
    integers/pointers, returning a ``ret_bits``-bit integer (32: int, 64: size_t)."""
    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        fnty = ir.FunctionType(ir.IntType(ret_bits), [i64] * (len(args) - 1))
        ptr = builder.inttoptr(args[0], fnty.as_pointer())
        return builder.call(ptr, [context.cast(builder, v, t, types.int64)
                                  for v, t in zip(args[1:], signature.args[1:])])

    return codegen


@intrinsic
def _call_int4(typingctx, fn, a, b, c, d):
    return types.int32(fn, a, b, c, d), _codegen(32)


@intrinsic
def _call_size4(typingctx, fn, a, b, c, d):
    return types.uint64(fn, a, b, c, d), _codegen(64)


@intrinsic
def _call_int1(typingctx, fn, a):
    return types.int32(fn, a), _codegen(32)


def decompress(fns, method: int, src_ptr: int, src_len: int, dst_ptr: int, dst_len: int) -> bool:
    """Decompress ``src_len`` bytes at address ``src_ptr`` (``method`` ZLIB or ZSTD) into exactly
    ``dst_len`` bytes at ``dst_ptr``; False when the data are corrupt or inflate to another length."""
    if method == ZLIB:
        n = np.array([dst_len], dtype=np.uint64)
        rc = _c_call(fns[ZLIB_UNCOMPRESS], ctypes.c_int, (dst_ptr, n.ctypes.data, src_ptr, src_len))
        return rc == 0 and n[0] == dst_len
    got = _c_call(fns[ZSTD_DECOMPRESS], ctypes.c_size_t, (dst_ptr, dst_len, src_ptr, src_len))
    return not _c_call(fns[ZSTD_IS_ERROR], ctypes.c_uint, (got,)) and got == dst_len


@overload(decompress, jit_options={"nogil": True})
def _decompress_jit(fns, method, src_ptr, src_len, dst_ptr, dst_len):
    def impl(fns, method, src_ptr, src_len, dst_ptr, dst_len):
        if method == ZLIB:
            n = np.empty(1, dtype=np.uint64)
            n[0] = dst_len
            rc = _call_int4(fns[ZLIB_UNCOMPRESS], dst_ptr, n.ctypes.data, src_ptr, src_len)
            return rc == 0 and n[0] == dst_len
        got = _call_size4(fns[ZSTD_DECOMPRESS], dst_ptr, dst_len, src_ptr, src_len)
        return _call_int1(fns[ZSTD_IS_ERROR], got) == 0 and got == dst_len

    return impl
