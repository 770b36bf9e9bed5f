"""Finding and reading record tables: CSV/TSV (optionally gzipped) or Parquet, in a folder or a zip.

Table names are matched case-insensitively (OMOP exports write ``PERSON.csv`` or ``person.csv``);
a zip archive (``Synthea27Nj_5.4.zip`` as OHDSI ships it) is unpacked into a scratch folder first,
skipping macOS ``__MACOSX`` entries. CSV tables are read by Spark with every column as text, so
that parsing (dates, numbers) is done once, by hubscan, with bad values counted and located.

Errors name the file and, for CSV, the line (1 = header); for Parquet, the record (0-based).
"""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from hubscan.errors import InputError

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")


def unpack_if_zip(path: str | Path, scratch: str | Path) -> Path:
    """``path`` itself if it is a folder or a table file; a zip is unpacked under ``scratch``."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"records input {path} does not exist")
    if path.is_file() and zipfile.is_zipfile(path):
        target = Path(scratch) / f"unzipped-{path.stem}"
        if not (target / ".complete").exists():
            target.mkdir(parents=True, exist_ok=True)
            try:
                with zipfile.ZipFile(path) as zf:
                    for info in zf.infolist():
                        name = Path(info.filename)
                        if info.is_dir() or "__MACOSX" in name.parts or name.name.startswith("._"):
                            continue
                        with zf.open(info) as src, open(target / name.name, "wb") as dst:
                            while chunk := src.read(1 << 20):
                                dst.write(chunk)
            except zipfile.BadZipFile as exc:
                raise InputError(f"{path}: not a readable zip archive ({exc})") from None
            (target / ".complete").touch()
        return target
    return path


def find_table(folder: Path, name: str) -> Path | None:
    """The file (or Parquet folder) holding table ``name`` in ``folder``, case-insensitively."""
    if not folder.is_dir():
        return None
    wanted = name.lower()
    for entry in sorted(folder.iterdir()):
        lower = entry.name.lower()
        for suffix in CSV_SUFFIXES + PARQUET_SUFFIXES:
            if lower == wanted + suffix:
                return entry
        if entry.is_dir() and lower == wanted and any(p.suffix == ".parquet" for p in entry.iterdir()):
            return entry
    return None


def is_parquet(path: Path) -> bool:
    return path.is_dir() or path.name.lower().endswith(PARQUET_SUFFIXES)


def _open_text(path: Path):
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def csv_delimiter(path: Path) -> str:
    """Tab if the header line has a tab, else comma."""
    with _open_text(path) as fh:
        header = fh.readline()
    if not header.strip():
        raise InputError(f"{path}: empty file (no header line)")
    return "\t" if "\t" in header else ","


def table_columns(path: Path) -> list[str]:
    """Column names of a CSV header or a Parquet schema."""
    if is_parquet(path):
        import pyarrow.parquet as pq

        files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
        if not files:
            raise InputError(f"{path}: Parquet folder without .parquet files")
        return list(pq.read_schema(files[0]).names)
    with _open_text(path) as fh:
        row = next(csv.reader(fh, delimiter=csv_delimiter(path)), None)
    if not row:
        raise InputError(f"{path}: empty file (no header line)")
    return [c.strip() for c in row]


def require_columns(path: Path, columns: Iterable[str], what: str) -> dict[str, str]:
    """Map each required lower-case column name to its spelling in the file, or raise naming the
    missing ones."""
    present = {c.lower(): c for c in table_columns(path)}
    missing = [c for c in columns if c.lower() not in present]
    if missing:
        raise InputError(f"{path}: {what} needs column(s) {', '.join(missing)}; the header has "
                         f"{', '.join(present.values()) or 'nothing'}")
    return present


def read_table(spark, path: Path, columns: Iterable[str] | None = None):
    """Spark DataFrame of the table with every requested column as a string, lower-case names.

    Missing optional columns (asked for but absent) come back as null strings.
    """
    from pyspark.sql import functions as F

    present = {c.lower(): c for c in table_columns(path)}
    if is_parquet(path):
        frame = spark.read.parquet(str(path))
    else:
        frame = (spark.read.option("header", True).option("sep", csv_delimiter(path)).option("inferSchema", False)
                 .option("mode", "PERMISSIVE").option("escape", '"').csv(str(path)))
    wanted = list(columns) if columns is not None else list(present)
    cols = []
    for c in wanted:
        c = c.lower()
        if c in present:
            cols.append(F.col(f"`{present[c]}`").cast("string").alias(c))
        else:
            cols.append(F.lit(None).cast("string").alias(c))
    return frame.select(*cols)


def locate(path: Path, predicate: Callable[[dict], bool], columns: Iterable[str] | None = None) -> str:
    """Where the first row matching ``predicate`` (a function of the row as a dict of lower-case
    column -> text) is: ``"line N"`` for CSV (header = line 1) or ``"record N"`` for Parquet.

    Used only on error paths, to name the first offending row in a message.
    """
    if is_parquet(path):
        import pyarrow.parquet as pq

        files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
        index = 0
        for f in files:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=65536):
                table = batch.to_pydict()
                names = list(table)
                for i in range(batch.num_rows):
                    row = {n.lower(): (None if table[n][i] is None else str(table[n][i])) for n in names}
                    if predicate(row):
                        return f"record {index + i}"
                index += batch.num_rows
        return "an unknown record"
    with _open_text(path) as fh:
        reader = csv.reader(fh, delimiter=csv_delimiter(path))
        header = [h.strip().lower() for h in next(reader, [])]
        for values in reader:
            row = dict(zip(header, values))
            if predicate(row):
                return f"line {reader.line_num}"
    return "an unknown line"
