"""Spark part of phecode derivation: distinct days per (sample, phecode) from the ICD events.

Two Spark jobs: the distinct ICD codes with their event counts (resolved on the driver by
:func:`~phenotypes.phecodes.resolve.resolve_codes`), then the join of events with the resolved
codes and the linked patients, aggregated to ``(row, phecode column, distinct days, first date)``
and brought back through Arrow as integer arrays only. Events of patients not linked to a
genotype sample are dropped by that join and never leave Spark.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from phenotypes.phecodes.maps import PhecodeMap
from phenotypes.phecodes.resolve import Resolution, resolve_codes
from phenotypes.vocab.codes import ICD_FAMILY

log = logging.getLogger(__name__)
EPOCH = np.datetime64("1970-01-01", "D")


@dataclass
class PhecodeDays:
    """Sparse (samples, phecodes) distinct-day counts and first dates (days since 1970-01-01)."""

    days: object          # scipy.sparse.csr_matrix int32
    first_day: object     # scipy.sparse.csr_matrix int32 (same pattern as days)
    resolution: Resolution

    def block(self, start: int, stop: int):
        """(days, first): rows ``[start, stop)``, the interface the matrix writer reads (the
        in-process engine computes them bucket by bucket instead:
        :class:`phenotypes.columnar.traits.BucketedPhecodeDays`)."""
        return self.days[start:stop], self.first_day[start:stop]

    def whole(self) -> PhecodeDays:
        return self


def icd_events(events, crosswalk=None):
    """(patient_id, date, family, code) of every ICD event, plus events translated to ICD by a
    crosswalk (:mod:`phenotypes.vocab.crosswalk`) when one is given."""
    from pyspark.sql import functions as F

    family = F.create_map(*[F.lit(x) for kv in ICD_FAMILY.items() for x in kv])
    icd = events.filter(F.col("vocabulary").isin(*ICD_FAMILY)).select("patient_id", "date", "vocabulary", "code")
    if crosswalk is not None:
        icd = icd.unionByName(crosswalk.translate(events))
    return icd.select("patient_id", "date", family[F.col("vocabulary")].alias("family"), "code")


def count_phecode_days(spark, events, pmap: PhecodeMap, patient_rows: pd.DataFrame, n_samples: int,
                       parent_fallback: bool = True, crosswalk=None) -> PhecodeDays:
    """Distinct days with each phecode for every linked sample (rows of ``patient_rows``)."""
    from pyspark.sql import functions as F
    from scipy import sparse

    icd = icd_events(events, crosswalk)
    counts = icd.groupBy("family", "code").agg(F.count(F.lit(1)).alias("n_events")).toPandas()
    resolution = resolve_codes(counts.sort_values(["family", "code"], kind="stable"), pmap, parent_fallback)
    log.info("phecodes: %d distinct ICD codes, %d events; %d codes (%d events) map to no phecode",
             resolution.report["distinct_codes"], resolution.report["events"],
             resolution.report["distinct_codes_unmapped"], resolution.report["events_unmapped"])
    col_of = {p: j for j, p in enumerate(pmap.phecodes)}
    res = resolution.pairs.assign(col=resolution.pairs["phecode"].map(col_of))
    res = res[res["col"].notna()]
    shape = (n_samples, len(pmap.phecodes))
    if res.empty or patient_rows.empty:
        empty = sparse.csr_matrix(shape, dtype=np.int32)
        return PhecodeDays(empty, empty.copy(), resolution)
    res_df = spark.createDataFrame(res[["family", "code"]].assign(col=res["col"].astype("int32")),
                                   "family string, code string, col int")
    rows_df = spark.createDataFrame(patient_rows[["patient_id", "row"]], "patient_id string, row int")
    joined = (icd.join(F.broadcast(rows_df), "patient_id").join(F.broadcast(res_df), ["family", "code"])
              .select("row", "col", "date").distinct())
    agg = joined.groupBy("row", "col").agg(F.count(F.lit(1)).cast("int").alias("days"),
                                           F.datediff(F.min("date"), F.lit("1970-01-01")).cast("int").alias("first"))
    pdf = agg.toPandas()
    r = pdf["row"].to_numpy(np.int64)
    c = pdf["col"].to_numpy(np.int64)
    days = sparse.csr_matrix((pdf["days"].to_numpy(np.int32), (r, c)), shape=shape, dtype=np.int32)
    # explicit zeros (a first date of 1970-01-01) are kept: same sparsity pattern as ``days``
    first = sparse.csr_matrix((pdf["first"].to_numpy(np.int32), (r, c)), shape=shape, dtype=np.int32)
    days.sort_indices()
    first.sort_indices()
    return PhecodeDays(days, first, resolution)
