"""The results store and every published file, opened by the readers users have, with their
default settings: pandas, pyarrow, polars, DuckDB and Hail (the store through Spark, which Hail
reads Parquet with). Each reader's rows are compared with hubscan's own reader
(``open_results``) or with pandas' reading of the same file: counts and keys exactly, values at
1e-12 relative (the same decimal text or Parquet doubles; only the parsers differ)."""

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from gwas.results.store import open_results


def _store_rows(cohort) -> pd.DataFrame:
    rows = open_results(cohort.root).read(columns=["contig", "position", "beta"])
    return rows.sort_values(["trait", "contig", "position"], kind="mergesort").reset_index(drop=True)


def _same(frame: pd.DataFrame, reference: pd.DataFrame) -> None:
    frame = frame[["trait", "contig", "position", "beta"]].copy()
    frame["trait"] = frame["trait"].astype(str)
    frame = frame.sort_values(["trait", "contig", "position"], kind="mergesort").reset_index(drop=True)
    assert len(frame) == len(reference)
    assert (frame["trait"].to_numpy() == reference["trait"].to_numpy()).all()
    assert (frame["contig"].to_numpy() == reference["contig"].to_numpy()).all()
    np.testing.assert_array_equal(frame["position"].to_numpy(np.int64), reference["position"].to_numpy(np.int64))
    np.testing.assert_allclose(frame["beta"].to_numpy(float), reference["beta"].to_numpy(float), rtol=1e-12)


def test_pandas_and_pyarrow_read_the_results_folder(cohort):
    reference = _store_rows(cohort)
    assert not (cohort.root / "results.json").exists() and (cohort.root / "_results.json").is_file()
    _same(pd.read_parquet(cohort.root), reference)
    _same(pq.read_table(cohort.root).to_pandas(), reference)


def test_polars_reads_every_file_and_each_trait_folder(cohort):
    import polars as pl

    reference = _store_rows(cohort)
    # polars refuses a folder holding other files (_SUCCESS, _results.json): a glob reads every row
    every = pl.read_parquet(str(cohort.root / "**" / "*.parquet"))
    assert every.height == len(reference)
    # the trait column comes from the folder names: one trait folder per read, or hive_partitioning=True
    trait = reference["trait"].iloc[0]
    folder = next(p for p in cohort.root.glob("trait=*") if open_results(cohort.root).read(traits=[trait]).shape[0]
                  and p.name.endswith(trait.replace("/", "%2F")))
    one = pl.read_parquet(folder).to_pandas().assign(trait=trait)
    _same(one, reference[reference.trait == trait].reset_index(drop=True))
    _same(pl.read_parquet(str(cohort.root / "**" / "*.parquet"), hive_partitioning=True).to_pandas(), reference)


def test_duckdb_reads_the_results_folder(cohort):
    duckdb = pytest.importorskip("duckdb", reason="duckdb is a test dependency (pyproject [test])")
    frame = duckdb.sql(f"select * from read_parquet('{cohort.root}/**/*.parquet')").df()
    _same(frame, _store_rows(cohort))  # trait from the trait=<name> folders (hive partitioning detected)


def test_hail_reads_the_results_folder_through_spark(cohort, spark, hail):
    table = hail.Table.from_spark(spark.read.parquet(str(cohort.root)))
    _same(table.to_pandas(), _store_rows(cohort))


def _published_text(out):
    """(path, separator) of every published text table."""
    files = [(p, "\t") for p in sorted((out / "gwas-ssf").glob("*.tsv.gz"))]
    files += [(p, " ") for p in sorted((out / "regenie").glob("*.regenie.gz"))]
    files += [(p, "\t") for p in sorted((out / "plink2").glob("*.glm.*.gz"))]
    assert len(files) >= 6
    return files


def _reference(path, sep) -> pd.DataFrame:
    return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)


def _compare_text(frame: pd.DataFrame, reference: pd.DataFrame, path) -> None:
    """Columns, row count, and every value as the same text or the same number."""
    assert list(frame.columns) == list(reference.columns), path
    assert len(frame) == len(reference), path
    for column in reference.columns:
        want = reference[column].to_numpy()
        got = frame[column].to_numpy()
        numeric = pd.to_numeric(pd.Series(want), errors="coerce")
        if numeric.notna().all():
            np.testing.assert_allclose(pd.to_numeric(pd.Series(got)).to_numpy(float), numeric.to_numpy(float),
                                       rtol=1e-12, err_msg=f"{path}: {column}")
        else:
            text = pd.Series(got).astype(str).where(pd.Series(got).notna(), "NA").to_numpy()
            ok = (text == want) | np.isin(want, ["NA", "#NA", "."])
            assert ok.all(), (path, column, want[~ok][:3], text[~ok][:3])


def test_pandas_polars_duckdb_arrow_read_every_published_text_file(published):
    import polars as pl

    duckdb = pytest.importorskip("duckdb", reason="duckdb is a test dependency (pyproject [test])")
    out, _ = published
    for path, sep in _published_text(out):
        reference = _reference(path, sep)
        assert len(reference) > 100, path  # enough rows that a reader guessing types from the first ones is tested
        _compare_text(pd.read_csv(path, sep=sep), reference, path)
        _compare_text(pl.read_csv(path, separator=sep).to_pandas(), reference, path)
        _compare_text(pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=sep)).to_pandas(), reference, path)
        _compare_text(duckdb.read_csv(str(path), sep=sep).df(), reference, path)


def test_text_chromosomes_are_numbers_for_x_after_the_autosomes(published):
    import polars as pl

    out, _ = published
    for path, sep in _published_text(out):
        frame = pl.read_csv(path, separator=sep)
        chrom = frame.get_column(frame.columns[0])
        assert chrom.dtype == pl.Int64, (path, chrom.dtype)
        assert 23 in chrom.to_list() and chrom.to_list().index(23) > 100, path  # X late in the file


def test_every_reader_opens_the_published_parquet(published):
    import polars as pl

    duckdb = pytest.importorskip("duckdb", reason="duckdb is a test dependency (pyproject [test])")
    out, _ = published
    files = sorted((out / "parquet").glob("*.parquet"))
    assert files
    for path in files:
        reference = pq.read_table(path).to_pandas()
        for frame in (pd.read_parquet(path), pl.read_parquet(path).to_pandas(),
                      duckdb.sql(f"select * from read_parquet('{path}')").df()):
            assert list(frame.columns) == list(reference.columns) and len(frame) == len(reference), path
            np.testing.assert_allclose(frame["beta"].to_numpy(float), reference["beta"].to_numpy(float), rtol=1e-12)


def test_hail_imports_every_published_text_file(published, hail):
    out, _ = published
    for path, sep in _published_text(out):
        reference = _reference(path, sep)
        # Hail reads a .gz file (gzip, not block-gzip) only when told it may read it serially
        table = hail.import_table(str(path), delimiter=sep, force=True, missing=["NA", "#NA"], impute=True)
        assert table.count() == len(reference), path
        assert list(table.row) == list(reference.columns), path
