"""Code normalisation (Python and its Spark twin agree), phecode map layouts, roll-up, exclusion
ranges, and the status rule's array core against a plain-Python loop (hypothesis)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from phenotypes.phecodes.maps import load_phecode_map, parse_exclusion_ranges
from phenotypes.phecodes.resolve import resolve_codes
from phenotypes.phecodes.rules import phecode_status
from phenotypes.vocab.codes import canonical_vocabulary, normalise_code, prefix_of, spark_normalise
from tests.phenotypes.helpers import PHECODE12, PHECODEX, write_csv

CASES = [("ICD10", "E11.9", "E119"), ("ICD10", "e119", "E119"), ("ICD10", " E11.9 ", "E119"), ("ICD10", "I10X", "I10"),
         ("ICD10", "I10", "I10"), ("ICD10", "G01X*", "G01"), ("ICD10", "A170D", "A170"), ("ICD10", "M069-", "M069"),
         ("ICD10CM", "S72.001A", "S72001A"), ("ICD10CM", "E11.65", "E1165"), ("ICD9CM", "250.00", "25000"),
         ("ICD9CM", "V10.3", "V103"), ("ICD9CM", "E850.0", "E8500"), ("READ2", "H33..00", "H33.."),
         ("READ2", "173c.", "173c."), ("READ2", "C10F7", "C10F7"), ("SNOMED", " 44054006", "44054006"),
         ("LOINC", "13457-7", "13457-7"), ("ICD10", "", None)]


@pytest.mark.parametrize("vocab, raw, norm", CASES)
def test_normalise_code(vocab, raw, norm):
    assert normalise_code(vocab, raw) == norm


def test_spark_normalisation_matches_python(spark):
    rng = np.random.default_rng(0)
    alphabet = list("ABCDEIXZadx0123456789.-* †+!")
    random_codes = ["".join(rng.choice(alphabet, size=rng.integers(0, 10))) for _ in range(400)]
    random_codes += ["E11X", "E11XD", "I10XA", "A17.0D", "C61X", "H33..11", "1234567", "E11.9--", "I10X-", "A170DD",
                     "E1XA", "E11XAD", "e11.9a", "H33 .. 11", "J45.9 "]
    rng_rows = [(v, c) for v, c, _ in CASES]
    rng_rows += [(v, c) for v in ("ICD10", "ICD10CM", "ICD9CM", "READ2", "SNOMED") for c in random_codes]
    frame = spark.createDataFrame(rng_rows, "vocabulary string, code string")
    from pyspark.sql import functions as F

    got = frame.select("vocabulary", "code", spark_normalise(F.col("vocabulary"), F.col("code")).alias("n")).collect()
    for row in got:
        assert row["n"] == normalise_code(row["vocabulary"], row["code"]), (row["vocabulary"], row["code"])


def test_vocabulary_names_and_prefixes():
    assert canonical_vocabulary("icd-10") == "ICD10" and canonical_vocabulary("Read") == "READ2"
    assert canonical_vocabulary("SNOMED CT") == "SNOMED" and canonical_vocabulary("ICD-42") is None
    assert prefix_of("READ2", "H33..") == "H33" and prefix_of("ICD10", "E11.") == "E11"


def test_phecode12_map_rollup_and_exclusions(shared_data):
    m = load_phecode_map(shared_data / PHECODE12)
    assert m.version == "1.2" and m.layout == "phewascatalog 1.2 ICD-10" and m.skipped_range_rows == 201
    e11 = set(m.pairs.loc[(m.pairs["code"] == "E112"), "phecode"])
    assert e11 == {"250", "250.2", "250.22"}      # E11.2 -> 250.22, rolled up to 250.2 and 250
    assert m.exclusions["250.2"] == [(249.0, 250.99)]
    assert parse_exclusion_ranges("224-225.99, 190-192.99", "x") == [(224.0, 225.99), (190.0, 192.99)]
    e = m.exclusion_matrix().tocsc()
    j = m.phecodes.index("250.1")
    excluded_by = {m.phecodes[i] for i in e[:, j].nonzero()[0]}
    assert {"250", "250.1", "250.2", "250.22", "249"} <= excluded_by and "251" not in excluded_by


def test_phecodex_map_is_already_rolled_up(shared_data):
    rolled = load_phecode_map(shared_data / PHECODEX)
    flat = load_phecode_map(shared_data / PHECODEX, rollup=False)
    assert rolled.version == "X" and not rolled.exclusions
    pd.testing.assert_frame_equal(rolled.pairs, flat.pairs)
    assert len(rolled.pairs) == 20255


def test_phetk_layout_with_sex_and_unrolled(tmp_path):
    path = write_csv(tmp_path / "phetk12.csv", ["phecode", "ICD", "flag", "sex", "exclude_range", "phecode_unrolled",
                                                "phecode_string"],
                     [("185", "C61", "10", "Male", "185-187.99", "185", "Prostate cancer"),
                      ("250.2", "250.00", "9", "Both", "249-250.99", "250.2", "T2D"),
                      ("250.2", "250.00", "9", "Both", "249-250.99", "250", "T2D")])
    m = load_phecode_map(path)
    assert m.layout == "PheTK" and m.sex == {"185": "M"} and m.names["185"] == "Prostate cancer"
    assert set(map(tuple, m.pairs.to_numpy())) == {("ICD10", "C61", "185"), ("ICD9", "25000", "250.2"),
                                                   ("ICD9", "25000", "250")}
    assert list(m.sex_restriction()) == [1 if p == "185" else 0 for p in m.phecodes]


def test_resolution_fallback_and_unmapped(shared_data):
    m = load_phecode_map(shared_data / PHECODE12)
    counts = pd.DataFrame({"family": ["ICD10"] * 3, "code": ["E112", "E1129", "U999"], "n_events": [5, 2, 7]})
    exact = resolve_codes(counts, m, parent_fallback=False)
    assert exact.report["events_unmapped"] == 9 and list(exact.unmapped["code"]) == ["U999", "E1129"]
    fb = resolve_codes(counts, m, parent_fallback=True)
    assert fb.report["events_parent_fallback"] == 2 and list(fb.unmapped["code"]) == ["U999"]
    assert set(fb.pairs.loc[fb.pairs["code"] == "E1129", "phecode"]) == {"250", "250.2", "250.22"}


def _loop_status(days, in_records, sex, restriction, excl_ranges, k):
    n, p = days.shape
    out = np.full((n, p), np.nan)
    for i in range(n):
        if not in_records[i]:
            continue
        for j in range(p):
            if restriction[j] and sex[i] != restriction[j]:
                continue
            if days[i, j] >= k:
                out[i, j] = 1
            elif days[i, j] > 0 or any(days[i, q] > 0 for q in excl_ranges[j]):
                continue
            else:
                out[i, j] = 0
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(1, 6), st.integers(1, 3), st.integers(0, 2**31 - 1))
def test_status_core_matches_loop(n, p, k, seed):
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 4, size=(n, p)) * (rng.random((n, p)) < 0.4)
    in_records = rng.random(n) < 0.8
    sex = rng.integers(0, 3, size=n).astype(np.int8)
    restriction = rng.choice([0, 0, 1, 2], size=p).astype(np.int8)
    excl = [sorted(set(rng.choice(p, size=rng.integers(0, p + 1), replace=False).tolist())) for _ in range(p)]
    e = np.zeros((p, p), dtype=bool)
    for j, qs in enumerate(excl):
        e[qs, j] = True
    got = phecode_status(sparse.csr_matrix(days), in_records, sex, restriction, sparse.csr_matrix(e), k)
    want = _loop_status(days, in_records, sex, restriction, excl, k)
    np.testing.assert_array_equal(got.values, want)
    total = sum(got.counts[c] for c in ("cases", "controls", "excluded", "excluded_sex", "missing"))
    assert np.all(total == n)
    assert np.all(got.counts["missing"] == (~in_records).sum())
