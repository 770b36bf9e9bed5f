"""Bad input: a clear hubscan error naming the file and line, or a documented exclusion that is
counted, by both engines (in-process and Spark: the same counts and the same messages). Spark-backed
checks share few loads; the rest are plain Python."""

import numpy as np
import pandas as pd
import pytest

from hubscan.errors import ConfigError, InputError
from phenotypes.linkage import link_samples, read_linkage_table
from phenotypes.matrix.io import read_text
from phenotypes.phecodes.maps import load_phecode_map
from phenotypes.columnar import load_records_columnar
from phenotypes.sources import Source, load_records
from phenotypes.sources.records import QualityPolicy
from tests.phenotypes.helpers import write_csv

HEADER = ["patient_id", "date", "vocabulary", "code", "value", "unit"]
ENGINES = ["in-process", "spark"]


def _load(engine, request, sources, scratch, policy=None):
    """load_records of either engine; the in-process one links patients A, B, C to rows 0-2."""
    if engine == "spark":
        return load_records(request.getfixturevalue("spark"), sources, scratch, policy)
    rows = pd.DataFrame({"patient_id": ["A", "B", "C"], "row": np.arange(3, dtype=np.int32)})
    return load_records_columnar(sources, scratch, policy, rows, 3, {("LOINC", "13457-7")})


def _persons(path):
    return write_csv(path, ["patient_id", "sex", "birth_date", "death_date"],
                     [("A", "M", "1950-01-01", ""), ("B", "F", "1990-06-01", "2015-01-01")])


@pytest.mark.parametrize("engine", ENGINES)
def test_bad_rows_excluded_and_counted(engine, request, tmp_path):
    rows = [("A", "2010-01-01", "ICD10", "E119", "", ""),     # kept
            ("A", "2010-02-30", "ICD10", "E119", "", ""),     # impossible date
            ("A", "12/03/2010", "ICD10", "E119", "", ""),     # not ISO
            ("B", "1980-01-01", "ICD10", "I10", "", ""),      # before birth
            ("B", "2016-01-01", "ICD10", "I10", "", ""),      # after death
            ("B", "2014-01-01", "LOINC", "13457-7", "abc", "mmol/L"),  # unparsable value: kept, value null
            ("", "2014-01-01", "ICD10", "I10", "", ""),       # no patient
            ("C", "2014-01-01", "ICD10", "I10", "", "")]      # no person row: kept, counted
    events = write_csv(tmp_path / "events.csv", HEADER, rows)
    rec = _load(engine, request, [Source("hub", events, persons=_persons(tmp_path / "p.csv"))], tmp_path / "s",
                QualityPolicy(bad_dates="exclude"))
    c = rec.report[str(events)]
    assert c == {"rows": 8, "unknown_vocabulary": 0, "missing_patient_or_code": 1, "bad_date": 2, "before_birth": 1,
                 "after_death": 1, "unparsable_value": 1, "no_person_record": 1, "kept": 3}
    if engine == "spark":
        kept = rec.events.toPandas()
        assert sorted(kept["patient_id"]) == ["A", "B", "C"] and kept["value"].isna().all()
    else:
        ev = rec.store.bucket(0)
        assert sorted(ev["row"].tolist()) == [0, 1, 2] and rec.measurements["value"].is_null().all()
        assert len(rec.measurements) == 1
    assert rec.persons.set_index("patient_id")["n_events"].to_dict() == {"A": 1, "B": 1, "C": 1}
    rec.release()


@pytest.mark.parametrize("rows, policy, message", [
    ([("A", "2010-01-01", "ICD10", "E119"), ("A", "2010-01-01", "ICD-42", "E119")], QualityPolicy(),
     r"unknown vocabulary 'ICD-42' \(first at line 3\)"),
    ([("A", "2010-01-01", "ICD10", "E119"), ("A", "2010-13-01", "ICD10", "E119")], QualityPolicy(),
     r"unparsable or missing date .* first at line 3"),
    ([("B", "2016-01-01", "ICD10", "I10")], QualityPolicy(implausible="error"),
     r"event after the patient's death first at line 2"),
])
@pytest.mark.parametrize("engine", ENGINES)
def test_bad_rows_errors_name_file_and_line(engine, request, tmp_path, rows, policy, message):
    events = write_csv(tmp_path / "events.csv", HEADER[:4], rows)
    with pytest.raises(InputError, match=message) as err:
        _load(engine, request, [Source("hub", events, persons=_persons(tmp_path / "p.csv"))], tmp_path / "s", policy)
    assert str(events) in str(err.value)


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_columns_and_inputs(engine, request, tmp_path):
    events = write_csv(tmp_path / "events.csv", ["patient", "date", "code"], [("A", "2010-01-01", "E11")])
    with pytest.raises(InputError, match="needs column.*patient_id, vocabulary"):
        _load(engine, request, [Source("hub", events)], tmp_path / "s")
    with pytest.raises(InputError, match="no OMOP person table"):
        (tmp_path / "omop").mkdir()
        _load(engine, request, [Source("omop", tmp_path / "omop")], tmp_path / "s")
    with pytest.raises(ConfigError):
        Source("fhir", events)
    with pytest.raises(ConfigError):
        QualityPolicy(bad_dates="ignore")


def test_duplicated_linkage_rows(tmp_path):
    path = write_csv(tmp_path / "linkage.csv", ["patient_id", "sample_id"],
                     [("P1", "S1"), ("P2", "S2"), ("P2", "S2"), ("P3", "S3"), ("P3", "S4"), ("P5", "S5"), ("P6", "S5"),
                      ("P7", "S_not_genotyped")])
    table = read_linkage_table(path)
    samples = ["S1", "S2", "S3", "S4", "S5", "S6"]
    with pytest.raises(InputError, match=r"linkage.csv: line 5: patient linked to several samples"):
        link_samples(table, samples, "error", str(path))
    lk = link_samples(table, samples, "exclude", str(path), known_patients=["P1", "P2", "P3", "P5", "P6"])
    assert list(lk.patient_of_sample) == ["P1", "P2", None, None, None, None]
    assert lk.report == {"rows": 8, "exact_duplicates": 1, "conflicting_patients": 1, "conflicting_samples": 1,
                         "conflicting_rows_excluded": 4, "linked_samples_not_genotyped": 1,
                         "linked_patients_without_records": 0, "samples": 6, "samples_linked": 2, "samples_unlinked": 4}
    blank = write_csv(tmp_path / "blank.csv", ["patient_id", "sample_id"], [("P1", "S1"), ("", "S2")])
    with pytest.raises(InputError, match="line 3: blank"):
        read_linkage_table(blank)
    wrong = write_csv(tmp_path / "wrong.csv", ["pid", "iid"], [("P1", "S1")])
    with pytest.raises(InputError, match="needs columns patient_id and sample_id"):
        read_linkage_table(wrong)


def test_bad_maps_and_text_files(tmp_path):
    bad = write_csv(tmp_path / "map.csv", ["icd", "code"], [("E11", "250")])
    with pytest.raises(InputError, match="not a phecode map layout"):
        load_phecode_map(bad)
    bad = write_csv(tmp_path / "map2.csv", ["ICD10", "PHECODE", "Excl. Phecodes"], [("E11", "250", "abc-def")])
    with pytest.raises(InputError, match="line 2: exclusion range"):
        load_phecode_map(bad)
    bad = write_csv(tmp_path / "map3.csv", ["phecode", "code", "vocabulary_id"], [("250", "E11", "SNOMED")])
    with pytest.raises(InputError, match="line 2: vocabulary/flag"):
        load_phecode_map(bad)
    txt = tmp_path / "pheno.tsv"
    txt.write_text("#FID\tIID\ty\nA\tA\t1.5\nB\tB\tx\n")
    with pytest.raises(InputError, match="line 3: y = 'x'"):
        read_text(txt)
    txt.write_text("ID\ty\nA\t1\n")
    with pytest.raises(InputError, match="header must start"):
        read_text(txt)
    txt.write_text("#FID\tIID\ty\nA\tA\t1\t2\n")
    with pytest.raises(InputError, match="line 2: 4 fields"):
        read_text(txt)


def test_implausible_measurements_are_counted_not_kept(tmp_path):
    """The plausibility rule alone (no Spark): values outside limits or non-finite are excluded."""
    from phenotypes.quantitative.units import UnitTable

    units = UnitTable({("", "mg/dl", "mmol/l"): (1 / 38.67, 0.0)})
    v, ok = units.convert("13457-7", np.array([100.0, 3.0, 5.0, 1.0]), np.array(["mg/dL", "mmol/L", "g/L", None]),
                          "mmol/L")
    np.testing.assert_allclose(v[:2], [100 / 38.67, 3.0])
    assert list(ok) == [True, True, False, False]
    assert pd.isna(v[2])
