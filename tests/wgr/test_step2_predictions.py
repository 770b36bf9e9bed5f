"""REGENIE prediction files (gwas.wgr.predictions): read REGENIE's own step 1 output, write files
REGENIE step 2 reads, and the bad-input errors (one line naming the file)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gwas.wgr.predictions import (LocoPredictions, _format, chromosome_code, format_row, read_loco,
                                  read_prediction_list, write_predictions)
from hubscan.errors import InputError
from tests.wgr.regenie_cohort import QT_TRAITS, regenie_binary, simulate, step1, step2


@pytest.fixture(scope="module")
def regenie_step1(tmp_path_factory):
    exe = regenie_binary()
    data = simulate(tmp_path_factory.mktemp("wgr-pred"))
    return exe, data, step1(exe, data, "qt")


def _raw_loco(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep=" ", index_col=0, na_values=["NA"])


def test_reads_regenie_step1_files_aligned_to_iids(regenie_step1):
    exe, data, pred_list = regenie_step1
    iids = data["iids"][::-1]                      # the run's order differs from the file's
    preds = read_prediction_list(pred_list, QT_TRAITS, iids)
    assert set(preds) == set(QT_TRAITS)
    for trait in QT_TRAITS:
        p = preds[trait]
        loco = next(ln.split()[1] for ln in pred_list.read_text().splitlines() if ln.split()[0] == trait)
        raw = _raw_loco(Path(loco))
        assert list(p.chromosomes) == list(range(1, 24))           # REGENIE writes chromosomes 1-23
        assert p.values.shape == (23, len(iids))
        # q2 has missing phenotypes: REGENIE writes NA for them; q1 every sample
        fid = {s: f for f, s in zip(data["fids"], data["iids"])}
        expected = raw[[f"{fid[s]}_{s}" for s in iids]].to_numpy()
        np.testing.assert_array_equal(p.values, expected)
        np.testing.assert_array_equal(p.for_chromosome("chr2"), expected[1])
        np.testing.assert_array_equal(p.for_chromosome("X"), expected[22])
    assert np.isfinite(preds["q1"].values).all()


def test_family_ids_select_exact_tokens(regenie_step1):
    _, data, pred_list = regenie_step1
    a = read_prediction_list(pred_list, QT_TRAITS, data["iids"])
    b = read_prediction_list(pred_list, QT_TRAITS, data["iids"], family_ids=data["fids"])
    np.testing.assert_array_equal(a["q1"].values, b["q1"].values)
    with pytest.raises(InputError, match=r"_1\.loco: samples do not match the run .* sample S0 is not in its"):
        read_prediction_list(pred_list, QT_TRAITS, data["iids"], family_ids=data["iids"])


def test_regenie_step2_reads_hubscan_written_predictions(regenie_step1, tmp_path):
    """Write what was read (FIDs given) and run REGENIE step 2 on both lists: same results
    (the values are REGENIE's 6 significant digits, written back with 10: the same numbers)."""
    exe, data, pred_list = regenie_step1
    preds = read_prediction_list(pred_list, QT_TRAITS, data["iids"])
    mine = write_predictions(data["root"] / "hub", list(preds.values()), family_ids=data["fids"])
    assert mine == (data["root"] / "hub_pred.list").absolute()
    again = read_prediction_list(mine, QT_TRAITS, data["iids"])
    for t in QT_TRAITS:
        np.testing.assert_array_equal(np.nan_to_num(again[t].values, nan=-9), np.nan_to_num(preds[t].values, nan=-9))
    theirs = step2(exe, data, "qt", "s2_theirs", ["--pred", pred_list.name])
    ours = step2(exe, data, "qt", "s2_ours", ["--pred", mine.name])
    for t in QT_TRAITS:
        pd.testing.assert_frame_equal(theirs[t], ours[t])


def _write(tmp_path, trait="t", ids=("a", "b", "c"), chroms=(1, 2), values=None, fids=None):
    values = np.arange(len(chroms) * len(ids), dtype=float).reshape(len(chroms), len(ids)) if values is None else values
    return write_predictions(tmp_path / "w", [LocoPredictions(trait, np.array(ids, dtype=object),
                                                              np.array(chroms), values)], family_ids=fids)


def test_round_trip_nan_and_ten_digits(tmp_path):
    values = np.array([[1 / 3, np.nan, -2e-7], [1e5 / 7, 0.0, 1.0]])
    lst = _write(tmp_path, values=values)
    lines = (tmp_path / "w_1.loco").read_text().splitlines()
    assert lines[0] == "FID_IID a_a b_b c_c"
    assert lines[1] == "1 0.3333333333 NA -2e-07"
    assert lst.read_text() == f"t {(tmp_path / 'w_1.loco').absolute()}\n"
    p = read_loco(tmp_path / "w_1.loco", "t", ["c", "a", "b"], required=np.array([True, True, False]))
    np.testing.assert_allclose(p.values, values[:, [2, 0, 1]], rtol=5e-10)
    assert not list(tmp_path.glob(".*tmp*"))


def test_row_formatting_is_the_per_value_format_byte_for_byte():
    # the writer formats a row in one %-call: the same text as f"{x:.10g}" per value ("NA" for NaN
    # and infinities), on values whose 10-digit rounding, exponent form or sign are edge cases
    rng = np.random.default_rng(5)
    edge = [0.0, -0.0, 1.0, -1.0, 1e-5, 1e-4, 9.9999999995e-5, 0.00012345678905, 1e10, 9999999999.5,
            123456789012.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, np.nan, np.inf,
            -np.inf, 0.1 + 0.2, 2 / 3, -1e-300]
    row = np.concatenate([edge, rng.normal(size=500) * 10.0 ** rng.integers(-12, 12, 500),
                          rng.integers(-5, 5, 50).astype(float)])
    assert format_row(row) == " ".join(map(_format, row))
    assert format_row(row[np.isfinite(row)]) == " ".join(map(_format, row[np.isfinite(row)]))
    assert format_row(np.array([np.nan])) == "NA" and format_row(np.array([])) == ""


def test_repeated_rows_written_once_formatted_identically(tmp_path):
    # REGENIE's chromosomes without step-1 variants carry the whole-genome row: written from one
    # formatting, each line still complete
    values = np.array([[0.25, np.nan, -1.5], [1 / 3, 0.0, 2.0], [0.25, np.nan, -1.5]])
    _write(tmp_path, chroms=(1, 2, 3), values=values)
    lines = (tmp_path / "w_1.loco").read_text().splitlines()
    assert lines[1:] == ["1 0.25 NA -1.5", "2 0.3333333333 0 2", "3 0.25 NA -1.5"]


def test_underscores_in_ids(tmp_path):
    _write(tmp_path, ids=("x_1", "y", "z"), fids=("f_a", "g", "h"))
    p = read_loco(tmp_path / "w_1.loco", "t", ["z", "x_1", "y"])
    np.testing.assert_array_equal(p.values[0], [2, 0, 1])
    # 'f_a_x_1' ends with both '_x_1' and '_1': two run samples -> ambiguous without family ids
    with pytest.raises(InputError, match=r"w_1\.loco: sample token 'f_a_x_1' matches several samples"):
        read_loco(tmp_path / "w_1.loco", "t", ["1", "x_1"])
    p = read_loco(tmp_path / "w_1.loco", "t", ["1", "x_1"], required=np.array([False, True]),
                  family_ids=["q", "f_a"])
    np.testing.assert_array_equal(p.values[0], [np.nan, 0])


@pytest.mark.parametrize("case, message", [
    ("no list", r"prediction list .*nothere_pred\.list does not exist"),
    ("no loco", r"LOCO prediction file .*gone\.loco \(trait t\) does not exist"),
    ("unknown trait", r"w_pred\.list: trait\(s\) t not in this run \(the run tests u\)"),
    ("trait absent", r"w_pred\.list: no prediction for trait\(s\) u"),
    ("list line", r"w_pred\.list: line 1: 3 fields, expected"),
    ("short row", r"w_1\.loco: line 3: 3 fields, expected 4"),
    ("bad number", r"w_1\.loco: line 2: not a chromosome number followed by numbers or NA"),
    ("bad header", r"w_1\.loco: line 1: header must start with FID_IID"),
    ("sample missing", r"w_1\.loco: samples do not match the run \(trait t\): 1 analysed sample\(s\) lack "
                       r"predictions, e.g. sample d is not in its FID_IID header"),
    ("sample NA", r"w_1\.loco: samples do not match the run \(trait t\): 1 analysed sample\(s\) lack "
                  r"predictions, e.g. sample b has NA predictions"),
])
def test_bad_input_names_the_file(tmp_path, case, message):
    lst = _write(tmp_path)
    loco = tmp_path / "w_1.loco"
    traits, ids = ["t"], ["a", "b", "c"]
    if case == "no list":
        lst = tmp_path / "nothere_pred.list"
    elif case == "no loco":
        lst.write_text("t gone.loco\n")
    elif case == "unknown trait":
        traits = ["u"]
    elif case == "trait absent":
        traits = ["t", "u"]
    elif case == "list line":
        lst.write_text(f"t {loco} extra\n")
    elif case == "short row":
        loco.write_text(loco.read_text().rsplit("\n", 2)[0] + "\n2 1 2\n")
    elif case == "bad number":
        loco.write_text(loco.read_text().replace("\n1 0 ", "\n1 zero "))
    elif case == "bad header":
        loco.write_text(loco.read_text().replace("FID_IID", "IID", 1))
    elif case == "sample missing":
        ids = ["a", "b", "c", "d"]
    elif case == "sample NA":
        loco.write_text(loco.read_text().replace("\n2 3 4 5", "\n2 3 NA 5"))
    with pytest.raises(InputError, match=message):
        read_prediction_list(lst, traits, ids)


def test_writer_refuses_chromosomes_regenie_cannot_read(tmp_path):
    with pytest.raises(ValueError, match="REGENIE reads chromosome k from line k"):
        _write(tmp_path, chroms=(20, 21))
    assert not list(tmp_path.iterdir())


def test_chromosome_codes():
    assert [chromosome_code(c) for c in ("1", "chr22", "X", "chrX")] == [1, 22, 23, 23]
    with pytest.raises(InputError, match="chromosome 'MT' has no LOCO prediction"):
        chromosome_code("MT")
