"""The default linkage works on hubscan's own simulated cohort: its linkage table holds the OMOP
person_source_value (hub pseudonyms), which is detected, so no --omop-patient-id is needed."""

import pandas as pd
import pytest

from hubscan.cli import build_parser
from hubscan.errors import InputError
from phenotypes.checks import check_before_work
from phenotypes.command import config_from_args
from phenotypes.linkage import choose_omop_patient_id, read_linkage_table


def _config(valid, tmp_path, *extra):
    args = build_parser("phenotypes").parse_args(
        ["phenotypes", "--omop", str(valid["omop"]), "--linkage", str(valid["linkage"]), "--genotype-store",
         str(valid["store"]), "--out", str(tmp_path / "phen"), *extra])
    return args, config_from_args(args)


def test_simulated_cohort_links_through_person_source_value(valid, tmp_path):
    args, config = _config(valid, tmp_path)
    assert args.omop_patient_id == "auto"
    check_before_work(config, args.out, detect_omop_patient_id=True)
    assert config.sources[0].omop.patient_id == "person_source_value"
    assert not (tmp_path / "phen").exists()  # the checks write nothing


def test_person_id_linkage_is_detected_too(valid, tmp_path):
    person = pd.read_csv(valid["omop"] / "person.csv", dtype=str)
    to_person_id = dict(zip(person.person_source_value, person.person_id))
    link = pd.read_csv(valid["linkage"], dtype=str)
    link["patient_id"] = link.patient_id.map(to_person_id)
    link.dropna().to_csv(tmp_path / "by_person_id.csv", index=False)
    assert choose_omop_patient_id(read_linkage_table(tmp_path / "by_person_id.csv"), valid["omop"]) == "person_id"
    assert choose_omop_patient_id(read_linkage_table(valid["linkage"]), valid["omop"]) == "person_source_value"


def test_explicit_wrong_column_is_refused_with_the_fix(valid, tmp_path):
    args, config = _config(valid, tmp_path, "--omop-patient-id", "person_id")
    with pytest.raises(InputError, match="no patient_id is an OMOP person_id of .*person.csv; they are its "
                                         "person_source_values: pass --omop-patient-id person_source_value"):
        check_before_work(config, args.out)
