"""Start-up of in-process scans: the fast paths that avoid importing pandas give what the pyarrow
calls they replace give (exactly: they read the same buffers), and a whole `hubscan gwas` /
`hubscan phewas` run in this process does not import pandas, pyarrow.dataset (about 1 CPU s) or zarr
(0.3 s: the store is read by gwas.store.zarr_read, tested in tests/store/test_zarr_read.py)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gwas.results.schema import RESULT_COLUMNS, RESULT_SCHEMA
from gwas.results.store import rows_table
from phenotypes.matrix.io import BINARY, QUANTITATIVE, ParquetMatrixWriter, _column_values, read_matrix

PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("column", [
    pa.chunked_array([pa.array([1.5, None, 3.0, float("nan"), 5.0] * 7, pa.float32()).slice(3),
                      pa.array([None, 2.0], pa.float32()), pa.array([], pa.float32())]),
    pa.chunked_array([pa.array([1.25, None, -3.0] * 5, pa.float64()).slice(1, 9)]),
    pa.chunked_array([pa.array(np.random.default_rng(1).normal(size=1000))]),
    pa.chunked_array([], pa.float64()),
    pa.chunked_array([pa.array([1, None, 3], pa.int64())]),     # not floats: through to_numpy
])
def test_column_values_same_as_to_numpy(column):
    ours = _column_values(column)
    ref = column.to_numpy(zero_copy_only=False)
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    assert np.array_equal(ours, ref, equal_nan=True)


def test_read_matrix_same_as_read_table(tmp_path):
    rng = np.random.default_rng(2)
    values = np.where(rng.random((300, 4)) < 0.1, np.nan, rng.integers(0, 2, (300, 4)).astype(float))
    values[:, 3] = rng.normal(size=300)
    path = tmp_path / "traits.parquet"
    names, types = ["a", "b", "c", "q"], [BINARY] * 3 + [QUANTITATIVE]
    with ParquetMatrixWriter(path, names, types) as w:        # two row groups, nulls none (NaN)
        w.write([f"s{i}" for i in range(150)], values[:150])
        w.write([f"s{i}" for i in range(150, 300)], values[150:])
    m = read_matrix(path)
    table = pq.read_table(path)
    ref = np.column_stack([table.column(n).to_numpy(zero_copy_only=False).astype(np.float64) for n in names])
    assert np.array_equal(m.values, ref, equal_nan=True) and m.types == types
    assert m.sample_ids.tolist() == [f"s{i}" for i in range(300)]
    assert read_matrix(path, ["q", "a"]).names == ["q", "a"]


def test_rows_table_int8_codes_same_as_pa_array():
    n = 5
    cols = {name: np.zeros(n, dtype=dtype.to_pandas_dtype()) for name, (dtype, _) in RESULT_COLUMNS.items()
            if dtype != pa.string()}
    cols.update({name: ["x"] * n for name, (dtype, _) in RESULT_COLUMNS.items() if dtype == pa.string()})
    cols["error_code"] = np.array([0, 1, 7, 127, -128], dtype=np.int8)   # what the scans give
    cols["iterations"] = np.array([0, 3, 25, 2, 1], dtype=np.int16)
    table = rows_table(cols)
    assert table.schema == RESULT_SCHEMA
    assert table.column("error_code").to_pylist() == [0, 1, 7, 127, -128]
    assert table.column("iterations").equals(pa.chunked_array([pa.array(cols["iterations"], pa.int32())]))
    cols["n"] = np.array([1, 2, 3, 4, 2**40], dtype=np.uint64)   # not a safe cast to int64: pa.array checks it
    assert rows_table(cols).column("n").to_pylist()[-1] == 2**40


def _modules_after(argv: list[str]) -> list[str]:
    code = ("import sys; from hubscan.cli import main; rc = main(%r); "
            "print(rc, sorted(m for m in sys.modules if m.split('.')[0] in ('pandas', 'zarr') or m == 'pyarrow.dataset'))")
    out = subprocess.run([sys.executable, "-c", code % argv], capture_output=True, text=True, cwd=PROJECT,
                         timeout=300, check=True).stdout.splitlines()[-1].split(None, 1)
    assert out[0] == "0", out
    return eval(out[1])


def test_in_process_scans_do_not_import_pandas_or_zarr(scan_cohort, tmp_path):
    c = scan_cohort
    common = ["--genotype-store", str(c["store"]), "--covariate", str(c["cov"])]
    gwas = ["--log-level", "WARNING", "gwas", *common, "--phenotypes", str(c["pheno"]), "--trait", "ldl",
            "--trait", "type_2_diabetes", "--min-cases", "1", "--out", str(tmp_path / "gwas")]
    assert _modules_after(gwas) == []
    frame = c["pheno_frame"]
    with ParquetMatrixWriter(tmp_path / "traits.parquet", ["ldl", "type_2_diabetes"], [QUANTITATIVE, BINARY]) as w:
        w.write(frame.IID.astype(str).to_numpy(), frame[["ldl", "type_2_diabetes"]].to_numpy(dtype=float))
    phewas = ["--log-level", "WARNING", "phewas", *common, "--phenotypes", str(tmp_path / "traits.parquet"),
              "--binary-test", "wald", "--min-cases", "1", "--out", str(tmp_path / "phewas")]
    assert _modules_after(phewas) == []
