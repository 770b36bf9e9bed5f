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
    parquet_again = write_records(SPEC, samples, planted, tmp_path / "pq2", fmt="parquet", unlinked_fraction=0.05)
    for table, path in as_parquet.omop.items():
        assert path.read_bytes() == parquet_again.omop[table].read_bytes(), table
    for table in ("person", "measurement"):
        a = pd.read_parquet(as_parquet.omop[table])
        b = _read(files, table)
        assert a.shape == b.shape and list(a.columns) == list(b.columns)
        pd.testing.assert_series_equal(a["person_id"], b["person_id"])
    pd.testing.assert_series_equal(pd.read_parquet(as_parquet.omop["measurement"])["value_as_number"],
                                   _read(files, "measurement")["value_as_number"])
    # Every table, every cell: the CSV read with the Parquet schema's types equals the Parquet table.
    for table in OMOP_TABLES:
        pq = pd.read_parquet(as_parquet.omop[table])
        csv = pd.read_csv(files.omop[table], keep_default_na=False, na_values={""}, dtype=str)
        for name, kind in OMOP_TABLES[table]:
            a, b = pq[name], csv[name]
            if kind == "int":
                b = b.astype("float64").astype("Int64") if b.notna().any() else b
                a = a.astype("Int64")
            elif kind == "float":
                b = b.astype("float64")
            elif kind in ("date", "datetime"):
                a, b = pd.to_datetime(a), pd.to_datetime(b)
            if b.isna().all():
                assert a.isna().all(), (table, name)
                continue
            pd.testing.assert_series_equal(a, b, check_names=False, check_dtype=False, obj=f"{table}.{name}")
    assert as_parquet.hub_events.read_bytes() == files.hub_events.read_bytes()
    assert as_parquet.linkage.read_bytes() == files.linkage.read_bytes()


#: Units each LOINC code may carry, and its plausible range in that unit (beyond: a unit slip).
#: Lower limits are the documented reporting limits (Trait.minimum), upper ones generous clinical maxima.
UNITS = {"13457-7": {"mmol/L": (0.1, 15.0), "mg/dL": (3.0, 600.0)}, "4548-4": {"mmol/mol": (20.0, 200.0)},
         "39156-5": {"kg/m2": (12.0, 80.0)}, "2160-0": {"umol/L": (20.0, 1500.0)}}


def test_measurement_units_are_consistent(cohort):
    """Each LOINC code comes in its own unit(s); outside the plausible range lie only the unit slips
    (x 100, about 0.2 % of results); mg/dL LDL is mmol/L x 38.67 (means agree within 4 SE); the
    hub extract carries exactly the OMOP measurements."""
    _, _, _, files = cohort
    meas = _read(files, "measurement")
    for loinc, units in UNITS.items():
        rows = meas[meas["measurement_source_value"] == loinc]
        assert set(rows["unit_source_value"]) == set(units), loinc
        for unit, (low, high) in units.items():
            values = rows.loc[rows["unit_source_value"] == unit, "value_as_number"]
            slips = (values > high) & (values / 100 >= low) & (values / 100 <= high)
            assert values[~slips].between(low, high).all(), (loinc, unit, values[~slips].agg(["min", "max"]))
    slipped = sum(((meas["measurement_source_value"] == loinc) & (meas["unit_source_value"] == unit)
                   & (meas["value_as_number"] > high)).sum()
                  for loinc, units in UNITS.items() for unit, (_, high) in units.items())
    assert 0 < slipped < 0.006 * len(meas)  # 0.2 % expected: about 16 of 8,000
    ldl = meas[(meas["measurement_source_value"] == "13457-7") & (meas["value_as_number"] < 600)]
    mmol = ldl.loc[ldl["unit_source_value"] == "mmol/L", "value_as_number"]
    mg = ldl.loc[ldl["unit_source_value"] == "mg/dL", "value_as_number"] / LDL_MG_PER_DL
    mmol, mg = mmol[mmol < 15], mg[mg < 15]
    assert 0.10 < len(mg) / (len(mg) + len(mmol)) < 0.20  # 15 % of LDL results in mg/dL
    assert abs(mmol.mean() - mg.mean()) < 4 * np.sqrt(mmol.var() / len(mmol) + mg.var() / len(mg))
    events = pd.read_csv(files.hub_events, dtype={"code": str})
    loinc = events[events["vocabulary"] == "LOINC"]
    person = _read(files, "person").set_index("person_id")["person_source_value"]
    ours = sorted(zip(person.loc[meas["person_id"]], meas["measurement_date"], meas["measurement_source_value"],
                      meas["value_as_number"], meas["unit_source_value"]))
    assert ours == sorted(zip(loinc["patient_id"], loinc["date"], loinc["code"], loinc["value"], loinc["unit"]))


def test_disease_status_in_the_records_carries_the_planted_effect(cohort):
    """Status read back from the hub extract (any E11 / I21-I25 / J45 code) of linked samples: cases
    carry more (beta > 0) or fewer (beta < 0) ALT alleles than controls, by
    beta Var(x) / Var(L) (E[L | case] - E[L | control]) (small-effect linear approximation of
    E[x | L] under the liability model, L the planted liability), within 4 SE of the observed
    difference."""
    _, samples, planted, files = cohort
    link = _linked_samples(files)
    index_of = {s: i for i, s in enumerate(samples.ids)}
    linked = np.array(sorted(index_of[s] for s in link.values()))
    for name, prefixes in [("type_2_diabetes", ("E11",)), ("coronary_artery_disease", ("I21", "I25")),
                           ("asthma", ("J45",))]:
        patients, _ = _cases_in_records(files, prefixes)
        coded = np.zeros(samples.n, dtype=bool)
        coded[[index_of[link[p]] for p in patients if p in link]] = True
        causal = planted.causal[planted.causal["trait"] == name]
        dosage = true_dosages(SPEC, samples, causal["variant_index"].to_numpy())[linked]
        case, liability = coded[linked], planted.values[name][linked]
        for j, beta in enumerate(causal["beta"]):
            x = dosage[:, j]
            observed = x[case].mean() - x[~case].mean()
            expected = beta * x.var() / liability.var() * (liability[case].mean() - liability[~case].mean())
            se = np.sqrt(x.var() * (1 / case.sum() + 1 / (~case).sum()))
            assert abs(observed - expected) < 4 * se and np.sign(observed) == np.sign(beta), (name, j)


def test_several_chunks_keep_ids_and_truth(cohort, tmp_path):
    """Chunks of 700 people: OMOP ids stay unique and consecutive across chunks, the people, the
    linkage and the coded cases are those of the one-chunk run (only the random events differ)."""
    _, samples, planted, files = cohort
    chunked = write_records(SPEC, samples, planted, tmp_path, fmt="csv", unlinked_fraction=0.05, chunk_people=700)
    for table, id_column in [("person", "person_id"), ("visit_occurrence", "visit_occurrence_id"),
                             ("condition_occurrence", "condition_occurrence_id"), ("measurement", "measurement_id")]:
        ids = _read(chunked, table)[id_column]
        assert ids.tolist() == list(range(1, len(ids) + 1)), table
    assert chunked.linkage.read_bytes() == files.linkage.read_bytes()
    one, many = _read(files, "person"), _read(chunked, "person")
    pd.testing.assert_series_equal(one["person_source_value"], many["person_source_value"])
    pd.testing.assert_series_equal(one["gender_concept_id"], many["gender_concept_id"])
    for prefixes in [("E11",), ("C61",), ("N80",)]:
        assert _cases_in_records(files, prefixes)[0] == _cases_in_records(chunked, prefixes)[0]


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
    with pytest.raises(ConfigError, match="chunk_people must be a positive integer"):
        write_records(SPEC, samples, planted, tmp_path, chunk_people=0)
    other = CohortSpec(n_samples=200, n_variants=600, chromosomes=("22",), seed=11)
    with pytest.raises(ConfigError, match="cover 3000 genotyped samples, the cohort has 200"):
        write_records(other, simulate_samples(other), planted, tmp_path)
    reseeded = simulate_samples(CohortSpec(n_samples=3000, n_variants=3000, chromosomes=("20",), seed=12))
    with pytest.raises(ConfigError, match="sexes differ"):
        write_records(SPEC, reseeded, planted, tmp_path)
    assert not list(tmp_path.rglob("*.csv")) and not list(tmp_path.rglob("*.tmp-*"))  # nothing half-written
