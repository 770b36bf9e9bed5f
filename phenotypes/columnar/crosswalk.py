"""Crosswalks to ICD for the in-process engine: the same sources and rules as
:mod:`phenotypes.vocab.crosswalk` (a user table and/or OMOP ``Maps to``), as a polars frame."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from hubscan.errors import InputError
from phenotypes.columnar.records import canonical_vocabulary
from phenotypes.columnar.tables import read_whole
from phenotypes.vocab.codes import ICD_FAMILY, normalise_code
from phenotypes.vocab.crosswalk import CROSSWALK_COLUMNS


@dataclass
class Crosswalk:
    """(vocabulary, code, target_vocabulary, target_code), codes normalised, targets ICD, distinct."""

    frame: pl.DataFrame


def normalise(vocabulary: pl.Expr, code: pl.Expr) -> pl.Expr:
    """:func:`~phenotypes.vocab.codes.normalise_code` of each (vocabulary, code) (small tables only)."""
    return pl.struct(v=vocabulary, c=code).map_elements(lambda r: normalise_code(r["v"], r["c"]) if r["v"] else
                                                        ((r["c"] or "").strip() or None), return_dtype=pl.String)


def read_crosswalk_table(path: str | Path) -> pl.DataFrame:
    from phenotypes.sources.tables import require_columns

    path = Path(path)
    if not path.exists():
        raise InputError(f"crosswalk table {path} does not exist")
    require_columns(path, CROSSWALK_COLUMNS, "a crosswalk table")
    t = read_whole(path, list(CROSSWALK_COLUMNS))
    t = t.with_columns(canonical_vocabulary(pl.col("source_vocabulary")).alias("vocabulary"),
                       canonical_vocabulary(pl.col("target_vocabulary")).alias("target_vocabulary_c"))
    bad = t.filter(pl.col("vocabulary").is_null() | pl.col("target_vocabulary_c").is_null())
    if len(bad):
        row = bad.row(0, named=True)
        name = row["source_vocabulary"] if row["vocabulary"] is None else row["target_vocabulary"]
        raise InputError(f"{path}: unknown vocabulary {name!r}")
    t = t.with_columns(pl.col("source_code").str.strip_chars(" "), pl.col("target_code").str.strip_chars(" "))
    return (t.select("vocabulary", normalise(pl.col("vocabulary"), pl.col("source_code")).alias("code"),
                     pl.col("target_vocabulary_c").alias("target_vocabulary"),
                     normalise(pl.col("target_vocabulary_c"), pl.col("target_code")).alias("target_code"))
            .filter(pl.col("target_vocabulary").is_in(list(ICD_FAMILY))))


def build_crosswalk(table: str | Path | None, sources, scratch) -> Crosswalk:
    """The crosswalk from a user table and/or the vocabulary tables of OMOP ``sources``."""
    from phenotypes.columnar.omop import omop_crosswalk_frame
    from phenotypes.sources.omop import open_omop

    frames = []
    if table is not None:
        frames.append(read_crosswalk_table(table))
    for src in sources:
        if src.kind == "omop":
            f = omop_crosswalk_frame(open_omop(src.path, scratch))
            if f is not None:
                frames.append(f)
    if not frames:
        raise InputError("a crosswalk was asked for but no table was given and no OMOP source has concept and "
                         "concept_relationship tables")
    return Crosswalk(pl.concat(frames).unique())
