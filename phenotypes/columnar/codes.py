"""The code table: every distinct ``(vocabulary, code)`` of the records, each with an integer id.

Raw codes are normalised once per distinct ``(vocabulary, code as written)``
(:func:`phenotypes.vocab.codes.normalise_code`, as the Spark engine's ``normalise_codes``), and
batches of events are mapped to ids by a hash join on that small lookup.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from phenotypes.vocab.codes import normalise_code

_LOOKUP_SCHEMA = {"vocabulary": pl.String, "raw": pl.String, "code_id": pl.Int32}


class CodeTable:
    """``vocabulary[i]``, ``code[i]``: the normalised code with id ``i``; ``counts[i]``: kept events."""

    def __init__(self):
        self.vocabulary: list[str | None] = []
        self.code: list[str] = []
        self._ids: dict[tuple, int] = {}
        self._lookup = pl.DataFrame(schema=_LOOKUP_SCHEMA)
        self.counts = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.code)

    def ids(self, batch: pl.DataFrame) -> pl.Series:
        """Code id of each row of ``batch`` (columns ``vocabulary``, ``code`` as written, trimmed);
        null where the normalised code is blank."""
        keys = batch.select(pl.col("vocabulary"), pl.col("code").alias("raw")).unique()
        new = keys.join(self._lookup.select("vocabulary", "raw"), on=["vocabulary", "raw"], how="anti",
                        nulls_equal=True)
        if len(new):
            rows = []
            for v, raw in new.iter_rows():
                norm = normalise_code(v, raw) if v is not None else (raw.strip() if raw else None) or None
                if norm is None:
                    rows.append((v, raw, None))
                    continue
                key = (v, norm)
                i = self._ids.get(key)
                if i is None:
                    i = self._ids[key] = len(self.code)
                    self.vocabulary.append(v)
                    self.code.append(norm)
                rows.append((v, raw, i))
            self._lookup = pl.concat([self._lookup, pl.DataFrame(rows, schema=_LOOKUP_SCHEMA, orient="row")])
            if len(self.counts) < len(self.code):
                self.counts = np.concatenate([self.counts, np.zeros(len(self.code) - len(self.counts), np.int64)])
        joined = batch.select("vocabulary", pl.col("code").alias("raw")).join(
            self._lookup, on=["vocabulary", "raw"], how="left", nulls_equal=True, maintain_order="left")
        return joined["code_id"]

    def id_of(self, vocabulary: str, code: str) -> int | None:
        return self._ids.get((vocabulary, code))

    def frame(self) -> pl.DataFrame:
        """(code_id, vocabulary, code, n_events) of every code with kept events."""
        n = len(self.code)
        f = pl.DataFrame({"code_id": np.arange(n, dtype=np.int32),
                          "vocabulary": pl.Series(self.vocabulary, dtype=pl.String),
                          "code": pl.Series(self.code, dtype=pl.String), "n_events": self.counts[:n]})
        return f.filter(pl.col("n_events") > 0)
