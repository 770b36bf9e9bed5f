"""The sample x trait matrix on disk: Parquet (hubscan's own) and the plink2/REGENIE text layout.

**Parquet** (``traits.parquet``): column ``sample_id`` then one column per trait, rows in genotype
sample order; binary traits float32 (1 case, 0 control), quantitative float64; NaN = not in that
trait's analysis (missing, excluded or unlinked). Written in row groups of a few thousand samples
so memory stays bounded. The schema metadata ``hubscan.trait_types`` records each trait's type.

**Text** (``phenotypes.tsv``/``covariates.tsv``): tab-separated, ``NA`` for missing, FID = IID (or
0 for plink2 files without FID), in one of two flavours that each peer reads without extra flags:
``plink2`` (the default): header ``#FID IID name...``, binary traits 1/2 (control/case, plink2's
default coding); ``regenie``: header ``FID IID name...`` (REGENIE refuses ``#FID``), binary traits
0/1 (REGENIE's default; ``--cc12`` reads 1/2). Reading accepts ``#FID IID``, ``FID IID``, ``#IID``
or ``IID`` headers, tabs or spaces, and ``NA``/``nan``/empty and ``-9`` (plink2's default missing
value, unless ``missing_value=None``) as missing. Binary columns: with ``binary_coding="auto"`` (the
default) a column whose values are all 0/1 is binary coded 0/1 and one whose values are all 1/2 is
binary coded 1/2 (as plink2 reads it), so both flavours read back without being told (a column of 1s
alone: controls under a ``#FID``/``#IID`` header, plink2's, else cases); ``"01"`` or
``"12"`` accept that coding only (a column of the other is quantitative). A matrix written and read
back is identical.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hubscan.errors import ConfigError, InputError
from hubscan.files import atomic_file, require_file

BINARY, QUANTITATIVE = "binary", "quantitative"
TYPES_KEY = b"hubscan.trait_types"
MISSING_TOKENS = {"", "NA", "NAN", "NULL", "."}


@dataclass
class TraitMatrix:
    """``values[i, j]``: trait j of sample i (float64, NaN = not in trait j's analysis; in either
    memory order: :func:`read_matrix` gives column-major values, each trait contiguous)."""

    sample_ids: np.ndarray
    names: list[str]
    values: np.ndarray
    types: list[str]

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]

    def select(self, names: list[str]) -> TraitMatrix:
        """The named traits, in that order (this matrix itself when that is all of them in order)."""
        if list(names) == self.names:
            return self
        idx = [self.names.index(n) for n in names]
        return TraitMatrix(self.sample_ids, list(names), self.values[:, idx], [self.types[i] for i in idx])

    def align(self, sample_ids) -> TraitMatrix:
        """Rows reordered to ``sample_ids``; samples absent here get NaN (this matrix itself when
        the ids are already its own, in order: no copy of a large matrix). A dict lookup, not
        pandas: a scan on threads does not import pandas (about 0.5 s of a short command)."""
        if len(sample_ids) == len(self.sample_ids) and np.array_equal(np.asarray(sample_ids, dtype=object),
                                                                      self.sample_ids):
            return self

        out = np.full((len(sample_ids), len(self.names)), np.nan)
        position = {s: i for i, s in enumerate(self.sample_ids.tolist())}
        idx = np.fromiter((position.get(s, -1) for s in np.asarray(sample_ids, dtype=object).tolist()),
                          dtype=np.int64, count=len(sample_ids))
        ok = idx >= 0
        out[ok] = self.values[idx[ok]]
        return TraitMatrix(np.asarray(sample_ids, dtype=object), list(self.names), out, list(self.types))


class ParquetMatrixWriter:
    """Write the matrix block by block: ``with ParquetMatrixWriter(...) as w: w.write(ids, block)``."""

    def __init__(self, path: str | Path, names: list[str], types: list[str], metadata: dict | None = None):
        import pyarrow as pa

        if len(names) != len(set(names)):
            raise ConfigError("trait names must be unique")
        if "sample_id" in names:
            raise ConfigError("'sample_id' cannot be a trait name")
        self.path, self.names, self.types = Path(path), list(names), list(types)
        fields = [pa.field("sample_id", pa.string())]
        fields += [pa.field(n, pa.float32() if t == BINARY else pa.float64()) for n, t in zip(names, types)]
        meta = {TYPES_KEY: json.dumps(dict(zip(names, types))).encode()}
        for k, v in (metadata or {}).items():
            meta[f"hubscan.{k}".encode()] = json.dumps(v).encode()
        self.schema = pa.schema(fields, metadata=meta)
        self._ctx = atomic_file(self.path)
        self._writer = None
        self.rows = 0

    def __enter__(self):
        import pyarrow.parquet as pq

        tmp = self._ctx.__enter__()
        self._writer = pq.ParquetWriter(tmp, self.schema, compression="zstd")
        return self

    def write(self, sample_ids, values: np.ndarray) -> None:
        import pyarrow as pa

        values = np.asarray(values)
        arrays = [pa.array(np.asarray(sample_ids, dtype=object).astype(str), pa.string())]
        for j, t in enumerate(self.types):
            arrays.append(pa.array(values[:, j].astype(np.float32 if t == BINARY else np.float64)))
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        self.rows += len(values)

    def __exit__(self, *exc):
        self._writer.close()
        return self._ctx.__exit__(*exc)


def read_matrix(path: str | Path, traits: list[str] | None = None) -> TraitMatrix:
    """Load ``traits.parquet`` (all traits or the named ones) as float64 with NaN masks."""
    import pyarrow.parquet as pq

    path = require_file(path, "trait matrix")
    with pq.ParquetFile(path) as parquet:  # not pq.read_table: that imports pyarrow.dataset (and pandas)
        schema = parquet.schema_arrow
        types = json.loads((schema.metadata or {}).get(TYPES_KEY, b"{}"))
        names = traits if traits is not None else [n for n in schema.names if n != "sample_id"]
        unknown = [n for n in names if n not in schema.names]
        if unknown:
            raise InputError(f"{path}: no trait(s) {', '.join(unknown[:5])}")
        table = parquet.read(columns=["sample_id", *names])
    columns = np.empty((len(names), table.num_rows))  # one contiguous row per trait
    for j, n in enumerate(names):
        columns[j] = _column_values(table.column(n))
    values = columns.T  # (samples, traits), column-major: each trait's values contiguous
    ids = np.asarray(table.column("sample_id").to_pylist(), dtype=object)
    return TraitMatrix(ids, list(names), values, [types.get(n, QUANTITATIVE) for n in names])


#: text flavours: (header's first column, binary coding)
FLAVOURS = {"plink2": ("#FID", "12"), "regenie": ("FID", "01")}
CODINGS = ("01", "12")


def _column_values(column) -> np.ndarray:
    """``column.to_numpy(zero_copy_only=False)`` of an Arrow column (nulls as NaN), read straight
    from the Arrow buffers when it holds floats: ``to_numpy`` imports pandas, about 0.7 CPU s of a
    short scan's start. Other types go through ``to_numpy``."""
    import pyarrow as pa

    if not pa.types.is_floating(column.type):
        return column.to_numpy(zero_copy_only=False)
    dtype = np.dtype(column.type.to_pandas_dtype())
    parts = []
    for chunk in column.chunks:
        validity, data = chunk.buffers()
        values = np.frombuffer(data, dtype=dtype, count=len(chunk), offset=chunk.offset * dtype.itemsize)
        if chunk.null_count:
            valid = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
            values = np.where(valid[chunk.offset:chunk.offset + len(chunk)].astype(bool), values, np.nan)
        parts.append(values)
    return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)


def _format(v: float, binary: bool, coding: str) -> str:
    """One cell as :func:`write_text` writes it (the reference of its vectorised columns)."""
    if np.isnan(v):
        return "NA"
    if binary:
        return str(int(v) + (1 if coding == "12" else 0))
    return repr(float(v)) if v != int(v) or abs(v) >= 1e15 else str(int(v))


def _text_column(col: np.ndarray, binary: bool, coding: str) -> np.ndarray:
    """A column's cells (object array of str), the bytes of :func:`_format` for every value:
    ``NA``; binary: the code (0/1 plus 1 for coding 12); otherwise integers below 1e15 as
    integers, the rest as Python's shortest repr (NumPy's float64 ``str`` is the same string)."""
    missing = np.isnan(col)
    if binary:
        codes = np.where(missing, 0, col + (1 if coding == "12" else 0))
        labels = {float(v): str(int(v)) for v in np.unique(codes[~missing]).tolist()}
        out = np.empty(len(col), dtype=object)
        for v, label in labels.items():
            out[codes == v] = label
        out[missing] = "NA"
        return out
    with np.errstate(invalid="ignore"):
        whole = ~missing & (np.abs(col) < 1e15) & (col == np.trunc(col))
    out = np.empty(len(col), dtype=object)
    if whole.any():
        out[whole] = col[whole].astype(np.int64).astype(str).astype(object)
    real = ~missing & ~whole
    if real.any():
        out[real] = [repr(v) for v in col[real].tolist()]
    out[missing] = "NA"
    return out


class TextMatrixWriter:
    """Write the plink2 or REGENIE layout block by block (atomically; see the module docstring):
    ``with TextMatrixWriter(path, names, types) as w: w.write(ids, block)``.

    ``flavour``: ``plink2`` (``#FID IID`` header, binary 1/2) or ``regenie`` (``FID IID``, binary
    0/1); ``binary_coding`` ("01"/"12") overrides the flavour's coding. ``fid="iid"``: FID = IID
    (hubscan's .fam/.sample convention); ``fid="0"``: FID 0, which is what plink2 matches against a
    .psam without a FID column. Cells are formatted a column at a time, ``block_rows`` rows at once.
    """

    def __init__(self, path: str | Path, names: list[str], types: list[str], binary_coding: str | None = None,
                 fid: str = "iid", flavour: str = "plink2", block_rows: int = 20_000):
        if fid not in ("iid", "0"):
            raise ConfigError(f"fid must be 'iid' or '0', not {fid!r}")
        if flavour not in FLAVOURS:
            raise ConfigError(f"text flavour must be one of {', '.join(FLAVOURS)}, not {flavour!r}")
        first, coding = FLAVOURS[flavour]
        coding = coding if binary_coding is None else binary_coding
        if coding not in CODINGS:
            raise ConfigError(f"binary coding must be '01' or '12', not {binary_coding!r}")
        bad = [n for n in names if not n or any(ch.isspace() for ch in n)]
        if bad:
            raise ConfigError(f"trait names cannot contain blanks in a plink2/REGENIE file: {bad[:3]}")
        self.path, self.names, self.fid, self.coding = Path(path), list(names), fid, coding
        self.first, self.block_rows = first, block_rows
        self.binary = [t == BINARY for t in types]
        self._ctx = atomic_file(self.path)
        self._fh = None

    def __enter__(self):
        tmp = self._ctx.__enter__()
        self._fh = open(tmp, "w")
        self._fh.write(f"{self.first}\tIID\t" + "\t".join(self.names) + "\n")
        return self

    def write(self, sample_ids, values: np.ndarray) -> None:
        """Rows of ``values`` (samples, traits), in file order."""
        ids = np.asarray(sample_ids, dtype=object).astype(str).astype(object)
        for a in range(0, len(ids), self.block_rows):
            rows = slice(a, a + self.block_rows)
            cells = [ids[rows] if self.fid == "iid" else np.full(len(ids[rows]), "0", dtype=object), ids[rows]]
            cells += [_text_column(np.asarray(values[rows, j], dtype=np.float64), b, self.coding)
                      for j, b in enumerate(self.binary)]
            table = np.stack(cells, axis=1)
            self._fh.write("".join("\t".join(r) + "\n" for r in table.tolist()))

    def __exit__(self, *exc):
        self._fh.close()
        return self._ctx.__exit__(*exc)


def write_text(path: str | Path, matrix: TraitMatrix, binary_coding: str | None = None, fid: str = "iid",
               flavour: str = "plink2", block_rows: int = 20_000) -> None:
    """Write the plink2 or REGENIE layout (atomically) of a matrix held whole (:class:`TextMatrixWriter`)."""
    with TextMatrixWriter(path, matrix.names, matrix.types, binary_coding, fid, flavour, block_rows) as w:
        w.write(matrix.sample_ids, np.asarray(matrix.values))


def read_text(path: str | Path, binary_coding: str = "auto", missing_value: str | None = "-9",
              id_delim: str | None = None, skip_columns=()) -> TraitMatrix:
    """Read a plink2/REGENIE phenotype or covariate file; sample ids are the IID column, or with
    ``id_delim`` FID<id_delim>IID (genotype ids written so, as REGENIE's BGEN sample ids are; the file
    must then have a FID column). Columns named in ``skip_columns`` are left out unread (e.g.
    categorical covariates, read as text elsewhere). ``binary_coding``: ``auto`` (0/1 and 1/2 columns
    both binary), ``01`` or ``12`` (see the module docstring)."""
    if binary_coding not in ("auto", *CODINGS):
        raise ConfigError(f"binary coding must be 'auto', '01' or '12', not {binary_coding!r}")
    path = require_file(path, "phenotype/covariate file")
    lines = path.read_text().splitlines()
    if not lines:
        raise InputError(f"{path}: empty file")
    header = lines[0].split()
    first = header[0].lstrip("#").upper()
    if first == "FID" and len(header) > 1 and header[1].upper() == "IID":
        id_col, start = 1, 2
    elif first == "IID":
        id_col, start = 0, 1
    else:
        raise InputError(f"{path}: line 1: header must start with '#FID IID', 'FID IID' or '#IID' (got {lines[0][:60]!r})")
    if id_delim is not None and id_col == 0:
        raise InputError(f"{path}: line 1: sample ids joined as FID{id_delim}IID need a FID column (header '#FID IID ...')")
    names = header[start:]
    read = [j for j, name in enumerate(names) if name not in skip_columns]
    if len(read) < len(names):
        names = [names[j] for j in read]
    else:
        read = None
    ids, rows = [], []
    missing = {m.upper() for m in MISSING_TOKENS} | ({missing_value.upper()} if missing_value else set())
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split()
        if len(cells) != len(header):
            raise InputError(f"{path}: line {lineno}: {len(cells)} fields, the header has {len(header)}")
        ids.append(cells[id_col] if id_delim is None else f"{cells[0]}{id_delim}{cells[1]}")
        row = []
        values_here = cells[start:] if read is None else [cells[start + j] for j in read]
        for name, cell in zip(names, values_here):
            if cell.upper() in missing:
                row.append(np.nan)
                continue
            try:
                row.append(float(cell))
            except ValueError:
                raise InputError(f"{path}: line {lineno}: {name} = {cell!r} is not a number or NA") from None
        rows.append(row)
    values = np.array(rows, dtype=np.float64).reshape(len(rows), len(names))
    # auto: a column of 1s alone is all controls in a plink2-style file (header '#FID'/'#IID': the
    # plink2 flavour's 1/2), all cases otherwise (REGENIE's 0/1)
    auto = [("01", {0.0, 1.0}), ("12", {1.0, 2.0})]
    codings = {"01": [auto[0]], "12": [auto[1]]}.get(binary_coding, auto[::-1] if lines[0].startswith("#") else auto)
    types = []
    for j in range(len(names)):
        col = values[:, j]
        observed = set(np.unique(col[~np.isnan(col)]).tolist())
        coding = next((c for c, codes in codings if observed and observed <= codes), None)
        types.append(BINARY if coding else QUANTITATIVE)
        if coding == "12":
            values[:, j] = col - 1.0
    if len(set(ids)) != len(ids):
        raise InputError(f"{path}: sample ids (IID) are not unique")
    return TraitMatrix(np.asarray(ids, dtype=object), names, values, types)
