"""The plink2/REGENIE text writer: column-vectorised cells with the bytes of the cell-by-cell
reference (``phenotypes.matrix.io._format``, the writer before it was vectorised), both flavours
read back identical without being told the coding, and the codings forced."""

import numpy as np
import pytest

from hubscan.errors import ConfigError
from phenotypes.matrix.io import TraitMatrix, _format, read_text, write_text


def _matrix(n=257, seed=3):
    rng = np.random.default_rng(seed)
    b = rng.integers(0, 2, (n, 3)).astype(float)
    b[rng.random(b.shape) < 0.2] = np.nan
    q = np.stack([rng.normal(size=n) * 10.0 ** rng.integers(-9, 20, n),  # shortest repr, both notations
                  np.round(rng.normal(size=n) * 1e3),                      # integers
                  rng.choice([0.0, -0.0, 1e15, -1e15, 999999999999999.0, 1e16, 2.5, -7.0, 1e-5], n)], axis=1)
    q[rng.random(q.shape) < 0.1] = np.nan
    ids = np.array([f"S{i:05d}" for i in range(n)], dtype=object)
    return TraitMatrix(ids, ["b1", "b2", "b3", "q1", "q2", "q3"], np.concatenate([b, q], axis=1),
                       ["binary"] * 3 + ["quantitative"] * 3)


def _reference(m, first, coding, fid):
    lines = [f"{first}\tIID\t" + "\t".join(m.names)]
    for sid, row in zip(m.sample_ids.tolist(), m.values):
        cells = [_format(v, t == "binary", coding) for v, t in zip(row.tolist(), m.types)]
        lines.append(f"{sid if fid == 'iid' else '0'}\t{sid}\t" + "\t".join(cells))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("flavour,first,coding", [("plink2", "#FID", "12"), ("regenie", "FID", "01")])
@pytest.mark.parametrize("fid", ["iid", "0"])
def test_vectorised_writer_has_the_reference_bytes(tmp_path, flavour, first, coding, fid):
    m = _matrix()
    write_text(tmp_path / "t.tsv", m, fid=fid, flavour=flavour, block_rows=100)  # several blocks
    assert (tmp_path / "t.tsv").read_text() == _reference(m, first, coding, fid)
    other = "01" if coding == "12" else "12"
    write_text(tmp_path / "o.tsv", m, other, fid, flavour)  # the coding overridden
    assert (tmp_path / "o.tsv").read_text() == _reference(m, first, other, fid)


@pytest.mark.parametrize("flavour", ["plink2", "regenie"])
def test_both_flavours_read_back_without_the_coding(tmp_path, flavour):
    m = _matrix()
    write_text(tmp_path / "t.tsv", m, flavour=flavour)
    back = read_text(tmp_path / "t.tsv")
    assert back.types == m.types and back.names == m.names
    np.testing.assert_array_equal(back.values, m.values)
    np.testing.assert_array_equal(back.sample_ids, m.sample_ids)


def test_forced_coding_reads_the_other_as_quantitative(tmp_path):
    (tmp_path / "p.tsv").write_text("#FID\tIID\ta\tb\tc\nx\tx\t1\t0\t2\ny\ty\t2\t1\t0\nz\tz\tNA\t-9\t1\n")
    auto = read_text(tmp_path / "p.tsv")
    assert auto.types == ["binary", "binary", "quantitative"]  # 1/2, 0/1, then 0/1/2: a count
    np.testing.assert_array_equal(auto.values[:, :2], [[0, 0], [1, 1], [np.nan, np.nan]])
    assert read_text(tmp_path / "p.tsv", binary_coding="01").types == ["quantitative", "binary", "quantitative"]
    assert read_text(tmp_path / "p.tsv", binary_coding="12").types == ["binary", "quantitative", "quantitative"]


def test_a_column_of_ones_follows_the_header(tmp_path):
    """All controls in the plink2 flavour (1s under '#FID') and all cases in REGENIE's (1s under 'FID')
    read back as written."""
    m = TraitMatrix(np.array(["a", "b"], dtype=object), ["none", "all"], np.array([[0.0, 1.0], [0.0, 1.0]]),
                    ["binary", "binary"])
    for flavour in ("plink2", "regenie"):
        write_text(tmp_path / "t.tsv", m, flavour=flavour)
        back = read_text(tmp_path / "t.tsv")
        assert back.types == ["binary", "binary"], flavour
        np.testing.assert_array_equal(back.values, m.values)


def test_bad_text_options(tmp_path):
    m = _matrix(5)
    with pytest.raises(ConfigError, match="flavour must be one of plink2, regenie"):
        write_text(tmp_path / "t.tsv", m, flavour="plink1")
    with pytest.raises(ConfigError, match="binary coding must be '01' or '12'"):
        write_text(tmp_path / "t.tsv", m, binary_coding="02")
    (tmp_path / "p.tsv").write_text("#FID\tIID\ta\nx\tx\t1\n")
    with pytest.raises(ConfigError, match="'auto', '01' or '12'"):
        read_text(tmp_path / "p.tsv", binary_coding="21")
    assert not (tmp_path / "t.tsv").exists()
