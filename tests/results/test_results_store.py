"""The results store: blocks written atomically, finalised, read back with pyarrow, pandas and polars."""

import json

import numpy as np
import pytest

from gwas.results.schema import RESULT_COLUMNS
from gwas.results.store import ResultsStore, finalise_results, metadata_path, rows_table, write_block
from hubscan.errors import InputError, OutputError


def _rows(n, seed, trait_shift=0.0):
    rng = np.random.default_rng(seed)
    cols = {name: np.zeros(n, dtype=dtype.to_pandas_dtype()) for name, (dtype, _) in RESULT_COLUMNS.items()
            if name not in ("contig", "variant_id", "ref", "alt", "test")}
    cols.update(variant_index=np.arange(n), contig=["1"] * n, position=np.arange(n) * 100 + 1,
                variant_id=[f"rs{i}" for i in range(n)], ref=["A"] * n, alt=["G"] * n, test=["linear"] * n)
    cols["neg_log10_p"] = rng.uniform(0, 400, n) + trait_shift
    cols["p_value"] = 10 ** -cols["neg_log10_p"]
    cols["beta"] = rng.normal(size=n)
    return cols


def _make(root, traits=("ldl", "250.2", "a/b c")):
    meta = {"job": "gwas", "traits": [{"name": t, "type": "quantitative"} for t in traits],
            "config": {}, "software": {}, "inputs": {}}
    blocks = ["block-00000", "block-00001"]
    for b, block in enumerate(blocks):
        write_block(root, block, {t: rows_table(_rows(10, seed=b * 10 + i)) for i, t in enumerate(traits)})
    finalise_results(root, meta, blocks, list(traits))
    return blocks


def test_round_trip_pandas_polars(tmp_path):
    _make(tmp_path)
    res = ResultsStore(tmp_path)
    assert res.trait_names == ["ldl", "250.2", "a/b c"]
    frame = res.read()
    assert len(frame) == 60 and set(frame.trait) == {"ldl", "250.2", "a/b c"}
    expected = rows_table(_rows(10, seed=11)).column("beta").to_numpy()
    got = frame[(frame.trait == "250.2")].beta.to_numpy()[10:]
    np.testing.assert_array_equal(got, expected)
    hits = res.read(traits=["ldl"], max_p=1e-300)
    assert (hits.neg_log10_p >= 300).all() and len(hits) == (res.read(traits=["ldl"]).neg_log10_p >= 300).sum()
    lazy = res.scan().collect()
    assert lazy.height == 60 and sorted(lazy["trait"].unique().to_list()) == ["250.2", "a/b c", "ldl"]


def test_rewritten_blocks_are_byte_identical(tmp_path):
    _make(tmp_path / "a")
    _make(tmp_path / "b")
    for f in sorted((tmp_path / "a").rglob("*.parquet")):
        assert f.read_bytes() == (tmp_path / "b" / f.relative_to(tmp_path / "a")).read_bytes()


def test_incomplete_and_incompatible_stores_refused(tmp_path):
    with pytest.raises(InputError, match="not a folder"):
        ResultsStore(tmp_path / "none")
    write_block(tmp_path, "block-00000", {"ldl": rows_table(_rows(5, 1))})
    with pytest.raises(InputError, match="incomplete results store"):
        ResultsStore(tmp_path)
    with pytest.raises(OutputError, match="missing after the scan"):
        finalise_results(tmp_path, {"job": "gwas", "traits": []}, ["block-00000", "block-00001"], ["ldl"])
    _make(tmp_path / "ok")
    meta_path = metadata_path(tmp_path / "ok")
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "version": [2, 0]}))
    with pytest.raises(InputError, match="version"):
        ResultsStore(tmp_path / "ok")
    del meta["software"]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(InputError, match="lacks software"):
        ResultsStore(tmp_path / "ok")
    meta_path.write_text("{")
    with pytest.raises(InputError, match="not valid JSON"):
        ResultsStore(tmp_path / "ok")


def test_unknown_trait_and_bad_rows(tmp_path):
    _make(tmp_path)
    with pytest.raises(InputError, match="no trait 'bmi'"):
        ResultsStore(tmp_path).read(traits=["bmi"])
    cols = _rows(3, 0)
    del cols["beta"]
    with pytest.raises(ValueError, match="missing columns \\['beta'\\]"):
        rows_table(cols)


def test_lookup_of_a_variant_and_a_region_across_traits(tmp_path):
    _make(tmp_path)
    res = ResultsStore(tmp_path)
    every = res.read()
    # the test store repeats its 10 variants in both blocks: each appears twice per trait
    by_id = res.lookup(variant="rs3")
    expected = every[every.variant_id == "rs3"].sort_values("neg_log10_p", ascending=False)
    assert list(by_id.trait) == list(expected.trait) and len(by_id) == 6 and (by_id.position == 301).all()
    np.testing.assert_array_equal(by_id.beta, expected.beta)
    by_name = res.lookup(variant="1:301:A:G")
    assert sorted(by_name.trait) == sorted(by_id.trait)
    region = res.lookup(region="1:200-500")
    expected = every[(every.position >= 200) & (every.position <= 500)]
    assert len(region) == len(expected) == 3 * 2 * 3  # 3 positions x 2 blocks x 3 traits
    assert res.lookup(region="1").shape[0] == len(every)
    assert res.lookup(variant="rs999").empty
    with pytest.raises(InputError, match="either a variant or a region"):
        res.lookup()
    with pytest.raises(InputError, match="not contig:start-end"):
        res.lookup(region="1:a-b")
