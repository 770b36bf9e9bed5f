"""Record tables (CSV/TSV, gzipped CSV, Parquet file or folder) read in batches of text columns.

The same conventions as the Spark reader (:func:`phenotypes.sources.tables.read_table`): every
requested column comes back as a string column with its lower-case name (absent optional columns as
nulls), empty CSV fields are null, short CSV lines are padded with nulls.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import polars as pl

from hubscan.errors import InputError
from phenotypes.sources.tables import csv_delimiter, is_parquet

#: rows per batch of the streaming pass
BATCH_ROWS = 1_000_000


def _parquet_files(path: Path) -> list[Path]:
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise InputError(f"{path}: Parquet folder without .parquet files")
    return files


def _select(frame, names: Iterable[str], columns: list[str]):
    present = {n.strip().lstrip("\ufeff").lower(): n for n in names}
    out = []
    for c in columns:
        c = c.lower()
        if c in present:
            out.append(pl.col(present[c]).cast(pl.String).alias(c))
        else:
            out.append(pl.lit(None, dtype=pl.String).alias(c))
    return frame.select(out)


def iter_table(path: Path, columns: list[str], batch_rows: int = BATCH_ROWS) -> Iterator[pl.DataFrame]:
    """Batches (polars DataFrames of strings, columns named ``columns`` in lower case) of a table."""
    path = Path(path)
    try:
        if is_parquet(path):
            lazy = pl.scan_parquet([str(p) for p in _parquet_files(path)])
            lazy = _select(lazy, lazy.collect_schema().names(), columns)
        elif path.name.lower().endswith(".gz"):
            frame = pl.read_csv(path, separator=csv_delimiter(path), infer_schema=False, quote_char='"',
                                truncate_ragged_lines=True)
            lazy = _select(frame.lazy(), frame.columns, columns)
        else:
            lazy = pl.scan_csv(path, separator=csv_delimiter(path), infer_schema=False, quote_char='"',
                               truncate_ragged_lines=True, encoding="utf8-lossy")
            lazy = _select(lazy, lazy.collect_schema().names(), columns)
        yield from lazy.collect_batches(chunk_size=batch_rows)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, OSError) as exc:
        raise InputError(f"{path}: cannot be read ({str(exc).splitlines()[0]})") from None


def read_whole(path: Path, columns: list[str]) -> pl.DataFrame:
    """A small table (persons, concepts, crosswalks) in one frame."""
    parts = list(iter_table(path, columns))
    if not parts:
        return pl.DataFrame({c.lower(): pl.Series([], dtype=pl.String) for c in columns})
    return pl.concat(parts) if len(parts) > 1 else parts[0]


def expected_rows(path: Path) -> int:
    """A quick estimate of a table's rows: exact for Parquet, file size / 24 bytes for CSV (short
    lines: the estimate errs on the side of more buckets)."""
    path = Path(path)
    if is_parquet(path):
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(p).metadata.num_rows for p in _parquet_files(path))
    size = path.stat().st_size
    return size * (4 if path.name.lower().endswith(".gz") else 1) // 24
