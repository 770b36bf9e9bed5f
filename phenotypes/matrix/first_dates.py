"""``first_dates.parquet``: ``sample_id, trait, first_date`` of every case, sorted by sample id then
trait, written with memory bounded by one part of the cases, not all of them.

The matrix is written in genotype-sample order, the first dates in sample-id order, so the cases
cannot be written as they come. They are kept as three int32 (rank of the sample id, rank of the
trait name, day: 12 bytes a case) in a bucketed store (:class:`~phenotypes.columnar.store.EventStore`,
spilled to scratch files) whose buckets are ranges of sample-id ranks; each bucket is then sorted
alone and written, in rank order. Ranks are from Python string order, which is the byte order of
the UTF-8 strings that Arrow's ``sort_by`` uses, so the file is the one a single sort of all
cases gives, byte for byte: row groups of :data:`ROW_GROUP_ROWS` rows, as ``pq.write_table``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hubscan.files import atomic_file

#: rows per row group (``pyarrow.parquet.write_table``'s default, so that the bytes are the same)
ROW_GROUP_ROWS = 1024 * 1024


def _schema():
    import pyarrow as pa

    return pa.schema([pa.field("sample_id", pa.string()), pa.field("trait", pa.string()),
                      pa.field("first_date", pa.date32())])


def _ranks(names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted names, rank of each name in the sorted order)."""
    order = np.argsort(names, kind="stable")
    rank = np.empty(len(names), dtype=np.int32)
    rank[order] = np.arange(len(names), dtype=np.int32)
    return names[order], rank


class FirstDatesWriter:
    """Collect cases with :meth:`add` (any order), then :meth:`write` the sorted file.

    sample_ids: object array of the matrix rows' ids (row -> id); traits: every trait name a case
    can have; parts: number of sample-id ranges sorted one at a time (memory: one part's cases).
    """

    def __init__(self, sample_ids, traits, scratch: str | Path, parts: int = 1, row_group_rows: int = ROW_GROUP_ROWS):
        from phenotypes.columnar.store import BUCKET_EVENTS, EventStore

        self.sorted_ids, self.id_rank = _ranks(np.asarray(sample_ids, dtype=object))
        self.sorted_traits, trait_rank = _ranks(np.asarray(list(traits), dtype=object))
        self.trait_rank = {name: int(trait_rank[j]) for j, name in enumerate(traits)}
        self.row_group_rows = row_group_rows
        n = max(len(self.sorted_ids), 1)
        self.store = EventStore(n, max(parts, 1) * BUCKET_EVENTS, Path(scratch), bucket_events=BUCKET_EVENTS)

    def add(self, rows: np.ndarray, traits: np.ndarray, days: np.ndarray) -> None:
        """Cases: matrix rows, trait names (object array) or trait ranks (int), days since 1970-01-01."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return
        traits = np.asarray(traits)
        if traits.dtype == object:
            traits = np.fromiter((self.trait_rank[t] for t in traits.tolist()), dtype=np.int32, count=len(traits))
        self.store.append(self.id_rank[rows], traits.astype(np.int32), np.asarray(days).astype(np.int32))

    def trait_ranks(self, names) -> np.ndarray:
        """Ranks of ``names`` (to pass to :meth:`add` instead of names, without a lookup per case)."""
        return np.array([self.trait_rank[t] for t in names], dtype=np.int32)

    def write(self, path: str | Path) -> int:
        """Write the sorted cases to ``path`` (atomically); returns the number of rows."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = _schema()
        total = self.store.n_events
        with atomic_file(path) as tmp:
            if total == 0:
                empty = pa.table({"sample_id": pa.array([], pa.string()), "trait": pa.array([], pa.string()),
                                  "first_date": pa.array(np.empty(0, "datetime64[D]"), pa.date32())})
                pq.write_table(empty, tmp, compression="zstd")
                return 0
            pending, held = [], 0
            with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
                for _, ev in self.store.buckets():
                    if not len(ev):
                        continue
                    ev = ev[np.lexsort((ev["code"], ev["row"]))]
                    part = pa.table({
                        "sample_id": pa.array(self.sorted_ids[ev["row"]], pa.string()),
                        "trait": pa.array(self.sorted_traits[ev["code"]], pa.string()),
                        "first_date": pa.array(ev["day"].astype("datetime64[D]"), pa.date32())}, schema=schema)
                    del ev
                    pending.append(part)
                    held += part.num_rows
                    while held >= self.row_group_rows:
                        pending, held = self._flush(writer, pending, self.row_group_rows)
                if held:
                    self._flush(writer, pending, held)
        return total

    @staticmethod
    def _flush(writer, pending: list, rows: int):
        """Write the first ``rows`` rows of ``pending`` as one row group (one contiguous chunk per
        column, as a slice of one sorted table would be); returns the rest."""
        import pyarrow as pa

        table = pa.concat_tables(pending)
        writer.write_table(table.slice(0, rows).combine_chunks())
        rest = table.slice(rows)
        return ([rest] if rest.num_rows else []), rest.num_rows

    def release(self) -> None:
        self.store.release()
