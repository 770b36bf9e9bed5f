"""The in-process engine (phenotypes.columnar, the default) and the Spark engine write the same
files, byte for byte: both derive integer day counts and first dates, then hand them to the same
pure NumPy cores and writers, so there is no floating-point sum whose order could differ (the only
reals, measurements, pass through the same pandas aggregation in the same sorted order).

Inputs: a hub extract with phecodes 1.2 (sex-restricted, exclusion ranges) and X, YAML binary and
quantitative definitions, covariates, text layout; and OMOP CDM tables with a user crosswalk and
OMOP 'Maps to'. The in-process engine is also run with tiny buckets and spills, so that the
bucketing (rows split over 7 buckets, buffers written to scratch files) is shown not to change a byte.
"""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from phenotypes.covariates import CovariateOptions
from phenotypes.matrix.io import read_matrix
from phenotypes.pipeline import PhecodeOptions, PhenotypeConfig, build_phenotypes
from phenotypes.sources import Source
from tests.phenotypes.helpers import PHECODE12, PHECODEX, hub_cohort, phecode_info, write_csv
from tests.phenotypes.test_definitions import YAML, _cohort

OUTPUTS = ("traits.parquet", "catalogue.tsv", "first_dates.parquet", "covariates.tsv", "covariates.parquet",
           "phenotypes.tsv", "report.json")


def _files(out: Path) -> dict[str, bytes]:
    names = [n for n in OUTPUTS if (out / n).exists()] + sorted(p.name for p in out.glob("unmapped_*.tsv"))
    return {n: (out / n).read_bytes() for n in names}


def _same(a: Path, b: Path) -> None:
    fa, fb = _files(a), _files(b)
    assert sorted(fa) == sorted(fb) and "traits.parquet" in fa
    for name in fa:
        assert fa[name] == fb[name], f"{name} differs between {a} and {b}"


@pytest.fixture(scope="module")
def hub_config(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("engines-hub")
    cohort = hub_cohort(folder, shared_data / PHECODE12, n_patients=200, seed=23)
    (folder / "defs").mkdir()
    _cohort(folder / "defs", n=120)  # other vocabularies, measurements with units, persons with sites
    (folder / "defs" / "defs.yaml").write_text(YAML)
    info = phecode_info(folder / "info12.csv", ["185", "600"], ["618.2", "618"])
    read = lambda p: pd.read_csv(p, dtype=str, keep_default_na=False)  # noqa: E731
    pd.concat([read(cohort["linkage"]), read(folder / "defs" / "linkage.csv")]).to_csv(folder / "linkage.csv",
                                                                                     index=False)
    pd.concat([read(cohort["persons"]), read(folder / "defs" / "persons.csv")]).fillna("").to_csv(
        folder / "persons_all.csv", index=False)
    samples = cohort["sample_ids"] + [f"G{i:04d}" for i in range(130)]
    return PhenotypeConfig(
        sources=[Source("hub", cohort["events"], site="hubA"),
                 Source("hub", folder / "defs" / "events.csv", persons=folder / "persons_all.csv", site="hubB")],
        linkage=folder / "linkage.csv", sample_ids=samples,
        phecodes=[PhecodeOptions(shared_data / PHECODE12, info), PhecodeOptions(shared_data / PHECODEX)],
        definitions=folder / "defs" / "defs.yaml", min_days=2, parent_fallback=True, text=True,
        covariates=CovariateOptions(["sex", "age", "age_first_record", "record_years", "site"]))


def test_hub_engines_identical(spark, hub_config, tmp_path, monkeypatch):
    spark_out = build_phenotypes(spark, hub_config, tmp_path / "spark")
    local_out = build_phenotypes(None, hub_config, tmp_path / "local")
    # the inputs exercise every rule: cases, exclusions, sex, custom and quantitative traits
    cat = local_out.catalogue.set_index("name")
    assert cat["cases"].sum() > 500 and cat["excluded"].sum() > 500 and cat["excluded_sex"].sum() > 0
    assert {"t2d", "endo", "ldl", "ldl_first_int"} <= set(cat.index) and cat.loc["ldl", "n"] > 20
    assert local_out.report["records"]["persons"]["patients"] == 320
    _same(tmp_path / "spark", tmp_path / "local")
    # tiny buckets and spills: the same bytes again
    import phenotypes.columnar.store as store

    original = store.EventStore.__init__

    def tiny(self, n_rows, expected, scratch, bucket_events=0, spill_events=0):
        original(self, n_rows, 7 * 400, scratch, bucket_events=400, spill_events=1000)
        assert self.n_buckets == 7

    monkeypatch.setattr(store.EventStore, "__init__", tiny)
    build_phenotypes(None, hub_config, tmp_path / "tiny")
    _same(tmp_path / "local", tmp_path / "tiny")
    # matrix blocks of 37 rows, straddling the 7 buckets of 50 rows: the same matrix (row groups of
    # 37 samples instead of 5,000, so compared as values) and the same bytes for every other file
    build_phenotypes(None, replace(hub_config, block_size=37), tmp_path / "blocks")
    fa, fb = _files(tmp_path / "local"), _files(tmp_path / "blocks")
    assert sorted(fa) == sorted(fb)
    assert all(fa[name] == fb[name] for name in fa if name != "traits.parquet")
    a, b = read_matrix(tmp_path / "local" / "traits.parquet"), read_matrix(tmp_path / "blocks" / "traits.parquet")
    assert a.names == b.names and a.types == b.types and list(a.sample_ids) == list(b.sample_ids)
    np.testing.assert_array_equal(a.values, b.values)
    groups = pq.ParquetFile(tmp_path / "blocks" / "traits.parquet").metadata.num_row_groups
    assert len(a.sample_ids) == 350 and groups == 10


def test_omop_and_crosswalk_engines_identical(spark, shared_data, tmp_path):
    folder = tmp_path / "omop"
    folder.mkdir()
    write_csv(folder / "person.csv", ["person_id", "gender_concept_id", "year_of_birth", "month_of_birth"],
              [(str(i), "8507" if i % 2 else "8532", str(1950 + i), str(1 + i % 12)) for i in range(1, 31)])
    rows = [(str(i * 10 + d), str(i), f"2010-0{1 + d}-1{i % 10}", code, concept)
            for i in range(1, 31) for d in range(1 + i % 4)
            for code, concept in [("E11.9", "0"), ("44054006", "201826"), ("I10", "0")][: 1 + i % 3]]
    rows += [("999", "3", "1900-01-01", "I10", "0"), ("998", "4", "2030-01-01", "E10", "0")]
    write_csv(folder / "condition_occurrence.csv", ["condition_occurrence_id", "person_id", "condition_start_date",
                                                    "condition_source_value", "condition_source_concept_id"], rows)
    write_csv(folder / "death.csv", ["person_id", "death_date"], [("4", "2020-01-01")])
    write_csv(folder / "observation_period.csv", ["person_id", "observation_period_start_date",
                                                  "observation_period_end_date"], [("5", "1999-01-01", "2021-01-01")])
    write_csv(folder / "visit_occurrence.csv", ["person_id", "visit_start_date"], [("6", "2022-02-02")])
    write_csv(folder / "concept.csv", ["concept_id", "vocabulary_id", "concept_code"],
              [("201826", "SNOMED", "44054006"), ("45576876", "ICD10", "E11.9")])
    write_csv(folder / "concept_relationship.csv", ["concept_id_1", "concept_id_2", "relationship_id", "invalid_reason"],
              [("201826", "201826", "Maps to", ""), ("45576876", "201826", "Maps to", "")])
    write_csv(tmp_path / "hub.csv", ["patient_id", "date", "vocabulary", "code"],
              [("7", "2011-01-01", "READ2", "C10F.00"), ("7", "2011-02-01", "Read", "C10F.")])
    write_csv(tmp_path / "xwalk.csv", ["source_vocabulary", "source_code", "target_vocabulary", "target_code"],
              [("READ2", "C10F.", "ICD10", "E11.9")])
    samples = [f"S{i}" for i in range(1, 33)]
    write_csv(tmp_path / "linkage.csv", ["patient_id", "sample_id"], [(s[1:], s) for s in samples])
    config = PhenotypeConfig(sources=[Source("omop", folder, site="omopA"), Source("hub", tmp_path / "hub.csv")],
                             linkage=tmp_path / "linkage.csv", sample_ids=samples, crosswalk=tmp_path / "xwalk.csv",
                             omop_crosswalk=True, phecodes=[PhecodeOptions(shared_data / PHECODE12)],
                             covariates=CovariateOptions(["sex", "age", "age_first_record", "record_years", "site"]))
    local = build_phenotypes(None, config, tmp_path / "local")
    build_phenotypes(spark, config, tmp_path / "spark")
    assert local.catalogue.set_index("name").loc["phecode_250.2", "cases"] >= 10
    rec = next(v for k, v in local.report["records"].items() if "condition" in k)
    assert rec["before_birth"] == 1 and rec["after_death"] == 1
    _same(tmp_path / "spark", tmp_path / "local")
