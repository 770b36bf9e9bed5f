"""Phecodes 1.2 and X on a hub extract against an independent plain-pandas computation
(tests/phenotypes/helpers.py): every (sample, phecode) status and every catalogue count must be
equal (exact: these are counts). Also: exclusion ranges, sex restriction, distinct days, dotted /
undotted / HES codes, unmapped codes reported, linkage counts, plink2-layout text round trip."""

import json

import numpy as np
import pandas as pd
import pytest

from phenotypes.matrix.catalogue import read_catalogue
from phenotypes.matrix.io import read_text
from phenotypes.pipeline import PhecodeOptions, PhenotypeConfig, build_phenotypes, load_traits
from phenotypes.sources import Source
from tests.phenotypes.helpers import PHECODE12, PHECODEX, hub_cohort, phecode_info, reference_status

SEX12 = {"185": "M", "600": "M", "618.2": "F", "618": "F"}
SEXX = {"CA_107.2": "M", "GU_602": "M", "GU_602.1": "M", "GU_623": "F", "GU_623.1": "F"}
K = 2


@pytest.fixture(scope="module")
def built(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("phecodes")
    cohort = hub_cohort(folder, shared_data / PHECODE12)
    info12 = phecode_info(folder / "info12.csv", [p for p, s in SEX12.items() if s == "M"],
                          [p for p, s in SEX12.items() if s == "F"])
    infox = phecode_info(folder / "infox.csv", [p for p, s in SEXX.items() if s == "M"],
                         [p for p, s in SEXX.items() if s == "F"])
    config = PhenotypeConfig(
        sources=[Source("hub", cohort["events"], persons=cohort["persons"], site="hubA")],
        linkage=cohort["linkage"], sample_ids=cohort["sample_ids"],
        phecodes=[PhecodeOptions(shared_data / PHECODE12, info12), PhecodeOptions(shared_data / PHECODEX, infox)],
        min_days=K, parent_fallback=False, text=True)
    result = build_phenotypes(None, config, folder / "out")
    return folder, cohort, result


def _inputs(cohort):
    events = pd.read_csv(cohort["events"], dtype=str, keep_default_na=False)
    persons = pd.read_csv(cohort["persons"], dtype=str, keep_default_na=False)
    linkage = pd.read_csv(cohort["linkage"], dtype=str)
    return events, persons, linkage


@pytest.mark.parametrize("kind", ["1.2", "X"])
def test_status_equals_independent_pandas(built, shared_data, kind):
    folder, cohort, result = built
    events, persons, linkage = _inputs(cohort)
    path, sex, prefix = ((shared_data / PHECODE12, SEX12, "phecode_") if kind == "1.2"
                         else (shared_data / PHECODEX, SEXX, "phecodeX_"))
    expected = reference_status(events, persons, linkage, cohort["sample_ids"], path, kind, K, sex)
    matrix = load_traits(folder / "out", [prefix + p for p in expected.columns])
    assert list(matrix.sample_ids) == cohort["sample_ids"]
    np.testing.assert_array_equal(matrix.values, expected.to_numpy())  # NaN positions and values exact
    # the test must be able to fail: the data has cases, controls and exclusions in plenty
    assert np.nansum(matrix.values == 1) > 200 and np.isnan(matrix.values).sum() > 1000
    cat = read_catalogue(folder / "out" / "catalogue.tsv").set_index("name")
    for phe in expected.columns:
        col = expected[phe].to_numpy()
        row = cat.loc[prefix + phe]
        assert row["cases"] == np.sum(col == 1) and row["controls"] == np.sum(col == 0)
        assert row["n"] == np.sum(~np.isnan(col))
        assert row["excluded"] + row["excluded_sex"] + row["missing"] == np.isnan(col).sum()


def test_rules_visible_in_counts(built):
    folder, cohort, result = built
    cat = read_catalogue(folder / "out" / "catalogue.tsv").set_index("name")
    m = load_traits(folder / "out", ["phecode_250.2", "phecode_250.1", "phecode_185", "phecode_618.2"])
    # exclusion ranges: type 1 and type 2 diabetes exclude each other's cases from controls (249-250.99)
    t1, t2 = m.values[:, 1], m.values[:, 0]
    assert cat.loc["phecode_250.1", "excluded"] > cat.loc["phecode_250.1", "cases"]
    assert not np.any((t2 == 1) & (t1 == 0))
    # sex restriction: no woman is a prostate-cancer case or control, no man in 618.2
    samples = pd.read_csv(cohort["linkage"], dtype=str).drop_duplicates()
    persons = pd.read_csv(cohort["persons"], dtype=str, keep_default_na=False)
    sex = dict(zip(persons["patient_id"], persons["sex"].str.upper().str[:1]))
    sex_of_sample = {s: sex.get(p) for p, s in zip(samples["patient_id"], samples["sample_id"])}
    s = np.array([sex_of_sample.get(x, "") for x in m.sample_ids])
    assert np.all(np.isnan(m.values[s != "M", 2])) and np.all(np.isnan(m.values[s != "F", 3]))
    assert cat.loc["phecode_185", "excluded_sex"] > 0 and cat.loc["phecode_185", "cases"] > 0
    assert "male only" in cat.loc["phecode_185", "definition"]


def test_reports_unmapped_and_linkage(built):
    folder, cohort, result = built
    report = json.loads((folder / "out" / "report.json").read_text())
    unmapped = pd.read_csv(folder / "out" / "unmapped_phecode_map_v1_2_icd10_beta.tsv", sep="\t", dtype=str)
    assert {"U999", "Z9999", "B999X"} <= set(unmapped["code"])
    rep = report["phecodes"]["phecode_map_v1_2_icd10_beta.csv"]
    assert rep["events_unmapped"] == unmapped["n_events"].astype(int).sum() > 0
    assert rep["events_parent_fallback"] == 0 and rep["map_range_rows_skipped"] == 201
    link = report["linkage"]
    assert link["exact_duplicates"] == 1 and link["samples_unlinked"] == 45 and link["samples"] == 320
    assert link["conflicting_rows_excluded"] == 0
    rec = report["records"]
    assert sum(v["rows"] for k, v in rec.items() if k != "persons") > 1000


def test_text_layout_round_trip(built):
    folder, cohort, result = built
    text = read_text(folder / "out" / "phenotypes.tsv")
    parquet = load_traits(folder / "out")
    assert text.names == parquet.names and list(text.sample_ids) == list(parquet.sample_ids)
    np.testing.assert_array_equal(text.values, parquet.values)
    assert set(text.types) == {"binary"}
    first = (folder / "out" / "phenotypes.tsv").read_text().splitlines()[0].split("\t")
    assert first[:3] == ["#FID", "IID", parquet.names[0]]
