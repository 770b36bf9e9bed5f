"""The in-process engine writes the matrix and the first dates part by part (memory bounded by one
bucket of samples, not all of them), with the result of a one-shot computation.

* :class:`phenotypes.columnar.traits.BucketedPhecodeDays` against pandas (drop_duplicates +
  groupby over all events at once, an independent one-shot reference): every row range the matrix
  writer can ask for, across bucket boundaries, gives the same day counts and first days, exactly
  (integers), while each bucket is aggregated once and only one bucket's rows are ever held.
* :class:`phenotypes.matrix.first_dates.FirstDatesWriter` against one ``sort_by`` of all cases
  written by ``pq.write_table`` (the one-shot writer it replaces): the same bytes, with several
  sample-id parts, spills to scratch and row groups that straddle parts.

The whole pipeline with several buckets is compared with one bucket and with the Spark engine, byte
for byte, in ``test_engines.py``.
"""

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from phenotypes.columnar.store import EventStore
from phenotypes.columnar.traits import BucketedPhecodeDays
from phenotypes.matrix.first_dates import FirstDatesWriter


def _events(rng, n_rows, n_events, n_codes):
    return (rng.integers(0, n_rows, n_events), rng.integers(0, n_codes, n_events),
            rng.integers(-30, 40, n_events))   # days around 1970-01-01: a first day of 0 is kept


def test_bucketed_days_equal_one_shot(tmp_path):
    rng = np.random.default_rng(5)
    n_rows, n_phecodes, n_codes = 203, 9, 25
    store = EventStore(n_rows, 4000, tmp_path / "events", bucket_events=600, spill_events=700)
    assert store.n_buckets == 7
    rows, codes, days = _events(rng, n_rows, 4000, n_codes)
    for part in np.array_split(np.arange(4000), 6):       # appended in batches, some spilled
        store.append(rows[part], codes[part], days[part])
    assert store._files
    # codes -> phecode columns: several columns for some codes (roll-up), none for others
    cc = pd.DataFrame({"code_id": [0, 0, 1, 2, 3, 3, 3, 5, 8, 13, 21, 22, 24],
                       "col": [0, 1, 1, 2, 3, 4, 0, 5, 6, 7, 8, 8, 2]})
    bucketed = BucketedPhecodeDays(store, pl.from_pandas(cc).cast(pl.Int32), (n_rows, n_phecodes), None)

    ev = pd.DataFrame({"row": rows, "code_id": codes, "day": days}).merge(cc, on="code_id")
    ref = (ev[["row", "col", "day"]].drop_duplicates().groupby(["row", "col"])["day"]
           .agg(["size", "min"]).reset_index())
    want_days = np.zeros((n_rows, n_phecodes), np.int64)
    want_first = np.full((n_rows, n_phecodes), -999, np.int64)
    want_days[ref["row"], ref["col"]] = ref["size"]
    want_first[ref["row"], ref["col"]] = ref["min"]
    assert (want_first == 0).any()

    held = []
    original = bucketed._bucket

    def spy(b):
        d, f = original(b)
        held.append(d.shape[0])
        return d, f

    bucketed._bucket = spy
    for block in (13, 29, 50, 500):   # blocks inside a bucket, straddling two, spanning all
        bucketed._cached, bucketed.buckets_aggregated = None, 0
        got_days, got_first = [], []
        for start in range(0, n_rows, block):
            d, f = bucketed.block(start, min(start + block, n_rows))
            assert d.shape == (min(start + block, n_rows) - start, n_phecodes)
            got_days.append(d.toarray())
            f = f.tocoo()
            dense = np.full(f.shape, -999, np.int64)
            dense[f.row, f.col] = f.data
            got_first.append(dense)
        np.testing.assert_array_equal(np.vstack(got_days), want_days)
        np.testing.assert_array_equal(np.vstack(got_first), want_first)
        assert bucketed.buckets_aggregated == store.n_buckets      # each bucket once, in order
    assert max(held) == store.rows_per_bucket < n_rows                 # never all rows at once


def _ids(rng, n):
    # unsorted, varied lengths, prefixes of one another, non-ASCII (code point = UTF-8 byte order)
    base = ["S1", "S10", "S1a", "s1", "Z", "é9", "e", "S2", "ß", "A_1", "日本", "S100"]
    ids = base + [f"P{rng.integers(0, 10**6):06d}-{i}" for i in range(n - len(base))]
    return np.array(rng.permutation(ids), dtype=object)


@pytest.mark.parametrize("row_group_rows", [7, None])
def test_first_dates_parts_equal_one_sort(tmp_path, row_group_rows):
    rng = np.random.default_rng(11)
    ids = _ids(rng, 60)
    traits = ["phecode_250.2", "phecode_250", "t2d", "ldl_first", "phecodeX_CV_401", "Éx", "phecode_8"]
    pairs = rng.choice(len(ids) * len(traits), size=150, replace=False)   # distinct (sample, trait)
    rows, cols = pairs // len(traits), pairs % len(traits)
    days = rng.integers(-100, 20000, len(rows))
    writer = FirstDatesWriter(ids, traits, tmp_path / "scratch", parts=4,
                              **({} if row_group_rows is None else {"row_group_rows": row_group_rows}))
    assert writer.store.n_buckets == 4
    writer.store.spill_events = 20
    half = len(rows) // 2      # names for some cases, ranks for others, in no particular order
    writer.add(rows[:half], np.array(traits, dtype=object)[cols[:half]], days[:half])
    writer.add(rows[half:], writer.trait_ranks(traits)[cols[half:]], days[half:])
    assert writer.store._files
    assert writer.write(tmp_path / "parts.parquet") == len(rows)
    writer.release()

    table = pa.table({"sample_id": pa.array(ids[rows], pa.string()),
                      "trait": pa.array(np.array(traits, dtype=object)[cols], pa.string()),
                      "first_date": pa.array(days.astype("datetime64[D]"), pa.date32())})
    table = table.sort_by([("sample_id", "ascending"), ("trait", "ascending")])
    pq.write_table(table, tmp_path / "one.parquet", compression="zstd", row_group_size=row_group_rows)
    assert pq.read_table(tmp_path / "parts.parquet").equals(pq.read_table(tmp_path / "one.parquet"))
    meta = pq.ParquetFile(tmp_path / "parts.parquet").metadata
    assert meta.num_row_groups == (1 if row_group_rows is None else -(-len(rows) // 7))
    assert (tmp_path / "parts.parquet").read_bytes() == (tmp_path / "one.parquet").read_bytes()


def test_first_dates_without_cases(tmp_path):
    writer = FirstDatesWriter(np.array(["b", "a"], dtype=object), ["t"], tmp_path / "scratch", parts=2)
    assert writer.write(tmp_path / "none.parquet") == 0
    empty = pa.table({"sample_id": pa.array([], pa.string()), "trait": pa.array([], pa.string()),
                      "first_date": pa.array(np.empty(0, "datetime64[D]"), pa.date32())})
    pq.write_table(empty, tmp_path / "one.parquet", compression="zstd")
    assert (tmp_path / "none.parquet").read_bytes() == (tmp_path / "one.parquet").read_bytes()
