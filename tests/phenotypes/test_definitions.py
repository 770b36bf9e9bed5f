"""YAML custom phenotypes, quantitative traits and covariates against plain pandas/NumPy
computations written here (exact for statuses and counts; 1e-12 relative for real numbers, which
only pass through unit factors and means)."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri
from scipy.stats import rankdata

from hubscan.errors import ConfigError
from phenotypes.covariates import CovariateOptions
from phenotypes.definitions.spec import load_definitions
from phenotypes.matrix.catalogue import read_catalogue
from phenotypes.pipeline import PhenotypeConfig, build_phenotypes, load_traits
from phenotypes.quantitative.aggregate import aggregate, inverse_normal
from phenotypes.sources import Source
from tests.phenotypes.helpers import write_csv

MG_PER_MMOL = 38.67
YAML = """
units: units.csv
traits:
  - name: t2d
    description: Type 2 diabetes
    include:
      - {vocabulary: ICD10, codes: [E11]}
      - {codelist: caliber_t2d.csv}
    exclude:
      - {vocabulary: ICD10, codes: [E10]}
    dates: [2005-01-01, null]
  - name: t2d_2days
    include:
      - {vocabulary: ICD10, codes: [E11]}
    min_days: 2
    age: [40, null]
  - name: endo
    include:
      - {codelist: endo_snomed.csv, vocabulary: SNOMED}
    sex: female
  - name: ldl
    type: quantitative
    vocabulary: LOINC
    codes: [13457-7]
    unit: mmol/L
    limits: [0.2, 15]
    aggregate: median
  - name: ldl_first_int
    type: quantitative
    vocabulary: LOINC
    codes: [13457-7]
    unit: mmol/L
    limits: [0.2, 15]
    aggregate: first
    transform: inverse_normal
    missing_unit: assume
"""


def _cohort(folder, n=240, seed=3):
    rng = np.random.default_rng(seed)
    patients = [f"Q{i:04d}" for i in range(n)]
    rows = []
    for pid in patients:
        for _ in range(rng.poisson(3)):
            day = (pd.Timestamp("2000-01-01") + pd.Timedelta(days=int(rng.integers(0, 7000)))).strftime("%Y-%m-%d")
            kind = rng.integers(0, 6)
            if kind == 0:
                rows.append((pid, day, "ICD10", rng.choice(["E11.9", "E119", "E11", "E11.65"]), "", ""))
            elif kind == 1:
                rows.append((pid, day, "READ2", rng.choice(["C10F.", "C10F700", "C109."]), "", ""))
            elif kind == 2 and rng.random() < 0.3:
                rows.append((pid, day, "ICD10", "E10.9", "", ""))
            elif kind == 3:
                rows.append((pid, day, "SNOMED", rng.choice(["129103003", "0000001"]), "", ""))
            else:
                v = rng.normal(3.2, 0.8)
                unit = rng.choice(["mmol/L", "mg/dL", "MMOL/L", "", "foo"], p=[0.55, 0.2, 0.1, 0.1, 0.05])
                if unit == "mg/dL":
                    v *= MG_PER_MMOL
                if rng.random() < 0.05:
                    v *= 100  # unit slip: implausible
                rows.append((pid, day, "LOINC", "13457-7", f"{v:.4f}", unit))
    write_csv(folder / "events.csv", ["patient_id", "date", "vocabulary", "code", "value", "unit"], rows)
    sex = rng.choice(["M", "F", ""], size=n, p=[0.45, 0.45, 0.1])
    birth = [(pd.Timestamp("1940-01-01") + pd.Timedelta(days=int(d))).strftime("%Y-%m-%d")
             for d in rng.integers(0, 20000, size=n)]
    site = rng.choice(["north", "south", "east"], size=n, p=[0.5, 0.3, 0.2])
    write_csv(folder / "persons.csv", ["patient_id", "sex", "birth_date", "site"], zip(patients, sex, birth, site))
    samples = [f"G{i:04d}" for i in range(n + 10)]
    write_csv(folder / "linkage.csv", ["patient_id", "sample_id"], [(p, samples[i]) for i, p in enumerate(patients)])
    write_csv(folder / "units.csv", ["code", "from_unit", "to_unit", "factor"], [("13457-7", "mg/dL", "mmol/L", 1 / MG_PER_MMOL)])
    write_csv(folder / "caliber_t2d.csv", ["Disease", "Read code", "Medcode", "Descr", "Category"],
              [("Diabetes", "C10F.00", "1", "Type 2", "Diagnosis"), ("Diabetes", "C10F700", "2", "T2 ret", "Diagnosis")])
    write_csv(folder / "endo_snomed.csv", ["code", "term"], [("129103003", "Endometriosis")])
    write_csv(folder / "pcs.tsv", ["#FID\tIID\tPC1\tPC2"], [])
    with open(folder / "pcs.tsv", "w") as fh:
        fh.write("#FID\tIID\tPC1\tPC2\n")
        for s in samples[::2]:
            fh.write(f"{s}\t{s}\t{rng.normal():.6f}\t{rng.normal():.6f}\n")
    (folder / "defs.yaml").write_text(YAML)
    return samples


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("definitions")
    samples = _cohort(folder)
    config = PhenotypeConfig(
        sources=[Source("hub", folder / "events.csv", persons=folder / "persons.csv")],
        linkage=folder / "linkage.csv", sample_ids=samples, definitions=folder / "defs.yaml",
        covariates=CovariateOptions(["sex", "age", "record_years", "site"], reference_date=pd.Timestamp("2020-01-01").date(),
                                    genetic=folder / "pcs.tsv"))
    build_phenotypes(None, config, folder / "out")
    events = pd.read_csv(folder / "events.csv", dtype=str, keep_default_na=False)
    persons = pd.read_csv(folder / "persons.csv", dtype=str, keep_default_na=False)
    return folder, samples, events, persons


def _per_sample(samples, persons, fn):
    pid_of = {s: f"Q{int(s[1:]):04d}" for s in samples if int(s[1:]) < len(persons)}
    return np.array([fn(pid_of[s]) if s in pid_of else np.nan for s in samples])


def test_binary_definitions_match_pandas(built):
    folder, samples, events, persons = built
    ev = events.assign(date=pd.to_datetime(events["date"]), norm=events["code"].str.replace(".", "", regex=False))
    birth = dict(zip(persons["patient_id"], pd.to_datetime(persons["birth_date"])))
    sex = dict(zip(persons["patient_id"], persons["sex"]))
    t2d_codes = ev["norm"].str.startswith("E11") & (ev["vocabulary"] == "ICD10")
    read = (ev["vocabulary"] == "READ2") & ev["code"].str[:5].eq("C10F.") | ev["code"].eq("C10F700")
    t2d_inc = ev[(t2d_codes | read) & (ev["date"] >= "2005-01-01")]
    t1d = set(ev.loc[ev["norm"].str.startswith("E10"), "patient_id"])

    def t2d(pid):
        return np.nan if pid in t1d else float(pid in set(t2d_inc["patient_id"]))

    def t2d_2days(pid):
        e = ev[t2d_codes & (ev["patient_id"] == pid)]
        e = e[(e["date"] - birth[pid]).dt.days / 365.25 >= 40]
        d = e["date"].nunique()
        return 1.0 if d >= 2 else (np.nan if d == 1 else 0.0)

    def endo(pid):
        if sex[pid] != "F":
            return np.nan
        return float(((ev["patient_id"] == pid) & (ev["code"] == "129103003")).any())

    m = load_traits(folder / "out", ["t2d", "t2d_2days", "endo"])
    for j, fn in enumerate([t2d, t2d_2days, endo]):
        np.testing.assert_array_equal(m.values[:, j], _per_sample(samples, persons, fn), err_msg=m.names[j])
    assert np.nansum(m.values == 1) > 100 and np.nansum(m.values == 0) > 100
    cat = read_catalogue(folder / "out" / "catalogue.tsv").set_index("name")
    assert cat.loc["t2d", "excluded"] == sum(p in t1d for p in persons["patient_id"])
    assert cat.loc["t2d", "missing"] == 10 and cat.loc["endo", "excluded_sex"] == (persons["sex"] != "F").sum()
    first = pd.read_parquet(folder / "out" / "first_dates.parquet")
    f = first[first["trait"] == "t2d"].set_index("sample_id")["first_date"]
    pid = f"Q{int(f.index[0][1:]):04d}"
    assert pd.Timestamp(f.iloc[0]) == t2d_inc[t2d_inc["patient_id"] == pid]["date"].min()
    assert len(f) == np.nansum(m.values[:, 0] == 1)


def test_quantitative_traits_match_numpy(built):
    folder, samples, events, persons = built
    ldl = events[events["vocabulary"] == "LOINC"].copy()
    ldl["v"] = ldl["value"].astype(float)
    key = ldl["unit"].str.lower()
    ldl["mmol"] = np.where(key == "mmol/l", ldl["v"], np.where(key == "mg/dl", ldl["v"] / MG_PER_MMOL, np.nan))
    kept = ldl[ldl["mmol"].between(0.2, 15)]
    expected_median = _per_sample(samples, persons, lambda p: kept.loc[kept["patient_id"] == p, "mmol"].median())
    # "first" with missing_unit: assume -> a blank unit is mmol/L
    ldl2 = ldl.assign(mmol=np.where(ldl["unit"] == "", ldl["v"], ldl["mmol"]))
    kept2 = ldl2[ldl2["mmol"].between(0.2, 15)].sort_values(["patient_id", "date", "mmol"])
    first = _per_sample(samples, persons, lambda p: kept2.loc[kept2["patient_id"] == p, "mmol"].iloc[0]
                        if (kept2["patient_id"] == p).any() else np.nan)
    ok = ~np.isnan(first)
    expected_int = np.full(len(first), np.nan)
    expected_int[ok] = ndtri((rankdata(first[ok]) - 0.375) / (ok.sum() + 0.25))
    m = load_traits(folder / "out", ["ldl", "ldl_first_int"])
    np.testing.assert_allclose(m.values[:, 0], expected_median, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(m.values[:, 1], expected_int, rtol=1e-12, atol=1e-12, equal_nan=True)
    import json

    rep = json.loads((folder / "out" / "report.json").read_text())["derived"]["measurement"]["ldl"]
    assert rep["implausible"] == int((~ldl["mmol"].between(0.2, 15) & ldl["mmol"].notna()).sum()) > 0
    assert rep["unit_unconvertible"] == int((key == "foo").sum()) > 0 and rep["missing_unit"] == int((key == "").sum())
    assert rep["unconvertible_units"] == ["foo"]


def test_covariates(built):
    folder, samples, events, persons = built
    from phenotypes.matrix.io import read_text

    cov = read_text(folder / "out" / "covariates.tsv", missing_value=None)
    assert cov.names == ["sex", "age", "record_years", "site_south", "site_east", "PC1", "PC2"]
    sexes = _per_sample(samples, persons, lambda p: {"M": 1.0, "F": 0.0}.get(persons.set_index("patient_id").loc[p, "sex"], np.nan))
    np.testing.assert_array_equal(cov.values[:, 0], sexes)
    age = _per_sample(samples, persons, lambda p: (pd.Timestamp("2020-01-01") - pd.Timestamp(
        persons.set_index("patient_id").loc[p, "birth_date"])).days / 365.25)
    np.testing.assert_allclose(cov.values[:, 1], age, rtol=1e-12, equal_nan=True)
    ev = events.assign(date=pd.to_datetime(events["date"])).groupby("patient_id")["date"]
    span = (ev.max() - ev.min()).dt.days / 365.25
    np.testing.assert_allclose(cov.values[:, 2], _per_sample(samples, persons, lambda p: span.get(p, np.nan)), rtol=1e-12,
                               equal_nan=True)
    site = _per_sample(samples, persons, lambda p: float(persons.set_index("patient_id").loc[p, "site"] == "east"))
    np.testing.assert_array_equal(cov.values[:, 4], site)
    assert np.isnan(cov.values[1, 5]) and not np.isnan(cov.values[0, 5])  # PCs for every other sample


def test_aggregate_and_transform_against_plain_python():
    rows = np.array([0, 0, 0, 2, 2, 3])
    days = np.array([5, 1, 1, 7, 7, 2])
    vals = np.array([9.0, 4.0, 2.0, 1.0, 3.0, 8.0])
    assert aggregate(rows, days, vals, 4, "first")[0] == 2.0 and aggregate(rows, days, vals, 4, "last")[2] == 3.0
    assert aggregate(rows, days, vals, 4, "median")[0] == 4.0 and np.isnan(aggregate(rows, days, vals, 4, "mean")[1])
    x = np.array([3.0, np.nan, 1.0, 1.0, 7.0])
    got = inverse_normal(x)
    ranks = np.array([3.0, np.nan, 1.5, 1.5, 4.0])
    from statistics import NormalDist

    want = [np.nan if np.isnan(r) else NormalDist().inv_cdf((r - 0.375) / (4 + 0.25)) for r in ranks]
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("text, message", [
    ("traits: [{name: a, include: [{vocabulary: NOPE, codes: [X]}]}]", "unknown vocabulary"),
    ("traits: [{name: 'a b', include: [{vocabulary: ICD10, codes: [E11]}]}]", "names may hold"),
    ("traits: [{name: a}]", "at least one include"),
    ("traits: [{name: a, include: [{vocabulary: ICD10, codes: [E11]}], min_days: 0}]", "min_days"),
    ("traits: [{name: a, type: quantitative, vocabulary: LOINC, codes: [1], unit: x, aggregate: mode}]", "aggregate"),
    ("traits: [{name: a, include: [{vocabulary: ICD10, codes: [E11]}], colour: red}]", "unknown key"),
    ("traits: [{name: a, include: [{vocabulary: ICD10, codes: [E11]}]}, {name: a, include: [{vocabulary: ICD10, codes: [E1]}]}]", "defined twice"),
    ("traits: [{name: a, include: [{codelist: list.csv}]}]", "needs 'vocabulary:'"),
])
def test_definition_errors_name_file_and_trait(tmp_path, text, message):
    write_csv(tmp_path / "list.csv", ["code", "term"], [("1", "x")])
    path = tmp_path / "d.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        load_definitions(path)
    assert str(path) in str(err.value)
