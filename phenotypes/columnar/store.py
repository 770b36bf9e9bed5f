"""Compact events of linked patients, bucketed by output row, spilled to scratch files when large.

An event is ``(row, code, day)``: the output row of the patient's genotype sample, the id of its
``(vocabulary, code)`` in the code table and the days since 1970-01-01, three int32 (12 bytes).
Bucket ``b`` holds rows ``[b * rows_per_bucket, (b + 1) * rows_per_bucket)``, so that every
per-sample aggregate is complete within one bucket.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

EVENT = np.dtype([("row", np.int32), ("code", np.int32), ("day", np.int32)])
#: events buffered in memory (all buckets together) before the buffers are written out
SPILL_EVENTS = 8_000_000
#: target events per bucket (the unit of work, and of memory, of the second pass)
BUCKET_EVENTS = 12_000_000


class EventStore:
    """Append compact events; read them back one bucket at a time (:meth:`bucket`)."""

    def __init__(self, n_rows: int, expected_events: int, scratch: str | Path,
                 bucket_events: int = BUCKET_EVENTS, spill_events: int = SPILL_EVENTS):
        self.n_buckets = max(1, math.ceil(max(expected_events, 1) / bucket_events))
        self.n_buckets = min(self.n_buckets, max(n_rows, 1))
        self.rows_per_bucket = max(1, math.ceil(max(n_rows, 1) / self.n_buckets))
        self.scratch = Path(scratch)
        self.spill_events = spill_events
        self._buffers: list[list[np.ndarray]] = [[] for _ in range(self.n_buckets)]
        self._buffered = 0
        self._files: dict[int, Path] = {}
        self.n_events = 0

    def append(self, row: np.ndarray, code: np.ndarray, day: np.ndarray) -> None:
        n = len(row)
        if n == 0:
            return
        ev = np.empty(n, dtype=EVENT)
        ev["row"], ev["code"], ev["day"] = row, code, day
        if self.n_buckets == 1:
            self._buffers[0].append(ev)
        else:
            b = (ev["row"] // self.rows_per_bucket).astype(np.int64)
            order = np.argsort(b, kind="stable")
            ev, b = ev[order], b[order]
            bounds = np.searchsorted(b, np.arange(self.n_buckets + 1))
            for i in range(self.n_buckets):
                if bounds[i + 1] > bounds[i]:
                    self._buffers[i].append(ev[bounds[i]:bounds[i + 1]])
        self._buffered += n
        self.n_events += n
        if self._buffered >= self.spill_events:
            self.spill()

    def spill(self) -> None:
        """Write every buffer to its bucket's scratch file (appending) and free it."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        for i, parts in enumerate(self._buffers):
            if not parts:
                continue
            path = self._files.setdefault(i, self.scratch / f"events-bucket-{i:05d}.bin")
            with open(path, "ab") as fh:
                for p in parts:
                    p.tofile(fh)
            self._buffers[i] = []
        self._buffered = 0

    def bucket(self, i: int) -> np.ndarray:
        """All events of bucket ``i`` (structured array of :data:`EVENT`)."""
        parts = []
        if i in self._files:
            parts.append(np.fromfile(self._files[i], dtype=EVENT))
        parts.extend(self._buffers[i])
        if not parts:
            return np.empty(0, dtype=EVENT)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def buckets(self):
        """``(index, events)`` of every bucket, in row order."""
        for i in range(self.n_buckets):
            yield i, self.bucket(i)

    def release(self) -> None:
        for path in self._files.values():
            path.unlink(missing_ok=True)
        self._files.clear()
        self._buffers = [[] for _ in range(self.n_buckets)]
