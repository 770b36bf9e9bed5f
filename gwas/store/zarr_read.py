"""Read a Zarr v2 group (a genotype store) without importing zarr: the arrays' chunks decoded
with numcodecs, the same codecs zarr uses, so the same values and dtypes come back (strings as
numpy's StringDType, as zarr 3 returns them).

``import zarr`` costs about 0.3 CPU s (its registry reads every installed package's entry points),
a sixth of a short scan's whole command; numcodecs alone about 0.05 s. This reader covers what
the scans read: ``group[name]`` arrays with ``shape``/``dtype``, basic selection (``a[:]``,
``a[lo:hi]``, tuples of slices) and orthogonal selection (``a.oindex[rows,
cols]`` with int arrays in any order and slices), ``name in group`` and ``group.attrs``.
Anything else (another attribute, a key of another kind, a layout it does not read: F order,
filters other than vlen-utf8, a codec numcodecs does not know) is handed to zarr itself,
imported then.
"""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path

import numpy as np


def open_group(path: str | os.PathLike) -> Group:
    """The Zarr v2 group at ``path`` (read-only)."""
    return Group(Path(path))


class Group:
    def __init__(self, path: Path):
        self.path = path

    @cached_property
    def attrs(self) -> dict:
        file = self.path / ".zattrs"
        return json.loads(file.read_text()) if file.is_file() else {}

    def __contains__(self, name: str) -> bool:
        return (self.path / name / ".zarray").is_file() or (self.path / name / ".zgroup").is_file()

    def __getitem__(self, name: str):
        meta_file = self.path / name / ".zarray"
        if not meta_file.is_file():
            return self._zarr[name]  # a subgroup, or no such array: zarr's answer
        return Array(self.path / name, json.loads(meta_file.read_text()), lambda: self._zarr[name])

    @cached_property
    def _zarr(self):
        import zarr

        return zarr.open_group(str(self.path), mode="r", zarr_format=2)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._zarr, name)


class _MissingChunk(Exception):
    pass


#: filters this reader applies itself (any other: zarr reads the array)
_FILTERS = ("vlen-utf8",)


class Array:
    """One Zarr v2 array: chunks read on demand (C order, edge chunks padded, a chunk not stored
    holds the fill value)."""

    def __init__(self, path: Path, meta: dict, zarr_array):
        self.path = path
        self._zarr_array = zarr_array
        self.shape = tuple(meta["shape"])
        stored = np.dtype(meta["dtype"])
        self._text = stored.kind == "O"  # vlen-utf8 strings: numpy StringDType, as zarr 3 returns them
        self.dtype = np.dtypes.StringDType() if self._text else stored
        self.chunks = tuple(meta["chunks"])
        self.ndim = len(self.shape)
        self._separator = meta.get("dimension_separator") or "."
        self._codecs = self._pipeline(meta, stored)
        self._fill = meta.get("fill_value")

    @staticmethod
    def _pipeline(meta: dict, dtype: np.dtype):
        """(compressor, filters) as numcodecs codecs, or None when zarr must read this array."""
        filters = meta.get("filters") or []
        if meta.get("order", "C") != "C" or meta.get("zarr_format") != 2 or dtype.kind not in "biufO" \
                or any(f.get("id") not in _FILTERS for f in filters) or dtype.hasobject != bool(filters):
            return None
        try:
            from numcodecs import get_codec

            return (get_codec(meta["compressor"]) if meta.get("compressor") else None), [get_codec(f) for f in filters]
        except Exception:  # noqa: BLE001 - a codec numcodecs does not know: zarr's registry may
            return None

    @cached_property
    def _zarr(self):
        return self._zarr_array()

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._zarr, name)

    @property
    def oindex(self):
        return _OIndex(self)

    def __getitem__(self, key):
        parts = key if isinstance(key, tuple) else (key,)
        if not all(isinstance(k, slice) for k in parts):
            return self._zarr[key]
        return self._select(parts, lambda: self._zarr[key])

    def _select(self, parts, fallback):
        """Orthogonal selection: per dimension a slice (step 1) or a 1-D int array (any order,
        repeats allowed); missing trailing dimensions whole. ``fallback()``: zarr's answer, for
        anything else."""
        if self._codecs is None or len(parts) > self.ndim:
            return fallback()
        parts = list(parts) + [slice(None)] * (self.ndim - len(parts))
        indexes = []
        for k, n in zip(parts, self.shape):
            if isinstance(k, slice):
                if k.step not in (None, 1):
                    return fallback()
                indexes.append(np.arange(n)[k])
                continue
            idx = np.asarray(k)
            if idx.ndim != 1 or (idx.dtype.kind not in "iu" and len(idx)):
                return fallback()
            idx = idx.astype(np.int64)
            idx = np.where(idx < 0, idx + n, idx)
            if ((idx < 0) | (idx >= n)).any():
                raise IndexError(f"index out of bounds for an axis of length {n}")
            indexes.append(idx)
        try:
            return self._gather(indexes)
        except _MissingChunk:  # a fill value this reader does not decode: zarr's rules
            return fallback()

    def _gather(self, indexes: list[np.ndarray]) -> np.ndarray:
        out = np.empty([len(i) for i in indexes], dtype=self.dtype)
        if out.size == 0:
            return out
        per_dim = []  # per dimension: [(chunk number, positions in out, positions in the chunk)]
        for idx, c in zip(indexes, self.chunks):
            chunk_of = idx // c
            per_dim.append([(int(b), _run(np.flatnonzero(chunk_of == b)), _run(idx[chunk_of == b] - b * c))
                            for b in np.unique(chunk_of)])
        for combo in np.ndindex(*[len(d) for d in per_dim]):
            picks = [per_dim[d][j] for d, j in enumerate(combo)]
            chunk = self._chunk(tuple(p[0] for p in picks))
            out[_index(p[1] for p in picks)] = chunk[_index(p[2] for p in picks)]
        return out

    def _chunk(self, number: tuple[int, ...]) -> np.ndarray:
        file = self.path / self._separator.join(str(b) for b in number)
        if not file.is_file():
            return self._fill_chunk()
        compressor, filters = self._codecs
        data = file.read_bytes()
        if compressor is not None:
            data = compressor.decode(data)
        for f in reversed(filters):
            data = f.decode(data)
        if self._text:
            return np.asarray(data, dtype=object).astype(self.dtype).reshape(self.chunks)
        return np.frombuffer(data, self.dtype).reshape(self.chunks)

    def _fill_chunk(self) -> np.ndarray:
        """A chunk not stored: every value the fill value (Zarr v2: NaN / Infinity spelled as strings)."""
        fill = self._fill
        if fill is None or (isinstance(fill, str) and not self._text and fill not in ("NaN", "Infinity", "-Infinity")):
            raise _MissingChunk
        if isinstance(fill, str) and self.dtype.kind == "f":
            fill = float(fill.replace("Infinity", "inf"))
        return np.full(self.chunks, fill, dtype=self.dtype)


def _run(positions: np.ndarray):
    """``positions`` as a slice when they are consecutive and increasing (a copy without a gather)."""
    if len(positions) and positions[-1] - positions[0] == len(positions) - 1 \
            and (len(positions) < 2 or (np.diff(positions) == 1).all()):
        return slice(int(positions[0]), int(positions[-1]) + 1)
    return positions


def _index(per_dim):
    """An orthogonal index from slices and int arrays: as it is with at most one array (numpy keeps
    a single advanced index in place), else np.ix_ over every dimension."""
    per_dim = list(per_dim)
    if sum(not isinstance(p, slice) for p in per_dim) <= 1:
        return tuple(per_dim)
    return np.ix_(*[np.arange(p.start, p.stop) if isinstance(p, slice) else p for p in per_dim])


class _OIndex:
    def __init__(self, array: Array):
        self.array = array

    def __getitem__(self, key):
        parts = key if isinstance(key, tuple) else (key,)
        if not all(isinstance(k, (slice, list, np.ndarray)) for k in parts):
            return self.array._zarr.oindex[key]
        return self.array._select(parts, lambda: self.array._zarr.oindex[key])
