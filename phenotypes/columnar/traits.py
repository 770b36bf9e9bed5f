"""Phecodes, custom binary definitions and measurements from the columnar records, bucket by bucket.

Each function is the in-process twin of a Spark function and hands its result to the same pure
core: :func:`count_phecode_days` (:func:`phenotypes.phecodes.count.count_phecode_days`, then
:func:`phenotypes.phecodes.rules.phecode_status`), :func:`evaluate_definitions`
(:func:`phenotypes.definitions.evaluate.definition_traits`), :func:`evaluate_measurements`
(:func:`phenotypes.quantitative.traits.measurement_traits`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl

from phenotypes.columnar.records import ColumnarRecords
from phenotypes.phecodes.count import PhecodeDays
from phenotypes.phecodes.maps import PhecodeMap
from phenotypes.phecodes.resolve import resolve_codes
from phenotypes.vocab.codes import ICD_FAMILY

DAYS_PER_YEAR = 365.25
EPOCH = np.datetime64("1970-01-01", "D")


def _events(ev: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({"row": ev["row"], "code_id": ev["code"], "day": ev["day"]})


def icd_codes(records: ColumnarRecords, crosswalk=None) -> pl.DataFrame:
    """(code_id, family, code, n_events): every ICD code of the records, and every non-ICD code
    translated to ICD by the crosswalk (one row per target code, as the Spark engine's union)."""
    cf = records.codes.frame()
    family = pl.col("vocabulary").replace_strict(ICD_FAMILY, default=None, return_dtype=pl.String)
    icd = cf.filter(pl.col("vocabulary").is_in(list(ICD_FAMILY))).select("code_id", family.alias("family"), "code",
                                                                        "n_events")
    if crosswalk is not None:
        other = cf.filter(~pl.col("vocabulary").is_in(list(ICD_FAMILY)))
        tr = other.join(crosswalk.frame, on=["vocabulary", "code"]).select(
            "code_id", pl.col("target_vocabulary").replace_strict(ICD_FAMILY, default=None,
                                                                  return_dtype=pl.String).alias("family"),
            pl.col("target_code").alias("code"), "n_events")
        icd = pl.concat([icd, tr])
    return icd


def count_phecode_days(records: ColumnarRecords, pmap: PhecodeMap, patient_rows: pd.DataFrame, n_samples: int,
                       parent_fallback: bool = True, crosswalk=None) -> BucketedPhecodeDays:
    """Distinct days with each phecode, and the first day, for every linked sample: the code
    resolution now, the per-sample counts later, one bucket at a time (:class:`BucketedPhecodeDays`)."""
    icd = icd_codes(records, crosswalk)
    counts = (icd.group_by("family", "code").agg(pl.col("n_events").sum()).sort("family", "code")
              .to_pandas())
    resolution = resolve_codes(counts, pmap, parent_fallback)
    col_of = {p: j for j, p in enumerate(pmap.phecodes)}
    res = resolution.pairs.assign(col=resolution.pairs["phecode"].map(col_of))
    res = res[res["col"].notna()]
    shape = (n_samples, len(pmap.phecodes))
    if res.empty or patient_rows.empty:
        return BucketedPhecodeDays(None, None, shape, resolution)
    res_pl = pl.from_pandas(res[["family", "code"]].assign(col=res["col"].astype("int32")))
    code_cols = icd.select("code_id", "family", "code").join(res_pl, on=["family", "code"]).select(
        "code_id", "col").unique()
    return BucketedPhecodeDays(records.store, code_cols, shape, resolution)


class BucketedPhecodeDays:
    """The (samples, phecodes) distinct-day counts and first days, computed for one bucket of the
    event store at a time when the matrix writer asks for a row range (:meth:`block`).

    Only the current bucket's sparse counts are held (24 bytes a non-zero of that bucket's rows),
    never all samples': the matrix writer walks the rows in order, so each bucket is aggregated
    once. :meth:`whole` gives the one-shot matrices (tests).
    """

    def __init__(self, store, code_cols: pl.DataFrame | None, shape: tuple[int, int], resolution):
        self.store, self.code_cols, self.shape, self.resolution = store, code_cols, shape, resolution
        self._cached: tuple[int, object, object] | None = None
        #: buckets aggregated so far (each once when rows are asked for in order)
        self.buckets_aggregated = 0

    def _bucket(self, b: int):
        """(days, first) CSR of bucket ``b``'s rows, shape (rows of the bucket, phecodes)."""
        from scipy import sparse

        if self._cached is not None and self._cached[0] == b:
            return self._cached[1], self._cached[2]
        self._cached = None                      # free the previous bucket before the next
        lo = b * self.store.rows_per_bucket
        hi = min(lo + self.store.rows_per_bucket, self.shape[0])
        shape = (max(hi - lo, 0), self.shape[1])
        ev = self.store.bucket(b)
        if len(ev):
            agg = (_events(ev).join(self.code_cols, on="code_id").select("row", "col", "day").unique()
                   .group_by("row", "col").agg(pl.len().cast(pl.Int32).alias("days"),
                                               pl.col("day").min().alias("first")))
            r = agg["row"].to_numpy().astype(np.int64) - lo
            c = agg["col"].to_numpy().astype(np.int64)
            d, f = agg["days"].to_numpy().astype(np.int32), agg["first"].to_numpy().astype(np.int32)
        else:
            r = c = np.empty(0, np.int64)
            d = f = np.empty(0, np.int32)
        del ev
        days = sparse.csr_matrix((d, (r, c)), shape=shape, dtype=np.int32)
        first = sparse.csr_matrix((f, (r, c)), shape=shape, dtype=np.int32)
        days.sort_indices()
        first.sort_indices()
        self._cached = (b, days, first)
        self.buckets_aggregated += 1
        return days, first

    def block(self, start: int, stop: int):
        """(days, first): CSR (stop - start, phecodes) of rows ``[start, stop)``."""
        from scipy import sparse

        if self.store is None:
            empty = sparse.csr_matrix((stop - start, self.shape[1]), dtype=np.int32)
            return empty, empty.copy()
        per = self.store.rows_per_bucket
        days, firsts = [], []
        for b in range(start // per, (max(stop, start + 1) - 1) // per + 1):
            d, f = self._bucket(b)
            lo = b * per
            a, z = max(start, lo) - lo, min(stop, lo + per) - lo
            days.append(d[a:z])
            firsts.append(f[a:z])
        if len(days) == 1:
            return days[0], firsts[0]
        return sparse.vstack(days, format="csr"), sparse.vstack(firsts, format="csr")

    def whole(self) -> PhecodeDays:
        """Every row at once (as the Spark engine's :class:`PhecodeDays`)."""
        days, first = self.block(0, self.shape[0])
        return PhecodeDays(days, first, self.resolution)


def _birth_days(samples: pd.DataFrame, rows: np.ndarray) -> pl.DataFrame:
    """(row, birth): days since 1970-01-01 of each row's birth date (null when unknown)."""
    birth = pd.to_datetime(pd.Series(samples["birth_date"].to_numpy()[rows])).astype("datetime64[ns]")
    return pl.DataFrame({"row": pl.Series(rows.astype(np.int32)),
                         "birth": pl.from_pandas(birth).cast(pl.Date).cast(pl.Int32)})


def evaluate_definitions(records: ColumnarRecords, definitions, patient_rows: pd.DataFrame, samples: pd.DataFrame,
                         crosswalk=None):
    """Every binary definition for the genotype samples (one pass over the buckets)."""
    from phenotypes.definitions.evaluate import EXCLUDE, definition_traits, match_codes

    vocabs = sorted({r.vocabulary for d in definitions for r in (*d.include, *d.exclude)})
    cf = records.codes.frame().filter(pl.col("vocabulary").is_in(vocabs))
    matches = match_codes(cf.select("vocabulary", "code").sort("vocabulary", "code").to_pandas(), definitions)
    hits = pd.DataFrame({"row": pd.Series(dtype=np.int32), "trait": pd.Series(dtype=np.int32),
                         "kind": pd.Series(dtype=np.int32), "days": pd.Series(dtype=np.int64),
                         "first": pd.Series(dtype=np.int32)})
    if not matches.empty and not patient_rows.empty:
        def day(d):
            return None if d is None else int((np.datetime64(d, "D") - EPOCH).astype(np.int64))

        windows = pl.DataFrame({
            "trait": np.arange(len(definitions), dtype=np.int32),
            "date_lo": pl.Series([day(d.dates[0]) for d in definitions], dtype=pl.Int32),
            "date_hi": pl.Series([day(d.dates[1]) for d in definitions], dtype=pl.Int32),
            "age_lo": pl.Series([d.age[0] for d in definitions], dtype=pl.Float64),
            "age_hi": pl.Series([d.age[1] for d in definitions], dtype=pl.Float64)})
        m = (pl.from_pandas(matches).with_columns(pl.col("trait").cast(pl.Int32), pl.col("kind").cast(pl.Int32))
             .join(cf.select("code_id", "vocabulary", "code"), on=["vocabulary", "code"])
             .join(windows, on="trait").drop("vocabulary", "code"))
        birth = _birth_days(samples, patient_rows["row"].to_numpy())
        age = (pl.col("day") - pl.col("birth")).cast(pl.Float64) / DAYS_PER_YEAR
        in_window = ((pl.col("date_lo").is_null() | (pl.col("day") >= pl.col("date_lo")))
                     & (pl.col("date_hi").is_null() | (pl.col("day") <= pl.col("date_hi")))
                     & (pl.col("age_lo").is_null() | (age >= pl.col("age_lo")))
                     & (pl.col("age_hi").is_null() | (age < pl.col("age_hi"))))
        parts = []
        for _, ev in records.store.buckets():
            if not len(ev):
                continue
            parts.append(_events(ev).join(m, on="code_id").join(birth, on="row")
                         .filter((pl.col("kind") == EXCLUDE) | in_window.fill_null(False))
                         .group_by("row", "trait", "kind")
                         .agg(pl.col("day").n_unique().cast(pl.Int64).alias("days"), pl.col("day").min().alias("first")))
        if parts:
            hits = pl.concat(parts).to_pandas()
    return definition_traits(hits, matches, definitions, samples)


def measurements_for(records: ColumnarRecords, definitions, patient_rows: pd.DataFrame,
                     samples: pd.DataFrame) -> pd.DataFrame:
    """(row, trait, code, day, value, unit, age) of every matching measurement of linked samples,
    in the order of the Spark engine's ``measurements_for``."""
    pairs = pl.DataFrame([(d.vocabulary, c, t) for t, d in enumerate(definitions) for c in d.codes],
                         schema={"vocabulary": pl.String, "code": pl.String, "trait": pl.Int32}, orient="row")
    columns = ["row", "trait", "code", "day", "value", "unit", "age"]
    if pairs.is_empty() or patient_rows.empty or records.measurements.is_empty():
        return pd.DataFrame(columns=columns)
    cf = records.codes.frame().select("code_id", "vocabulary", "code")
    birth = _birth_days(samples, patient_rows["row"].to_numpy())
    out = (records.measurements.join(cf, on="code_id").join(pairs, on=["vocabulary", "code"])
           .join(birth, on="row")
           .select("row", "trait", "code", "day", "value", "unit",
                   ((pl.col("day") - pl.col("birth")).cast(pl.Float64) / DAYS_PER_YEAR).alias("age"))).to_pandas()
    out["age"] = out["age"].astype(np.float64)
    return out.sort_values(["row", "trait", "day", "value", "unit"], kind="stable", na_position="last")


def evaluate_measurements(records: ColumnarRecords, definitions, patient_rows: pd.DataFrame, samples: pd.DataFrame):
    from phenotypes.quantitative.traits import measurement_traits

    return measurement_traits(measurements_for(records, definitions.quantitative, patient_rows, samples),
                              definitions, samples)
