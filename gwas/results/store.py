"""Write and open results stores (layout: :mod:`gwas.results.schema`).

Writing: :func:`write_block` writes one variant block's rows for every trait, each file atomically;
the scan marks the block done (:class:`hubscan.parts.PartTracker`) only after all its files exist,
so a rerun rewrites a block a killed run left unfinished. :func:`finalise_results` checks every
block and trait file, writes ``_results.json`` and then ``_SUCCESS``. Names starting with ``_`` or ``.``
lie outside the Parquet dataset: pyarrow, pandas, polars, DuckDB, Spark and Hail (through Spark)
read the folder as it is.

Reading needs no Spark::

    >>> res = open_results("gwas-out")
    >>> res.traits                          # pandas: one row per trait (type, test, n, cases...)
    >>> res.read(traits=["ldl"], max_p=5e-8)   # pandas DataFrame of rows
    >>> res.scan()                          # polars LazyFrame over every file
"""

from __future__ import annotations

import json
import os
import urllib.parse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gwas.results.schema import RESULT_COLUMNS, RESULT_SCHEMA, RESULTS_FORMAT, RESULTS_VERSION
from hubscan.errors import InputError, OutputError
from hubscan.files import atomic_file
from hubscan.parts import SUCCESS_MARKER

METADATA_FILE = "_results.json"
#: the metadata's name in stores written before layout 1.1 (still read)
LEGACY_METADATA_FILE = "results.json"


def metadata_path(root: str | os.PathLike) -> Path:
    """The metadata file of the results store at ``root`` (every reader goes through this):
    ``_results.json``, or ``results.json`` in a store written before layout 1.1."""
    root = Path(root)
    legacy = root / LEGACY_METADATA_FILE
    if not (root / METADATA_FILE).is_file() and legacy.is_file():
        return legacy
    return root / METADATA_FILE


def trait_dir(root: str | os.PathLike, trait: str) -> Path:
    """Folder of one trait's files: ``trait=<name>`` with the name URI-encoded (as pyarrow reads it)."""
    return Path(root) / f"trait={urllib.parse.quote(str(trait), safe='')}"


def block_file(root: str | os.PathLike, trait: str, block: str) -> Path:
    return trait_dir(root, trait) / f"{block}.parquet"


def rows_table(columns: dict[str, np.ndarray]) -> pa.Table:
    """A table in :data:`RESULT_SCHEMA` from arrays keyed by column name (all columns required)."""
    missing = [c for c in RESULT_COLUMNS if c not in columns]
    extra = [c for c in columns if c not in RESULT_COLUMNS]
    if missing or extra:
        raise ValueError(f"result rows: missing columns {missing}, unknown columns {extra}")
    arrays = [_numeric_array(np.asarray(columns[name]), dtype) if dtype != pa.string()
              else _string_array(columns[name])
              for name, (dtype, _) in RESULT_COLUMNS.items()]
    return pa.Table.from_arrays(arrays, schema=RESULT_SCHEMA)


def _string_array(values) -> pa.Array:
    """``pa.array([str(v) for v in values], type=pa.string())`` from its offsets and bytes (which
    ``pa.array`` would build after importing pandas, see :func:`_numeric_array`)."""
    encoded = [str(v).encode() for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    if offsets[-1] >= 2**31:
        return pa.array([b.decode() for b in encoded], type=pa.string())
    return pa.Array.from_buffers(pa.string(), len(encoded),
                                 [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(b"".join(encoded))])


def _numeric_array(values: np.ndarray, dtype: pa.DataType) -> pa.Array:
    """``pa.array(values, type=dtype)`` (no nulls; NaN stays NaN), built on the numpy buffer when
    the dtypes already match or an integer dtype widens safely (int8 -> int32): ``pa.array`` imports pandas to ask whether ``values`` is a Series,
    half a second of a short in-process scan. Other dtypes go through ``pa.array`` (its checked casts)."""
    if dtype == pa.bool_() and values.dtype == np.bool_:
        bits = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(dtype, len(values), [None, pa.py_buffer(bits)])
    if dtype != pa.bool_() and values.ndim == 1:
        target = np.dtype(dtype.to_pandas_dtype())
        if values.dtype != target and values.dtype.kind in "biu" and target.kind in "iu" \
                and np.can_cast(values.dtype, target, "safe"):
            values = values.astype(target)  # e.g. int8 error codes to int32: every value fits, as pa.array's cast
        if values.dtype == target:
            return pa.Array.from_buffers(dtype, len(values), [None, pa.py_buffer(np.ascontiguousarray(values))])
    return pa.array(values, type=dtype)


def write_block(root: str | os.PathLike, block: str, tables: dict[str, pa.Table]) -> dict[str, int]:
    """Write one block's table per trait (each atomically); return rows written per trait."""
    rows = {}
    for trait, table in tables.items():
        path = block_file(root, trait, block)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as tmp:
            # fixed writer settings so reruns give byte-identical files
            pq.write_table(table, tmp, compression="zstd", write_statistics=True, store_schema=False)
        rows[trait] = table.num_rows
    return rows


def finalise_results(root: str | os.PathLike, metadata: dict, blocks: list[str], traits: list[str]) -> None:
    """Verify every (trait, block) file exists and has the schema, then write metadata and ``_SUCCESS``."""
    root = Path(root)
    for leftover in root.glob("trait=*/.*.tmp-*"):  # temporaries of tasks killed mid-write
        leftover.unlink()
    for trait in traits:
        for block in blocks:
            path = block_file(root, trait, block)
            if not path.is_file():
                raise OutputError(f"{path}: missing after the scan finished (block {block}, trait {trait})")
            schema = pq.read_schema(path)
            if schema.names != RESULT_SCHEMA.names:
                raise OutputError(f"{path}: columns {schema.names} are not the results schema")
    meta = {"format": RESULTS_FORMAT, "version": list(RESULTS_VERSION), **metadata,
            "blocks": list(blocks)}
    with atomic_file(root / METADATA_FILE) as tmp:
        tmp.write_text(json.dumps(meta, indent=1, sort_keys=True, default=str) + "\n")
    (root / LEGACY_METADATA_FILE).unlink(missing_ok=True)  # a run resumed from an older layout
    with atomic_file(root / SUCCESS_MARKER) as tmp:
        tmp.write_text(json.dumps({"format": RESULTS_FORMAT, "blocks": len(blocks), "traits": len(traits)}))


class ResultsStore:
    """A finished results store, read with pyarrow (pandas and polars views); no Spark needed."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_dir():
            raise InputError(f"{self.path}: no results store here (not a folder)")
        meta_path = metadata_path(self.path)
        if not (self.path / SUCCESS_MARKER).is_file() or not meta_path.is_file():
            raise InputError(f"{self.path}: incomplete results store (no {SUCCESS_MARKER} or {METADATA_FILE}: "
                             "the scan did not finish; rerun it with the same configuration to resume)")
        try:
            self.metadata = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise InputError(f"{meta_path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        if self.metadata.get("format") != RESULTS_FORMAT:
            raise InputError(f"{meta_path}: not a hubscan results store (format {self.metadata.get('format')!r})")
        version = self.metadata.get("version")
        if not isinstance(version, list) or not version or version[0] != RESULTS_VERSION[0]:
            raise InputError(f"{meta_path}: results layout version {version} cannot be read by this hubscan "
                             f"(reads {RESULTS_VERSION[0]}.x); rerun the scan or use the hubscan that wrote it")
        missing = [k for k in ("job", "traits", "config", "software", "inputs") if k not in self.metadata]
        if missing:
            raise InputError(f"{meta_path}: metadata lacks {', '.join(missing)}")

    @property
    def trait_names(self) -> list[str]:
        return [t["name"] for t in self.metadata["traits"]]

    @property
    def traits(self):
        """pandas DataFrame: one row per trait (name, type, test, n, n_cases, n_controls, status...)."""
        import pandas as pd

        return pd.DataFrame(self.metadata["traits"])

    def files(self, traits=None) -> list[Path]:
        names = self.trait_names if traits is None else list(traits)
        unknown = sorted(set(names) - set(self.trait_names))
        if unknown:
            raise InputError(f"{self.path}: no trait {', '.join(map(repr, unknown))} in this results store")
        return [p for t in names if trait_dir(self.path, t).is_dir()
                for p in sorted(trait_dir(self.path, t).glob("*.parquet"))]

    def table(self, traits=None, columns=None, max_p: float | None = None) -> pa.Table:
        """pyarrow Table of the rows of ``traits`` (all by default) with a ``trait`` column;
        ``max_p`` keeps rows with p below it (on ``neg_log10_p``, so it works below 1e-308)."""
        import pyarrow.compute as pc

        cols = list(RESULT_COLUMNS) if columns is None else [c for c in columns if c != "trait"]
        parts = []
        for path in self.files(traits):
            t = pq.read_table(path, columns=cols if max_p is None else sorted(set(cols) | {"neg_log10_p"}))
            if max_p is not None:
                t = t.filter(pc.greater_equal(t["neg_log10_p"], -np.log10(max_p)))
                t = t.select(cols)
            name = urllib.parse.unquote(path.parent.name.split("=", 1)[1])
            parts.append(t.append_column("trait", pa.array([name] * t.num_rows, pa.string())))
        if not parts:
            return pa.Table.from_arrays([pa.array([], RESULT_COLUMNS[c][0]) for c in cols] + [pa.array([], pa.string())],
                                        names=cols + ["trait"])
        return pa.concat_tables(parts)

    def read(self, traits=None, columns=None, max_p: float | None = None):
        """pandas DataFrame (see :meth:`table`)."""
        return self.table(traits, columns, max_p).to_pandas()

    def lookup(self, variant: str | None = None, region: str | None = None, columns=None):
        """pandas rows of every trait for one variant or a region, best p first.

        ``variant``: its id (e.g. an rsid) or ``contig:position:ref:alt`` (ALT = effect allele);
        ``region``: ``contig:start-end`` (1-based, inclusive) or a whole ``contig``. Each file is
        read with the filter pushed down to its row groups (their statistics skip the rest)."""
        if (variant is None) == (region is None):
            raise InputError("look up either a variant or a region")
        if region is not None:
            contig, _, span = region.partition(":")
            start, _, end = span.partition("-")
            try:
                bounds = (int(start.replace(",", "")), int(end.replace(",", ""))) if span else None
            except ValueError:
                raise InputError(f"region {region!r} is not contig:start-end") from None
            filters = [("contig", "=", contig)] + ([("position", ">=", bounds[0]), ("position", "<=", bounds[1])]
                                                   if bounds else [])
        else:
            parts = variant.split(":")
            if len(parts) == 4 and parts[1].isdigit():
                filters = [("contig", "=", parts[0]), ("position", "=", int(parts[1])), ("ref", "=", parts[2]),
                           ("alt", "=", parts[3])]
            else:
                filters = [("variant_id", "=", variant)]
        cols = list(RESULT_COLUMNS) if columns is None else [c for c in columns if c != "trait"]
        parts_read = []
        for path in self.files():
            t = pq.read_table(path, columns=cols, filters=filters)
            if t.num_rows:
                name = urllib.parse.unquote(path.parent.name.split("=", 1)[1])
                parts_read.append(t.append_column("trait", pa.array([name] * t.num_rows, pa.string())).to_pandas())
        import pandas as pd

        if not parts_read:
            return pd.DataFrame(columns=cols + ["trait"])
        frame = pd.concat(parts_read, ignore_index=True)
        if "neg_log10_p" in frame:
            frame = frame.sort_values("neg_log10_p", ascending=False, kind="mergesort", na_position="last")
        return frame.reset_index(drop=True)

    def scan(self):
        """polars LazyFrame over every file, ``trait`` from the partition folders."""
        import polars as pl

        return pl.scan_parquet(str(self.path / "trait=*" / "*.parquet"), hive_partitioning=True)


def open_results(path: str | os.PathLike) -> ResultsStore:
    return ResultsStore(path)
