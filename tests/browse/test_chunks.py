"""The variant chunk format: what the build writes reads back bit for bit with the tests' own reader
(tests/browse/chunks.py) and the site's, through each of its layouts (a column per row or one value
per variant; trait indices stored or implied)."""

import gzip

import numpy as np
import pytest

from gwas.browse.phewas import decode_chunk, encode_chunk
from tests.browse.chunks import read_chunk


def _header(starts, pos):
    v = len(starts)
    return {"chrom": "7", "chunk": 3, "pos": pos, "ref": ["A"] * v, "alt": ["G"] * v, "rsid": [""] * v,
            "start": starts}


@pytest.mark.parametrize("layout", ["every trait, const columns", "some traits", "values per row"])
def test_chunk_round_trip_bit_for_bit(tmp_path, layout):
    rng = np.random.default_rng(5)
    n_traits = 4
    if layout == "some traits":
        t = np.array([0, 2, 3, 1, 0, 1, 2, 3], np.int32)
        starts = [0, 3, 4]
    else:
        t = np.tile(np.arange(n_traits, dtype=np.int32), 2)
        starts = [0, 4]
    r = len(t)
    variant = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, r]))
    cols = {"p": rng.random(r) * 10, "b": rng.normal(size=r), "s": rng.random(r)[variant],
            "f": np.array([0.25, -0.0, 1e-300])[variant] if layout != "values per row" else rng.random(r),
            "n": np.array([np.nan, 50_000.0, 7.0])[variant], "t": t}
    cols["b"][1] = -0.0           # signed zero and NaN kept as they are
    cols["p"][2] = np.nan
    if layout == "values per row":
        cols["s"][1] = 0.0
        cols["s"][0] = -0.0       # equal as numbers, not as bits: stored per row
    data = encode_chunk(_header(starts, [10 * (k + 1) for k in range(len(starts))]), cols, n_traits)
    path = tmp_path / "3.bin.gz"
    path.write_bytes(gzip.compress(data, mtime=0))
    header, back = decode_chunk(path.read_bytes())
    expected_const = {"every trait, const columns": ["s", "f", "n"], "some traits": ["s", "f", "n"],
                      "values per row": ["n"]}[layout]
    assert header["const"] == expected_const
    assert header["every_trait"] == (layout != "some traits")
    ours = read_chunk(path)
    for k in ("p", "b", "s", "f", "n"):
        assert back[k].view(np.int64).tolist() == np.asarray(cols[k]).view(np.int64).tolist(), k
        flat = [x for v in ours["variants"] for x in v[k]]
        want = [None if not np.isfinite(x) else (int(x) if k == "n" else float(x)) for x in cols[k]]
        assert flat == want, k
        assert [np.copysign(1, x) for x in flat if x == 0] == [np.copysign(1, x) for x in want if x == 0], k
    assert back["t"].tolist() == t.tolist()
    assert [x for v in ours["variants"] for x in v["t"]] == t.tolist()
    assert [v["id"] for v in ours["variants"]] == [f"7:{10 * (k + 1)}:A:G" for k in range(len(starts))]
