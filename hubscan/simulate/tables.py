"""Write tables chunk by chunk as CSV or Parquet, with one declared schema per table.

A column type is one of ``int``, ``float``, ``str``, ``date`` (ISO ``YYYY-MM-DD``; numpy
``datetime64[D]`` in memory, Parquet ``date32``) or ``datetime`` (``YYYY-MM-DD HH:MM:SS`` as OMOP
CSV exports write it; Parquet ``timestamp[s]``). A column missing from a chunk is written empty
(null). CSV cells of floats use the shortest repr that round-trips.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np



class TableWriter:
    """Append chunks (dicts of column -> array) to ``path`` (written at a temporary path by the
    caller, see :func:`hubscan.files.atomic_file`) as CSV or Parquet with a fixed column order."""

    def __init__(self, path: Path, columns: list[tuple[str, str]], fmt: str):
        self.path, self.columns, self.fmt = Path(path), columns, fmt
        self.rows = 0
        if fmt == "csv":
            self._fh = open(self.path, "w", newline="")
            self._csv = csv.writer(self._fh, lineterminator="\n")
            self._csv.writerow([name for name, _ in columns])
        elif fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            self._schema = pa.schema([(name, _arrow_type(kind)) for name, kind in columns])
            self._pq = pq.ParquetWriter(str(self.path), self._schema, compression="zstd")
        else:
            raise ValueError(f"unknown table format {fmt!r}")

    def write(self, chunk: dict[str, np.ndarray]) -> None:
        lengths = {len(v) for v in chunk.values()}
        if len(lengths) != 1:
            raise ValueError(f"{self.path.name}: columns of a chunk differ in length: {lengths}")
        n = lengths.pop()
        unknown = set(chunk) - {name for name, _ in self.columns}
        if unknown:
            raise ValueError(f"{self.path.name}: columns {sorted(unknown)} are not in the schema")
        if n == 0:
            return
        self.rows += n
        if self.fmt == "csv":
            cells = [_csv_cells(chunk.get(name), kind, n) for name, kind in self.columns]
            self._csv.writerows(zip(*cells))
        else:
            import pyarrow as pa

            arrays = [_arrow_array(chunk.get(name), kind, n) for name, kind in self.columns]
            self._pq.write_table(pa.Table.from_arrays(arrays, schema=self._schema))

    def close(self) -> None:
        if self.fmt == "csv":
            self._fh.close()
        else:
            self._pq.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _arrow_type(kind: str):
    import pyarrow as pa

    return {"int": pa.int64(), "float": pa.float64(), "str": pa.string(), "date": pa.date32(),
            "datetime": pa.timestamp("s")}[kind]


def _csv_cells(values, kind: str, n: int) -> list:
    if values is None:
        return [""] * n
    values = np.asarray(values)
    if kind == "date":
        return np.datetime_as_string(values.astype("datetime64[D]"), unit="D").tolist()
    if kind == "datetime":
        return [f"{d} 00:00:00" for d in np.datetime_as_string(values.astype("datetime64[D]"), unit="D")]
    if kind == "float":
        return ["" if np.isnan(v) else repr(float(v)) for v in values.tolist()]
    if kind == "int":
        return values.astype(np.int64).tolist()
    return values.astype(str).tolist()


def _arrow_array(values, kind: str, n: int):
    import pyarrow as pa

    if values is None:
        return pa.nulls(n, type=_arrow_type(kind))
    values = np.asarray(values)
    if kind == "date":
        return pa.array(values.astype("datetime64[D]"), type=pa.date32())
    if kind == "datetime":
        return pa.array(values.astype("datetime64[s]"), type=pa.timestamp("s"))
    if kind == "float":
        return pa.array(values.astype(np.float64), type=pa.float64(), from_pandas=True)
    if kind == "int":
        return pa.array(values.astype(np.int64), type=pa.int64())
    return pa.array(values.astype(str).tolist(), type=pa.string())
