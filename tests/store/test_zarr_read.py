"""gwas.store.zarr_read (Zarr v2 read with numcodecs, no zarr import) against zarr itself: the
same values and dtypes for every selection the scans make, on arrays written by zarr (padded edge
chunks, chunks of fill values not stored, NaN fills, strings) and on an ingested genotype store;
layouts it does not read go to zarr and give zarr's answer."""

import subprocess
import sys
from pathlib import Path

import numcodecs
import numpy as np
import pytest
import zarr

from gwas.store.zarr_read import open_group

PROJECT = Path(__file__).resolve().parents[2]


def _same(ours, theirs):
    theirs = np.asarray(theirs)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    if ours.dtype.kind == "f":
        assert np.array_equal(ours, theirs, equal_nan=True)
    else:
        assert (ours == theirs).all()


@pytest.fixture(scope="module")
def group(tmp_path_factory):
    path = tmp_path_factory.mktemp("zarr") / "g.zarr"
    rng = np.random.default_rng(4)
    root = zarr.open_group(str(path), mode="w", zarr_format=2)
    root.attrs.update({"format": "test", "n": 3})
    blosc = numcodecs.Blosc(cname="zstd", clevel=1, shuffle=numcodecs.Blosc.BITSHUFFLE)
    codes = rng.integers(0, 2**16 - 1, (53, 37), dtype=np.uint16)
    codes[20:40] = 65535   # a chunk row of fill values only: not stored by zarr
    a = root.create_array("codes", shape=codes.shape, chunks=(10, 8), dtype="u2", fill_value=65535, compressors=blosc)
    a[:] = codes
    f = root.create_array("freq", shape=(45,), chunks=(10,), dtype="f8", fill_value=np.nan, compressors=blosc)
    f[:30] = rng.random(30)   # chunks 3 and 4 never written: NaN fill
    s = root.create_array("ids", shape=(23,), chunks=(5,), dtype=str, fill_value=".")
    s[:] = np.array([f"rs{i}" if i % 4 else "." for i in range(23)], dtype=object)
    al = root.create_array("alleles", shape=(11, 2), chunks=(4, 2), dtype=str, fill_value="")
    al[:] = np.array([["A", "CT"]] * 11, dtype=object)
    b = root.create_array("mask", shape=(9, 7, 2), chunks=(4, 3, 2), dtype=bool, fill_value=True,
                          compressors=blosc)
    b[:] = rng.random((9, 7, 2)) < 0.5
    i = root.create_array("calls", shape=(9, 7, 2), chunks=(4, 7, 2), dtype="i1", fill_value=-1)
    i[:] = rng.integers(-1, 2, (9, 7, 2))
    fo = root.create_array("forder", shape=(6, 5), chunks=(4, 4), dtype="f4", fill_value=0.0, order="F")
    fo[:] = rng.random((6, 5))
    return path


@pytest.fixture(scope="module")
def scan_store(tmp_path_factory):
    """A genotype store written as ingest writes one (gwas.store.writer), small chunks, with a
    chunk of missing calls only (not stored) and missing calls elsewhere."""
    from gwas.store.variables import encode_dosage
    from gwas.store.writer import create_store, write_block
    from hubscan.parts import PartTracker

    path = tmp_path_factory.mktemp("store") / "store"
    rng = np.random.default_rng(7)
    m, n = 1000, 240
    dosage = rng.integers(0, 3, (m, n)).astype(np.float64)
    dosage[rng.random((m, n)) < 0.02] = np.nan
    dosage[300:400, 100:200] = np.nan
    create_store(path, [f"S{i}" for i in range(n)], ["1"], [10**8], m, with_genotypes=False, variants_chunk=100,
                 samples_chunk=100, attrs={"source_kind": "test"})
    for a in range(0, m, 250):
        k = 250
        write_block(path, a, {
            "variant_contig": np.zeros(k, np.int16), "variant_position": np.arange(a + 1, a + k + 1, dtype=np.int32),
            "variant_allele": np.tile(np.array([["A", "G"]], dtype=object), (k, 1)),
            "variant_id": np.array([f"v{a + i}" if i % 7 else "." for i in range(k)], dtype=object),
            "variant_id_mask": np.zeros(k, bool), "variant_source": np.zeros(k, np.int32),
            "variant_split": np.ones(k, np.int16), "variant_alt_frequency": rng.random(k),
            "variant_call_rate": np.ones(k), "variant_info": np.ones(k),
            "call_dosage_scaled": encode_dosage(dosage[a:a + k])})
    PartTracker(path, "ingest", {"test": 1}).finalise({"variants": m, "samples": n})
    # missing calls only: stored all the same (integer arrays have no fill value, as bio2zarr writes them)
    assert (path / "call_dosage_scaled" / "3.1").exists()
    return path


SELECTIONS = [
    (slice(None),), (slice(3, 29),), (slice(0, 0),), (slice(10, 20), slice(5, 9)),
    (np.array([52, 0, 7, 7, 19, 31]), np.arange(37)), (slice(15, 45), np.array([36, 1, 8, 8, 0])),
    (np.array([], dtype=np.int64), slice(None)), ([1, 2, 3],), (np.array([-1, 0]),),
]


@pytest.mark.parametrize("name", ["codes", "freq", "ids", "alleles", "mask", "calls", "forder"])
def test_same_as_zarr(group, name):
    ours, theirs = open_group(group)[name], zarr.open_group(str(group), mode="r", zarr_format=2)[name]
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    _same(ours[:], theirs[:])
    for sel in SELECTIONS:
        sel = tuple(s if isinstance(s, slice) else np.where(np.asarray(s) >= 0, np.asarray(s, dtype=np.int64) % n, s)
                    for s, n in zip(sel, ours.shape))   # as many dimensions as the array has, in range
        if all(isinstance(s, slice) for s in sel):
            _same(ours[sel], theirs[sel])
        _same(ours.oindex[sel], theirs.oindex[sel])
    n = ours.shape[0]
    _same(ours[n // 3:n - 1][np.array([0, 2])], theirs[n // 3:n - 1][np.array([0, 2])])   # block.variant_fields
    _same(ours[::2], theirs[::2])                                     # a step: zarr's own reading


def test_group_attrs_membership_and_errors(group):
    root = open_group(group)
    assert root.attrs.get("format") == "test" and root.attrs["n"] == 3
    assert "codes" in root and "nothing" not in root
    with pytest.raises(IndexError):
        root["codes"].oindex[np.array([53]), :]
    with pytest.raises(KeyError):
        root["nothing"]
    assert root["codes"].nchunks == zarr.open_array(str(group / "codes"), mode="r").nchunks  # other attributes: zarr's


def test_genotype_store_same_as_zarr(scan_store):
    from gwas.store.reader import GenotypeStore

    store = GenotypeStore(scan_store)
    theirs = zarr.open_group(str(scan_store), mode="r", zarr_format=2)
    for name in theirs.array_keys():
        _same(store.root[name][:], theirs[name][:])
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(store.n_variants, 300, replace=False))
    cols = rng.permutation(store.n_samples)[:150]
    _same(store.dosage_codes(rows, cols), theirs["call_dosage_scaled"].oindex[rows, cols])
    _same(store.dosage_codes(slice(100, 900), None), theirs["call_dosage_scaled"][100:900])


def test_store_read_without_importing_zarr(scan_store):
    code = ("import sys; from gwas.store.reader import GenotypeStore; s = GenotypeStore(%r); "
            "s.dosage_codes(slice(0, 10), [3, 1]); s.variant_field('variant_id'); s.sample_ids; "
            "print('zarr' in sys.modules)" % str(scan_store))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT, check=True)
    assert out.stdout.strip() == "False"
