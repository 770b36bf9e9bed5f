"""Simulated health records and planted truth: layout, linkage, determinism, and that the planted
genetic effects are really in the records (checked with plain NumPy least squares)."""

import zipfile

import numpy as np
import pandas as pd
import pytest

from hubscan.errors import ConfigError
from hubscan.simulate.cohort import FEMALE, MALE, CohortSpec, simulate_samples
from hubscan.simulate.genotypes import true_dosages
from hubscan.simulate.records import LDL_MG_PER_DL, OMOP_TABLES, write_records
from hubscan.simulate.traits import TRAITS, choose_causal, plant_traits, trait_by_name, write_truth

SPEC = CohortSpec(n_samples=3000, n_variants=3000, chromosomes=("20", "21", "22"), seed=11)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("records")
    samples = simulate_samples(SPEC)
    planted = plant_traits(SPEC, samples, ungenotyped_fraction=0.1)
    write_truth(planted, out, sample_ids=samples.ids)
    files = write_records(SPEC, samples, planted, out, fmt="csv", unlinked_fraction=0.05)
    return out, samples, planted, files


def _read(files, table):
    return pd.read_csv(files.omop[table], dtype={"person_source_value": str})


def test_linkage_and_people(cohort):
    out, samples, planted, files = cohort
    person = _read(files, "person")
    linkage = pd.read_csv(files.linkage)
    assert len(person) == 3300 == files.n_patients  # 10 % extra people without genotypes
    assert person["person_source_value"].is_unique and person["person_id"].tolist() == list(range(1, 3301))
    assert linkage["patient_id"].is_unique and linkage["sample_id"].is_unique
    assert len(linkage) == files.n_linked == 3000 - 150  # 5 % of samples unlinked
    assert set(linkage["patient_id"]) < set(person["person_source_value"])
    assert set(linkage["sample_id"]) < set(samples.ids)
    # Pseudonyms carry nothing of the sample id, and the sex agrees through the linkage.
    assert not any(p.lstrip("P").lstrip("0") in s for p, s in zip(linkage["patient_id"], linkage["sample_id"]))
    sex_of_patient = dict(zip(person["person_source_value"], person["gender_concept_id"]))
    sample_sex = dict(zip(samples.ids, samples.sex))
    concept = {MALE: 8507, FEMALE: 8532}
    assert all(sex_of_patient[p] == concept[sample_sex[s]] for p, s in zip(linkage["patient_id"], linkage["sample_id"]))


def test_omop_columns_are_the_cdm_v54_ones(cohort, shared_data):
    """Same column names and order as the OMOP CDM v5.4 export in shared/data (Synthea)."""
    _, _, _, files = cohort
    with zipfile.ZipFile(shared_data / "omop" / "Synthea27Nj_5.4.zip") as archive:
        for table in OMOP_TABLES:
            with archive.open(f"{table.upper()}.csv") as fh:
                reference = fh.readline().decode().strip().split(",")
            ours = files.omop[table].open().readline().strip().split(",")
            assert ours == reference, table


def test_events_lie_within_life_and_observation(cohort):
    _, _, _, files = cohort
    person = _read(files, "person").set_index("person_id")
    period = _read(files, "observation_period").set_index("person_id")
    birth = pd.to_datetime(person["birth_datetime"])
    for table, column in [("condition_occurrence", "condition_start_date"), ("measurement", "measurement_date"),
                          ("visit_occurrence", "visit_start_date")]:
        events = _read(files, table)
        date = pd.to_datetime(events[column])
        pid = events["person_id"]
        assert (date.to_numpy() >= birth.loc[pid].to_numpy()).all(), table
        assert (date.to_numpy() >= pd.to_datetime(period.loc[pid, "observation_period_start_date"]).to_numpy()).all()
        assert (date.to_numpy() <= pd.to_datetime(period.loc[pid, "observation_period_end_date"]).to_numpy()).all()
    visits = _read(files, "visit_occurrence")
    conditions = _read(files, "condition_occurrence")
    assert set(conditions["visit_occurrence_id"]) <= set(visits["visit_occurrence_id"])


def test_hub_extract_matches_omop(cohort):
    _, _, _, files = cohort
    events = pd.read_csv(files.hub_events, dtype={"code": str})
    person = _read(files, "person")
    conditions = _read(files, "condition_occurrence")
    measurements = _read(files, "measurement")
    assert set(events["vocabulary"]) == {"ICD10", "LOINC"}
    icd = events[events["vocabulary"] == "ICD10"]
    assert not icd["code"].str.contains(".", regex=False).any()  # HES style, undotted
    ours = sorted(zip(person.set_index("person_id").loc[conditions["person_id"], "person_source_value"],
                      conditions["condition_start_date"], conditions["condition_source_value"].str.replace(".", "")))
    assert ours == sorted(zip(icd["patient_id"], icd["date"], icd["code"]))
    assert len(events) == len(conditions) + len(measurements)
    assert set(measurements["unit_source_value"]) == {"mmol/L", "mg/dL", "mmol/mol", "kg/m2", "umol/L"}


def _cases_in_records(files, prefixes):
    events = pd.read_csv(files.hub_events, dtype={"code": str})
    hits = events[(events["vocabulary"] == "ICD10") & events["code"].str.startswith(prefixes)]
    return set(hits["patient_id"]), hits


def _linked_samples(files):
    linkage = pd.read_csv(files.linkage)
    return dict(zip(linkage["patient_id"], linkage["sample_id"]))


def test_case_codes_follow_planted_status_and_sex(cohort):
    _, samples, planted, files = cohort
    link = _linked_samples(files)
    index_of = {s: i for i, s in enumerate(samples.ids)}
    for name, prefixes in [("type_2_diabetes", ("E11",)), ("prostate_cancer", ("C61",)),
                           ("endometriosis", ("N80",)), ("appendicitis", ("K35",))]:
        patients, hits = _cases_in_records(files, prefixes)
        coded = {index_of[link[p]] for p in patients if p in link}
        linked_index = np.array([index_of[s] for s in link.values()])
        truth = set(linked_index[planted.cases[name][linked_index]].tolist())
        assert coded == truth, name
        # Most cases have the code on >= 2 distinct days (the usual phecode rule), some only once.
        days = hits.groupby("patient_id")["date"].nunique()
        assert 0.6 < (days >= 2).mean() < 0.95, name
    trait = trait_by_name("prostate_cancer")
    assert (planted.sex[planted.cases["prostate_cancer"]] == trait.sex).all()
    assert (planted.sex[planted.cases["endometriosis"]] == FEMALE).all()
    prevalence = planted.cases["type_2_diabetes"].mean()
    assert prevalence == pytest.approx(trait_by_name("type_2_diabetes").prevalence, abs=0.002)


def _ols(x, y):
    """Slope and its standard error of y on x with an intercept (plain NumPy)."""
    design = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    sigma2 = resid @ resid / (len(y) - 2)
    se = np.sqrt(sigma2 * np.linalg.inv(design.T @ design)[1, 1])
    return coef[1], se


def test_planted_effects_are_in_the_truth_and_in_the_records(cohort):
    """Each LDL causal variant's effect (mmol/L per ALT allele) is recovered within 4 standard errors
    from the planted values, and within 4 SE (of that noisier regression) from the per-patient mean
    of the LDL measurements in the hub extract, after converting mg/dL and dropping unit slips."""
    _, samples, planted, files = cohort
    causal = planted.causal[planted.causal["trait"] == "ldl"]
    dosage = true_dosages(SPEC, samples, causal["variant_index"].to_numpy())
    ldl = planted.values["ldl"][: samples.n]
    events = pd.read_csv(files.hub_events, dtype={"code": str})
    meas = events[(events["vocabulary"] == "LOINC") & (events["code"] == "13457-7")].copy()
    meas["mmol"] = np.where(meas["unit"] == "mg/dL", meas["value"] / LDL_MG_PER_DL, meas["value"])
    slips = meas["mmol"] > 20
    assert 0 < slips.sum() < 0.01 * len(meas)
    per_patient = meas[~slips].groupby("patient_id")["mmol"].mean()
    link = _linked_samples(files)
    index_of = {s: i for i, s in enumerate(samples.ids)}
    rows = np.array([index_of[link[p]] for p in per_patient.index if p in link])
    values = np.array([per_patient[p] for p in per_patient.index if p in link])
    assert len(rows) > 0.8 * samples.n
    for j, beta in enumerate(causal["beta_units"]):
        slope, se = _ols(dosage[:, j], ldl)
        assert abs(slope - beta) < 4 * se, (slope, beta, se)
        slope, se = _ols(dosage[rows, j], values)
        assert abs(slope - beta) < 4 * se and abs(slope) > 3 * se, (slope, beta, se)


def test_null_trait_has_no_causal_variants():
    causal = choose_causal(SPEC)
    assert set(causal["trait"]) == {t.name for t in TRAITS if t.n_causal}
    assert causal["variant_index"].is_unique and (causal["effect_allele"] == causal["alt"]).all()
    assert causal["alt_frequency"].between(0.1, 0.9).all() and not (causal["chrom"] == "X").any()


def test_same_seed_same_bytes_csv_and_parquet_agree(cohort, tmp_path):
    out, samples, planted, files = cohort
    again = write_records(SPEC, samples, planted, tmp_path / "again", fmt="csv", unlinked_fraction=0.05)
    for table, path in files.omop.items():
        assert path.read_bytes() == again.omop[table].read_bytes(), table
    assert files.hub_events.read_bytes() == again.hub_events.read_bytes()
    as_parquet = write_records(SPEC, samples, planted, tmp_path / "pq", fmt="parquet", unlinked_fraction=0.05)
    for table in ("person", "measurement"):
        a = pd.read_parquet(as_parquet.omop[table])
        b = _read(files, table)
        assert a.shape == b.shape and list(a.columns) == list(b.columns)
        pd.testing.assert_series_equal(a["person_id"], b["person_id"])
    pd.testing.assert_series_equal(pd.read_parquet(as_parquet.omop["measurement"])["value_as_number"],
                                   _read(files, "measurement")["value_as_number"])


def test_bad_settings(cohort, tmp_path):
    _, samples, planted, _ = cohort
    with pytest.raises(ConfigError, match="format must be csv or parquet"):
        write_records(SPEC, samples, planted, tmp_path, fmt="xlsx")
    with pytest.raises(ConfigError, match=r"unlinked fraction must be in \[0, 1\)"):
        write_records(SPEC, samples, planted, tmp_path, unlinked_fraction=1.0)
    with pytest.raises(ConfigError, match="ungenotyped fraction"):
        plant_traits(SPEC, samples, ungenotyped_fraction=-0.1)
    tiny = CohortSpec(n_samples=10, n_variants=3, chromosomes=("22",), seed=1)
    with pytest.raises(ConfigError, match="simulate more variants"):
        choose_causal(tiny)
    with pytest.raises(ConfigError, match="unknown simulated trait 'height'"):
        trait_by_name("height")
    assert not list(tmp_path.rglob("*.csv"))  # nothing half-written
