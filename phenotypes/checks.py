"""Checks of a phenotype run that need no Spark, made before any work starts, so that a wrong
option or a broken small input stops the run in seconds with one line naming the file:

* the output folder can be created; every input file and folder exists;
* the linkage table: columns, blank ids (line named), ids linked twice when
  ``--linkage-duplicates error`` (line named), and at least one linkage row naming a genotype sample;
* OMOP sources: a person table exists; the patient id column the linkage refers to
  (``person_id`` or ``person_source_value``) is detected when not given, and some linkage
  patient must be a person of the records;
* custom definitions parse (YAML syntax errors as ``file:line``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from hubscan.errors import InputError
from hubscan.files import check_output_dir, require_file

log = logging.getLogger(__name__)


def check_before_work(config, out: str | Path, detect_omop_patient_id: bool = False) -> None:
    """Check ``config`` (a :class:`phenotypes.pipeline.PhenotypeConfig`) and ``out``; with
    ``detect_omop_patient_id`` set each OMOP source's patient id column from the linkage."""
    from phenotypes.linkage import (choose_omop_patient_id, genotype_sample_ids, link_samples, omop_person_ids,
                                    read_linkage_table)

    check_output_dir(out)
    for pmap in config.phecodes:
        require_file(pmap.map, "phecode map")
        if pmap.info is not None:
            require_file(pmap.info, "phecode information file")
    for optional, what in ((config.crosswalk, "crosswalk"), (getattr(config.covariates, "genetic", None),
                                                            "genetic covariates file")):
        if optional is not None:
            require_file(optional, what)
    for source in config.sources:
        if not Path(source.path).exists():
            raise InputError(f"records input {source.path} does not exist")
        if source.persons is not None:
            require_file(source.persons, "persons file")
    if config.definitions is not None:
        from phenotypes.definitions.spec import load_definitions

        load_definitions(config.definitions)

    table = read_linkage_table(config.linkage)
    if config.sample_ids is not None:
        import numpy as np

        sample_ids = np.asarray(config.sample_ids, dtype=object)
    else:
        sample_ids = genotype_sample_ids(config.samples_file, config.genotype_store)
        config.sample_ids = sample_ids  # read once: the run uses these
    linkage = link_samples(table, sample_ids, config.linkage_duplicates, str(config.linkage))
    if linkage.report["samples_linked"] == 0:
        raise InputError(f"{config.linkage}: no linkage row names one of the {len(sample_ids)} genotype samples "
                         "(is it the linkage table of these genotypes?)")
    for source in config.sources:
        if source.kind != "omop":
            continue
        if detect_omop_patient_id:
            source.omop.patient_id = choose_omop_patient_id(table, source.path, str(config.linkage))
        else:
            person, ids = omop_person_ids(source.path)
            column = source.omop.patient_id
            if ids and column in ids and not set(table["patient_id"]) & ids[column]:
                other = "person_source_value" if column == "person_id" else "person_id"
                hint = (f"; they are its {other}s: pass --omop-patient-id {other}"
                        if set(table["patient_id"]) & ids.get(other, set()) else "")
                raise InputError(f"{config.linkage}: no patient_id is an OMOP {column} of {person}{hint}")
