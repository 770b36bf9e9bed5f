"""Reading a release folder (``hubscan publish`` output) — the only module that knows its layout.

The site is built from what passed disclosure control and nothing else: ``publish.json`` (traits,
their protected counts, the genome build, λGC), and each published trait's rows from
``parquet/<stem>.parquet`` (typed, exact -log10 p below 1e-308) or, when the release has no
Parquet, ``regenie/<stem>.regenie.gz`` (text as released). Never the results store.

Rows come as Arrow record batches of :data:`COLUMNS` (bounded memory: a trait is never read whole
here, and no row becomes a Python object): ``chrom``, ``pos`` (1-based), ``vid`` (the release's
variant id, '' when it gave none), ``ref`` (other allele), ``alt`` (the effect allele), ``p``
(-log10 p), ``b`` (beta per copy of ``alt``, log-odds for binary traits), ``s`` (its standard error),
``f`` (effect allele frequency), ``n`` (protected sample count, NaN when suppressed); floats are the
release's float64 values.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hubscan.errors import InputError

PUBLISH_FORMAT = "hubscan-publication"
BATCH_ROWS = 200_000


#: the columns of every batch :meth:`Release.batches` yields (Arrow types)
COLUMNS = pa.schema([("chrom", pa.string()), ("pos", pa.int64()), ("vid", pa.string()), ("ref", pa.string()),
                     ("alt", pa.string()), ("p", pa.float64()), ("b", pa.float64()), ("s", pa.float64()),
                     ("f", pa.float64()), ("n", pa.float64())])


@dataclass
class Release:
    """A release folder: ``path``, ``summary`` (publish.json) and its published ``traits``
    (publish.json entries with ``withheld`` null, in release order)."""

    path: Path
    summary: dict

    @property
    def traits(self) -> list[dict]:
        return [t for t in self.summary.get("traits", []) if not t.get("withheld")]

    @property
    def withheld_traits(self) -> list[dict]:
        return [t for t in self.summary.get("traits", []) if t.get("withheld")]

    @property
    def genome_build(self) -> str | None:
        return self.summary.get("genome_build")

    def data_file(self, trait: dict) -> Path:
        """The file rows are read from: Parquet when released, else REGENIE text."""
        stem = trait["stem"]
        for rel in (f"parquet/{stem}.parquet", f"regenie/{stem}.regenie.gz"):
            if rel in trait.get("files", []) or (self.path / rel).is_file():
                path = self.path / rel
                if not path.is_file():
                    raise InputError(f"{self.path}: publish.json lists {rel} for trait {trait['name']!r} "
                                     "but the file is missing")
                return path
        raise InputError(f"{self.path}: trait {trait['name']!r} has neither parquet/{stem}.parquet nor "
                         f"regenie/{stem}.regenie.gz (publish with --formats including parquet or regenie)")

    def download_files(self, trait: dict) -> list[str]:
        """The trait's released files (paths relative to the release) a user may download."""
        return [f for f in trait.get("files", []) if (self.path / f).is_file()]

    def batches(self, trait: dict, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        path = self.data_file(trait)
        try:
            if path.suffix == ".parquet":
                yield from _parquet_rows(path, batch_rows)
            else:
                yield from _regenie_rows(path, batch_rows)
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"{path}: cannot be read as a released table ({exc})") from None


def open_release(path) -> Release:
    """The release at ``path``; InputError (one line naming the file) when it is not one."""
    path = Path(path)
    meta = path / "publish.json"
    if not meta.is_file():
        raise InputError(f"{path}: not a release folder (no publish.json; make one with `hubscan publish`)")
    try:
        summary = json.loads(meta.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{meta}: cannot be read as JSON ({exc})") from None
    if not isinstance(summary, dict) or summary.get("format") != PUBLISH_FORMAT:
        raise InputError(f"{meta}: not a hubscan publication (format {summary.get('format')!r}"
                         if isinstance(summary, dict) else f"{meta}: not a hubscan publication")
    traits = summary.get("traits")
    if not isinstance(traits, list):
        raise InputError(f"{meta}: 'traits' is not a list")
    for k, t in enumerate(traits):
        if not isinstance(t, dict) or "name" not in t:
            raise InputError(f"{meta}: traits entry {k + 1} has no name")
        if not t.get("withheld") and not t.get("stem"):
            raise InputError(f"{meta}: published trait {t['name']!r} has no file stem")
    return Release(path, summary)


def _batch(chrom, pos, vid, ref, alt, p, b, s, f, n) -> pa.RecordBatch:
    """A :data:`COLUMNS` batch; ``vid`` null or '.' becomes ''."""
    vid = pc.fill_null(pc.if_else(pc.equal(vid, "."), "", vid), "")
    arrays = [pc.cast(chrom, pa.string()), pc.cast(pos, pa.int64()), pc.cast(vid, pa.string()),
              pc.cast(ref, pa.string()), pc.cast(alt, pa.string())]
    arrays += [pc.fill_null(pc.cast(x, pa.float64()), float("nan")) for x in (p, b, s, f, n)]
    return pa.record_batch(arrays, schema=COLUMNS)


def _parquet_rows(path: Path, batch_rows: int) -> Iterator[pa.RecordBatch]:
    import pyarrow.parquet as pq

    columns = ["chromosome", "base_pair_location", "variant_id", "other_allele", "effect_allele",
               "neg_log10_p_value", "beta", "standard_error", "effect_allele_frequency", "n"]
    f = pq.ParquetFile(path)
    missing = [c for c in columns if c not in f.schema_arrow.names]
    if missing:
        raise InputError(f"{path}: lacks column(s) {', '.join(missing)}")
    for batch in f.iter_batches(batch_size=batch_rows, columns=columns):
        c = dict(zip(batch.schema.names, batch.columns))
        yield _batch(*(c[k] for k in columns))


def _regenie_rows(path: Path, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """REGENIE-style text: ``CHROM GENPOS ID ALLELE0 ALLELE1 A1FREQ INFO N TEST BETA SE CHISQ LOG10P
    EXTRA``; CHROM in plink's numeric codes (X 23, Y 24, MT 26, named back here); ALLELE1 is the
    effect allele; ``NA`` missing; ID is ``chrom:pos:ref:alt`` when the release had no id."""
    import pandas as pd

    from gwas.publish.text import PLINK_CHROMOSOME_NAMES

    with gzip.open(path, "rt") as f:
        reader = pd.read_csv(f, sep=" ", chunksize=batch_rows, dtype={"CHROM": str, "ID": str, "ALLELE0": str,
                                                                       "ALLELE1": str}, na_values=["NA"],
                             keep_default_na=False)
        for frame in reader:
            for col in ("CHROM", "GENPOS", "ID", "ALLELE0", "ALLELE1", "A1FREQ", "N", "BETA", "SE", "LOG10P"):
                if col not in frame:
                    raise InputError(f"{path}: lacks column {col}")
            chrom = np.array([PLINK_CHROMOSOME_NAMES.get(c, c) for c in frame["CHROM"]], dtype=object)
            pos = frame["GENPOS"].to_numpy(np.int64)
            ref, alt = frame["ALLELE0"].to_numpy(object), frame["ALLELE1"].to_numpy(object)
            ids = frame["ID"].to_numpy(object).copy()
            made = np.array([i == f"{c}:{p}:{r}:{a}" for i, c, p, r, a in zip(ids, chrom, pos, ref, alt)], bool)
            ids[made] = ""
            yield _batch(pa.array(chrom, pa.string()), pa.array(pos), pa.array(ids, pa.string()),
                         pa.array(ref, pa.string()), pa.array(alt, pa.string()),
                         *(pa.array(frame[k].to_numpy(np.float64)) for k in ("LOG10P", "BETA", "SE", "A1FREQ", "N")))
