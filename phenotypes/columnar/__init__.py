"""The in-process phenotype engine: records streamed through polars on one machine, no JVM.

Why polars (not DuckDB, not plain pyarrow): it is already a hubscan dependency (no new wheel), its
CSV and Parquet scanners parse on every core and hand the events over in batches
(``LazyFrame.collect_batches``), and its joins, ``unique`` and ``group_by`` are the relational
operations the engine needs, vectorised and multi-threaded, on Arrow memory that numpy and pyarrow
read without copies. DuckDB would do the same joins in SQL but is one more 30 MB dependency and
its out-of-core spilling is not needed here: the engine bounds memory itself (below). Plain
pyarrow has no hash join / distinct fast enough for 10^8 rows.

How memory stays bounded (whatever the number of events):

1. **One streaming pass** over each source (:mod:`phenotypes.columnar.events`) reads a batch of
   ``BATCH_ROWS`` rows, validates it exactly as the Spark engine does (same flags, counts and
   errors), normalises each distinct code once (a code table of tens of thousands of rows), and
   keeps per batch only what the traits need: ``(row, code id, day)`` as three int32 for events of
   linked patients (12 bytes an event instead of ~100 bytes of text), per-patient record spans,
   per-code event counts and the few measurements that quantitative traits ask for.
2. The compact events go into **buckets by output row** (:class:`~phenotypes.columnar.store.EventStore`):
   each bucket holds the events of a contiguous range of samples; a bucket's buffer goes to a
   scratch file when the buffers exceed ``SPILL_EVENTS``. The number of buckets is chosen from the
   size of the inputs so that one bucket holds about ``BUCKET_EVENTS`` events.
3. Phecodes, custom definitions (:mod:`phenotypes.columnar.traits`) are then derived **bucket by
   bucket**: distinct ``(row, phecode, day)``, per ``(row, phecode)`` the number of distinct days
   and the first day. Phecode counts are made **as the matrix is written**
   (:class:`~phenotypes.columnar.traits.BucketedPhecodeDays`): the writer walks the rows in order
   and asks for a block of rows; the bucket holding them is aggregated then, and dropped when the
   writer has passed it. The cases' first dates go to scratch (12 bytes a case) and are sorted one
   range of sample ids at a time (:mod:`phenotypes.matrix.first_dates`).

So the peak is about one bucket (``BUCKET_EVENTS`` x ~40 bytes through the roll-up join, and that
bucket's sparse counts) plus the code table, the person and sample tables (a few hundred bytes a
person) and one block of the matrix, independent of the number of events and not growing with
persons x traits. Custom definitions (a few traits) are still held for all samples.

The rules, counts and outputs are those of the Spark engine (:mod:`phenotypes.sources`,
:mod:`phenotypes.phecodes.count`, :mod:`phenotypes.definitions.evaluate`,
:mod:`phenotypes.quantitative.traits`), which stays the engine for clusters;
``tests/phenotypes/test_engines.py`` keeps both engines' outputs identical, byte for byte.
"""

from phenotypes.columnar.records import ColumnarRecords, load_records_columnar

__all__ = ["ColumnarRecords", "load_records_columnar"]
