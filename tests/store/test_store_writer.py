"""The store writer's own chunk encoding (numeric fields) writes the files Zarr itself writes, byte
for byte: edge chunks padded, chunks of fill values left out, 3-D genotype arrays, NaN fills; integer
and boolean arrays have no fill value and every chunk written (Zarr 2 readers, xarray)."""

import filecmp

import numpy as np
import pytest
import zarr

from gwas.store import writer
from gwas.store.variables import FIELDS


def _block(rng, m, n_s):
    sizes = {"variants": m, "samples": n_s, "alleles": 2, "ploidy": 2, "filters": 1}
    block = {}
    for name, f in FIELDS.items():
        if "variants" not in f.dims:
            continue
        shape = tuple(sizes[d] for d in f.dims)
        if f.dtype == "str":
            block[name] = np.array([f"v{i}" for i in range(int(np.prod(shape)))], dtype=object).reshape(shape)
        elif f.dtype == "bool":
            block[name] = rng.random(shape) < 0.5
        elif f.dtype.startswith("float"):
            block[name] = rng.random(shape).astype(f.dtype)
        else:
            block[name] = rng.integers(0, 100, shape).astype(f.dtype)
    return block


@pytest.mark.parametrize("n_s, m, variants_chunk, samples_chunk, threads",
                         [(2500, 25, 10, 1000, 2), (37, 7, 4, 10, 1), (1000, 30, 10, 1000, 2)])
def test_chunks_equal_zarr_writes(tmp_path, n_s, m, variants_chunk, samples_chunk, threads):
    block = _block(np.random.default_rng(n_s), m, n_s)
    block["call_DS"][:variants_chunk, :samples_chunk] = np.nan  # a chunk of fill values
    block["variant_alt_frequency"][:variants_chunk] = np.nan  # float fill NaN
    ids = [f"s{i}" for i in range(n_s)]
    by_zarr, ours = tmp_path / "zarr", tmp_path / "ours"
    for path in (by_zarr, ours):
        writer.create_store(path, ids, ["1"], [100], m, True, variants_chunk, samples_chunk, with_dosages=True)
    root = zarr.open_group(str(by_zarr), mode="r+", zarr_format=2)
    for name, arr in block.items():
        root[name][:] = arr
    writer.write_block(ours, 0, block, threads)
    files = sorted(p.relative_to(by_zarr) for p in by_zarr.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(ours) for p in ours.rglob("*") if p.is_file())
    assert not (ours / "call_DS" / "0.0").exists()
    assert [f for f in files if not filecmp.cmp(by_zarr / f, ours / f, shallow=False)] == []


def test_integer_chunks_of_zeros_written_float_chunks_of_nan_not(tmp_path):
    """No fill value on integer/boolean arrays: a chunk of zeros is written (a Zarr 2 reader would
    return uninitialised memory for a missing one), while a chunk of NaN (the float fill) is not;
    xarray's metadata for them: fill_value null, so no missing-value mask."""
    import json

    block = _block(np.random.default_rng(1), 8, 6)
    block["call_genotype"][:4] = 0
    block["call_dosage_scaled"][:4] = 0
    block["variant_quality"][:4] = np.nan
    writer.create_store(tmp_path, [f"s{i}" for i in range(6)], ["1"], [100], 8, True, 4, 6)
    writer.write_block(tmp_path, 0, block)
    assert (tmp_path / "call_genotype" / "0.0.0").is_file() and (tmp_path / "call_dosage_scaled" / "0.0").is_file()
    assert not (tmp_path / "variant_quality" / "0").exists()
    for name, f in FIELDS.items():
        meta = json.loads((tmp_path / name / ".zarray").read_text()) if (tmp_path / name).is_dir() else None
        if meta is not None and f.dtype != "str" and not f.dtype.startswith("float"):
            assert meta["fill_value"] is None, name
    root = zarr.open_group(str(tmp_path), mode="r", zarr_format=2)
    np.testing.assert_array_equal(root["call_genotype"][:], block["call_genotype"])


def test_block_in_parts_and_a_part_rewritten(tmp_path):
    """Parts written one after another (the last one short), one written twice, a chunk written in two
    halves (not whole: through Zarr, which merges): the values read back."""
    rng = np.random.default_rng(5)
    m, n_s = 23, 30
    block = _block(rng, m, n_s)
    writer.create_store(tmp_path, [f"s{i}" for i in range(n_s)], ["1"], [100], m, True, 10, 8, with_dosages=True)
    for a, b in ((0, 5), (10, 20), (20, 23), (10, 20), (5, 10)):
        writer.write_block(tmp_path, a, {k: v[a:b] for k, v in block.items()}, threads=2)
    root = zarr.open_group(str(tmp_path), mode="r", zarr_format=2)
    for name, arr in block.items():
        np.testing.assert_array_equal(root[name][:], arr, err_msg=name)
