"""OMOP readers on the real Synthea27Nj CDM 5.4 zip (as OHDSI ships it) and on small CDM tables
written here as CSV and as Parquet; crosswalks from a user table and from OMOP vocabulary tables.
References are plain pandas reads of the same files; counts must be equal."""

import zipfile

import numpy as np
import pandas as pd
import pytest

from phenotypes.matrix.catalogue import read_catalogue
from phenotypes.pipeline import PhecodeOptions, PhenotypeConfig, build_phenotypes, load_traits
from phenotypes.sources import Source
from phenotypes.sources.omop import OmopOptions
from tests.phenotypes.helpers import PHECODE12, reference_status, write_csv

SYNTHEA = "omop/Synthea27Nj_5.4.zip"
SYNTHEA_YAML = """
traits:
  - name: sinusitis
    include: [{vocabulary: SNOMED, codes: ["444814009"], match: exact}]
    min_days: 2
  - name: bmi
    type: quantitative
    vocabulary: LOINC
    codes: [39156-5]
    unit: kg/m2
    aggregate: mean
"""


def _zip_table(path, name):
    with zipfile.ZipFile(path) as zf:
        with zf.open(f"{name}.csv") as fh:
            return pd.read_csv(fh, dtype=str, keep_default_na=False)


def test_synthea_zip_as_it_is(shared_data, tmp_path):
    zpath = shared_data / SYNTHEA
    person = _zip_table(zpath, "PERSON")
    samples = ["S" + p for p in person["person_id"]] + ["S_extra"]
    write_csv(tmp_path / "linkage.csv", ["patient_id", "sample_id"], [(p, "S" + p) for p in person["person_id"]])
    (tmp_path / "defs.yaml").write_text(SYNTHEA_YAML)
    config = PhenotypeConfig(sources=[Source("omop", zpath, site="nj")], linkage=tmp_path / "linkage.csv",
                             sample_ids=samples, definitions=tmp_path / "defs.yaml",
                             covariates=__import__("phenotypes.covariates", fromlist=["x"]).CovariateOptions(["sex", "age"]))
    result = build_phenotypes(None, config, tmp_path / "out")
    rec = result.report["records"]
    cond = _zip_table(zpath, "CONDITION_OCCURRENCE")
    meas = _zip_table(zpath, "MEASUREMENT")
    by_table = {k.rsplit("/", 1)[-1]: v for k, v in rec.items() if k != "persons"}
    assert by_table["CONDITION_OCCURRENCE.csv"]["rows"] == len(cond) == by_table["CONDITION_OCCURRENCE.csv"]["kept"]
    assert by_table["MEASUREMENT.csv"]["rows"] == len(meas)
    assert rec["persons"] == {"patients": 28, "with_events": 28, "sex_unknown": 0, "birth_unknown": 0}
    # sinusitis on >= 2 distinct days, from the raw table
    sin = cond[cond["condition_source_value"] == "444814009"].groupby("person_id")["condition_start_date"].nunique()
    expected = np.array([np.nan if s == "S_extra" else (1.0 if sin.get(s[1:], 0) >= 2 else
                                                        (np.nan if sin.get(s[1:], 0) == 1 else 0.0)) for s in samples])
    m = load_traits(tmp_path / "out", ["sinusitis", "bmi"])
    np.testing.assert_array_equal(m.values[:, 0], expected)
    bmi = meas[meas["measurement_source_value"] == "39156-5"].assign(v=lambda x: x["value_as_number"].astype(float))
    mean = bmi.groupby("person_id")["v"].mean()
    np.testing.assert_allclose(m.values[:, 1], [mean.get(s[1:], np.nan) for s in samples], rtol=1e-12, equal_nan=True)
    # sex from gender_concept_id, deaths from DEATH
    from phenotypes.matrix.io import read_text

    cov = read_text(tmp_path / "out" / "covariates.tsv", missing_value=None)
    sex = dict(zip(person["person_id"], person["gender_concept_id"].map({"8507": 1.0, "8532": 0.0})))
    np.testing.assert_array_equal(cov.values[:-1, 0], [sex[s[1:]] for s in samples[:-1]])
    death = _zip_table(zpath, "DEATH")
    assert len(death) == 3
    cat = read_catalogue(tmp_path / "out" / "catalogue.tsv").set_index("name")
    assert cat.loc["sinusitis", "cases"] == (sin >= 2).sum() and cat.loc["sinusitis", "missing"] == 1


def _omop_tables(folder, rng, n=150):
    """Small CDM tables: dotted ICD-10 in condition_source_value (concept 0), deaths with a few
    events after them, pseudonyms in person_source_value."""
    m = pd.read_csv(folder.parent / "map.csv", dtype=str, keep_default_na=False)
    codes = [c for c in m["ICD10"] if "-" not in c][:400] + ["E11.9", "I10", "J45.9", "E10.9"] * 30
    person = pd.DataFrame({
        "person_id": np.arange(1, n + 1).astype(str),
        "gender_concept_id": rng.choice(["8507", "8532", "0"], size=n, p=[0.45, 0.45, 0.1]),
        "year_of_birth": rng.integers(1940, 1980, size=n).astype(str),
        "month_of_birth": rng.integers(1, 13, size=n).astype(str), "day_of_birth": "1", "birth_datetime": "",
        "person_source_value": [f"H{i:06d}" for i in range(n)]})
    cond = []
    for pid in person["person_id"]:
        for _ in range(rng.poisson(6)):
            day = pd.Timestamp("2001-01-01") + pd.Timedelta(days=int(rng.integers(0, 7000)))
            cond.append((pid, day.strftime("%Y-%m-%d"), rng.choice(codes), "0"))
    cond = pd.DataFrame(cond, columns=["person_id", "condition_start_date", "condition_source_value",
                                       "condition_source_concept_id"])
    cond.insert(0, "condition_occurrence_id", np.arange(1, len(cond) + 1).astype(str))
    death = pd.DataFrame({"person_id": person["person_id"][:12], "death_date": "2012-06-30"})
    return {"person": person, "condition_occurrence": cond, "death": death}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_omop_tables_csv_and_parquet(shared_data, tmp_path, fmt):
    rng = np.random.default_rng(5)
    (tmp_path / "map.csv").write_bytes((shared_data / PHECODE12).read_bytes())
    folder = tmp_path / "omop"
    folder.mkdir()
    tables = _omop_tables(folder, rng)
    for name, t in tables.items():
        if fmt == "csv":
            t.to_csv(folder / f"{name}.csv", index=False)
        else:
            t.to_parquet(folder / f"{name.upper()}.parquet", index=False)
    person = tables["person"]
    samples = [f"X{i:04d}" for i in range(len(person))]
    write_csv(tmp_path / "linkage.csv", ["patient_id", "sample_id"], zip(person["person_source_value"], samples))
    config = PhenotypeConfig(
        sources=[Source("omop", folder, omop=OmopOptions(patient_id="person_source_value"))],
        linkage=tmp_path / "linkage.csv", sample_ids=samples, phecodes=[PhecodeOptions(tmp_path / "map.csv")],
        parent_fallback=False)
    result = build_phenotypes(None, config, tmp_path / "out")
    # reference: the same events as a hub-style frame, minus events after death (excluded and counted)
    cond = tables["condition_occurrence"].merge(person, on="person_id").merge(tables["death"], on="person_id", how="left")
    after = cond["death_date"].notna() & (cond["condition_start_date"] > cond["death_date"])
    rep = next(v for k, v in result.report["records"].items() if "condition_occurrence" in k.lower())
    assert rep["after_death"] == after.sum() > 0 and rep["kept"] == len(cond) - after.sum()
    kept = cond[~after]
    events = pd.DataFrame({"patient_id": kept["person_source_value"], "date": kept["condition_start_date"],
                           "vocabulary": "ICD10", "code": kept["condition_source_value"]})
    birth = person.assign(birth_date=pd.to_datetime(dict(year=person["year_of_birth"].astype(int),
                                                         month=person["month_of_birth"].astype(int), day=1)))
    persons = pd.DataFrame({"patient_id": person["person_source_value"], "birth_date": birth["birth_date"].dt.strftime("%Y-%m-%d"),
                            "sex": person["gender_concept_id"].map({"8507": "M", "8532": "F"}).fillna("")})
    linkage = pd.DataFrame({"patient_id": person["person_source_value"], "sample_id": samples})
    expected = reference_status(events, persons, linkage, samples, tmp_path / "map.csv", "1.2", 2, {})
    m = load_traits(tmp_path / "out", ["phecode_" + p for p in expected.columns])
    np.testing.assert_array_equal(m.values, expected.to_numpy())
    assert np.nansum(m.values == 1) > 50


def test_crosswalks_user_table_and_omop_vocabulary(shared_data, tmp_path):
    """SNOMED events reach phecode 250.2 through OMOP 'Maps to' (ICD10 E11.9 -> standard SNOMED
    44054006 <- SNOMED source code) and Read v2 events through a user table."""
    folder = tmp_path / "omop"
    folder.mkdir()
    write_csv(folder / "person.csv", ["person_id", "gender_concept_id", "year_of_birth"],
              [(str(i), "8507", "1960") for i in range(1, 7)])
    rows = [(str(i), str(i), f"2010-0{d}-01", "44054006", "201826") for i in (1, 2, 3) for d in (1, 2)]
    rows += [("9", "4", "2010-01-01", "44054006", "201826")]
    write_csv(folder / "condition_occurrence.csv", ["condition_occurrence_id", "person_id", "condition_start_date",
                                                    "condition_source_value", "condition_source_concept_id"], rows)
    write_csv(folder / "concept.csv", ["concept_id", "vocabulary_id", "concept_code"],
              [("201826", "SNOMED", "44054006"), ("45576876", "ICD10", "E11.9"), ("35206882", "ICD10", "E11.8")])
    write_csv(folder / "concept_relationship.csv", ["concept_id_1", "concept_id_2", "relationship_id", "invalid_reason"],
              [("201826", "201826", "Maps to", ""), ("45576876", "201826", "Maps to", ""),
               ("35206882", "201826", "Maps to", "D")])
    write_csv(tmp_path / "hub.csv", ["patient_id", "date", "vocabulary", "code"],
              [("5", "2011-01-01", "READ2", "C10F.00"), ("5", "2011-02-01", "Read", "C10F."),
               ("6", "2011-01-01", "READ2", "C10F.")])
    write_csv(tmp_path / "xwalk.csv", ["source_vocabulary", "source_code", "target_vocabulary", "target_code"],
              [("READ2", "C10F.", "ICD10", "E11.9")])
    samples = [f"S{i}" for i in range(1, 7)]
    write_csv(tmp_path / "linkage.csv", ["patient_id", "sample_id"], [(s[1:], s) for s in samples])
    config = PhenotypeConfig(sources=[Source("omop", folder), Source("hub", tmp_path / "hub.csv")],
                             linkage=tmp_path / "linkage.csv", sample_ids=samples, crosswalk=tmp_path / "xwalk.csv",
                             omop_crosswalk=True, phecodes=[PhecodeOptions(shared_data / PHECODE12)])
    build_phenotypes(None, config, tmp_path / "out")
    m = load_traits(tmp_path / "out", ["phecode_250.2", "phecode_250"])
    # 1-3: SNOMED on two days (cases); 4: one day (excluded); 5: Read on two days (case); 6: one day
    np.testing.assert_array_equal(m.values[:, 0], [1, 1, 1, np.nan, 1, np.nan])
    np.testing.assert_array_equal(m.values[:, 1], [1, 1, 1, np.nan, 1, np.nan])
