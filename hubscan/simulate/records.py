"""Health records of a simulated cohort, as a hub delivers them.

Files written under the cohort folder (every file atomically):

* ``omop/{person,observation_period,visit_occurrence,condition_occurrence,measurement}.csv``
  (or ``.parquet``): an OMOP CDM v5.4 subset with the CDM's column names and order. No vocabulary
  ships with hubscan, so concept ids are 0 except the standard gender (8507 male, 8532 female),
  visit (9202 outpatient, 9201 inpatient) and type (32817 "EHR") concepts. Diagnoses carry the
  dotted WHO ICD-10 code in ``condition_source_value``; measurements the LOINC code in
  ``measurement_source_value`` and the unit in ``unit_source_value``.
* ``hub_events.csv``: the same diagnoses and measurements in the hub long form
  ``patient_id,date,vocabulary,code,value,unit``; ICD-10 HES-style, undotted (``E119``).
* ``linkage.csv``: ``patient_id,sample_id`` for the genotyped people, except a share
  ``unlinked_fraction`` of samples that has no row.
* ``phecode_map.csv`` (phewascatalog 1.2 ICD-10 layout) and ``phecode_info.csv`` (``phecode``,
  ``phecode_string``, ``category``, ``sex``): a small phecode map of the codes this simulator emits
  (:data:`SIMULATED_PHECODES`), so that a fresh machine can derive phecodes with categories.

Who gets what (:mod:`hubscan.simulate.traits` decides values and case status):

* Patients have pseudonymous ids ``P`` + 10 hex digits drawn at random (unrelated to sample ids)
  and are written in a random order. Births 1940–2005; observation from a start in 2000–2009 (not
  before birth) to an end in 2018–2024.
* A case of a disease has its code on one day (15 %) or on 2 + Poisson(1.5) days; everyone has
  Poisson(4) background diagnoses from :data:`BACKGROUND_ICD10`. Event days are uniform within the
  observation period; each distinct (patient, day) is one visit.
* Each quantitative trait is measured Poisson(2) times (so some people never): the person's value
  plus N(0, (0.25 sd)²) noise, floored at the trait's ``minimum`` (the assay's lower reporting
  limit). 15 % of LDL results are reported in mg/dL (× 38.67); 0.2 % of all
  results are unit slips (× 100) that plausibility limits must catch.

Memory is bounded: people are generated in chunks of :data:`CHUNK_PEOPLE` with their own random
stream ``(seed, 1020, chunk)``, so the files are a pure function of the cohort settings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hubscan.errors import ConfigError
from hubscan.files import atomic_file
from hubscan.progress import Progress
from hubscan.simulate.cohort import MALE, CohortSpec, Samples
from hubscan.simulate.tables import TableWriter
from hubscan.simulate.traits import DISEASE, QUANTITATIVE, TRAITS, PlantedTraits, Trait

log = logging.getLogger(__name__)

#: People per generation chunk (part of the model: changing it changes the records).
CHUNK_PEOPLE = 20_000
_ORDER, _IDS, _CHUNK, _LINKAGE = 1010, 1011, 1020, 1030

#: Common diagnoses everyone may have (noise for phecode derivation).
BACKGROUND_ICD10 = ("J06.9", "M54.5", "R51", "Z00.0", "I10", "K21.9", "L20.9", "F32.9", "N39.0", "R10.4")
#: phecode (phecode 1.2 numbering), name, category, sex restriction and the ICD-10 codes this
#: simulator emits that map to it; written by hubscan for its simulated codes only (not a
#: general map: use a published one for real records).
SIMULATED_PHECODES = (
    ("250.2", "Type 2 diabetes", "endocrine/metabolic", "Both", ("E11.9", "E11.6", "E11.5")),
    ("411.2", "Myocardial infarction", "circulatory system", "Both", ("I21.9",)),
    ("411.4", "Coronary atherosclerosis", "circulatory system", "Both", ("I25.1", "I25.9")),
    ("401.1", "Essential hypertension", "circulatory system", "Both", ("I10",)),
    ("495", "Asthma", "respiratory", "Both", ("J45.9", "J45.0")),
    ("465", "Acute upper respiratory infections", "respiratory", "Both", ("J06.9",)),
    ("185", "Cancer of prostate", "neoplasms", "Male", ("C61",)),
    ("615", "Endometriosis", "genitourinary", "Female", ("N80.0", "N80.9")),
    ("599.1", "Urinary tract infection", "genitourinary", "Both", ("N39.0",)),
    ("540.1", "Acute appendicitis", "digestive", "Both", ("K35.8",)),
    ("530.11", "GERD", "digestive", "Both", ("K21.9",)),
    ("366", "Cataract", "sense organs", "Both", ("H25.9",)),
    ("296.2", "Depression", "mental disorders", "Both", ("F32.9",)),
    ("939", "Atopic/contact dermatitis", "dermatologic", "Both", ("L20.9",)),
    ("760", "Back pain", "musculoskeletal", "Both", ("M54.5",)),
    ("789", "Abdominal pain", "symptoms", "Both", ("R10.4",)),
)
LDL_MG_PER_DL = 38.67  # mg/dL per mmol/L of LDL cholesterol
GENDER_CONCEPT = {1: 8507, 2: 8532}
EHR_TYPE = 32817
OUTPATIENT, INPATIENT = 9202, 9201

OMOP_TABLES: dict[str, list[tuple[str, str]]] = {
    "person": [("person_id", "int"), ("gender_concept_id", "int"), ("year_of_birth", "int"),
               ("month_of_birth", "int"), ("day_of_birth", "int"), ("birth_datetime", "datetime"),
               ("race_concept_id", "int"), ("ethnicity_concept_id", "int"), ("location_id", "int"),
               ("provider_id", "int"), ("care_site_id", "int"), ("person_source_value", "str"),
               ("gender_source_value", "str"), ("gender_source_concept_id", "int"), ("race_source_value", "str"),
               ("race_source_concept_id", "int"), ("ethnicity_source_value", "str"),
               ("ethnicity_source_concept_id", "int")],
    "observation_period": [("observation_period_id", "int"), ("person_id", "int"),
                           ("observation_period_start_date", "date"), ("observation_period_end_date", "date"),
                           ("period_type_concept_id", "int")],
    "visit_occurrence": [("visit_occurrence_id", "int"), ("person_id", "int"), ("visit_concept_id", "int"),
                         ("visit_start_date", "date"), ("visit_start_datetime", "datetime"),
                         ("visit_end_date", "date"), ("visit_end_datetime", "datetime"),
                         ("visit_type_concept_id", "int"), ("provider_id", "int"), ("care_site_id", "int"),
                         ("visit_source_value", "str"), ("visit_source_concept_id", "int"),
                         ("admitted_from_concept_id", "int"), ("admitted_from_source_value", "str"),
                         ("discharged_to_concept_id", "int"), ("discharged_to_source_value", "str"),
                         ("preceding_visit_occurrence_id", "int")],
    "condition_occurrence": [("condition_occurrence_id", "int"), ("person_id", "int"),
                             ("condition_concept_id", "int"), ("condition_start_date", "date"),
                             ("condition_start_datetime", "datetime"), ("condition_end_date", "date"),
                             ("condition_end_datetime", "datetime"), ("condition_type_concept_id", "int"),
                             ("condition_status_concept_id", "int"), ("stop_reason", "str"),
                             ("provider_id", "int"), ("visit_occurrence_id", "int"), ("visit_detail_id", "int"),
                             ("condition_source_value", "str"), ("condition_source_concept_id", "int"),
                             ("condition_status_source_value", "str")],
    "measurement": [("measurement_id", "int"), ("person_id", "int"), ("measurement_concept_id", "int"),
                    ("measurement_date", "date"), ("measurement_datetime", "datetime"), ("measurement_time", "str"),
                    ("measurement_type_concept_id", "int"), ("operator_concept_id", "int"),
                    ("value_as_number", "float"), ("value_as_concept_id", "int"), ("unit_concept_id", "int"),
                    ("range_low", "float"), ("range_high", "float"), ("provider_id", "int"),
                    ("visit_occurrence_id", "int"), ("visit_detail_id", "int"), ("measurement_source_value", "str"),
                    ("measurement_source_concept_id", "int"), ("unit_source_value", "str"),
                    ("unit_source_concept_id", "int"), ("value_source_value", "str"),
                    ("measurement_event_id", "int"), ("meas_event_field_concept_id", "int")],
}
HUB_EVENTS = [("patient_id", "str"), ("date", "date"), ("vocabulary", "str"), ("code", "str"),
              ("value", "float"), ("unit", "str")]
LINKAGE = [("patient_id", "str"), ("sample_id", "str")]


@dataclass(frozen=True)
class RecordFiles:
    """Paths written by :func:`write_records`; ``omop`` maps table name -> path."""

    omop: dict[str, Path]
    hub_events: Path
    linkage: Path
    n_patients: int
    n_linked: int


def undotted(code: str) -> str:
    """HES style: 'E11.9' -> 'E119'."""
    return code.replace(".", "")


def patient_ids(spec: CohortSpec, n: int) -> np.ndarray:
    """``n`` distinct pseudonymous ids "P" + 10 hex digits (random, seeded, unrelated to sample ids)."""
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(_IDS,)))
    codes = rng.integers(0, 16**10, size=n, dtype=np.int64)
    while len(np.unique(codes)) < n:  # astronomically rare; redraw the later duplicates
        _, first = np.unique(codes, return_index=True)
        dup = np.setdiff1d(np.arange(n), first)
        codes[dup] = rng.integers(0, 16**10, size=len(dup), dtype=np.int64)
    return np.array([f"P{c:010x}" for c in codes.tolist()])


def write_records(spec: CohortSpec, samples: Samples, planted: PlantedTraits, out_dir, fmt: str = "csv",
                  unlinked_fraction: float = 0.02, traits: tuple[Trait, ...] = TRAITS,
                  chunk_people: int = CHUNK_PEOPLE) -> RecordFiles:
    """Write the records of every person in ``planted`` (layout in the module docstring).

    ``planted`` decides who exists (genotyped samples and people without genotypes, see
    :func:`hubscan.simulate.traits.plant_traits`) and their trait values and case status; it must
    come from ``samples`` and ``traits``. ``chunk_people`` is part of the model (keep the default
    for reproducible cohorts; tests lower it to exercise several chunks). About 3,500 people/s
    (CSV; 110,000 people: 31 s, 340 MB of files, memory bounded by the chunk).
    """
    if fmt not in ("csv", "parquet"):
        raise ConfigError(f"records format must be csv or parquet, got {fmt!r}")
    if not 0 <= unlinked_fraction < 1:
        raise ConfigError(f"unlinked fraction must be in [0, 1), got {unlinked_fraction}")
    if isinstance(chunk_people, bool) or not isinstance(chunk_people, (int, np.integer)) or chunk_people < 1:
        raise ConfigError(f"chunk_people must be a positive integer, got {chunk_people!r}")
    _check_planted(samples, planted, traits)
    out = Path(out_dir)
    (out / "omop").mkdir(parents=True, exist_ok=True)
    n = planted.n_people
    order = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(_ORDER,))).permutation(n)
    ids = patient_ids(spec, n)  # ids[k] belongs to the person written k-th
    paths = {name: out / "omop" / f"{name}.{fmt}" for name in OMOP_TABLES}
    files = RecordFiles(paths, out / "hub_events.csv", out / "linkage.csv", n, 0)
    progress = Progress("patients", total=n)
    with _AtomicWriters(paths, fmt, files.hub_events) as writers:
        counters = {"visit": 0, "condition": 0, "measurement": 0}
        for chunk, start in enumerate(range(0, n, chunk_people)):
            people = order[start: start + chunk_people]
            rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(_CHUNK, chunk)))
            _write_chunk(rng, planted, people, ids[start: start + chunk_people], start, counters, writers, traits)
            progress.advance(len(people))
    progress.finish()
    n_linked = _write_linkage(spec, samples, planted, order, ids, unlinked_fraction, files.linkage)
    write_phecode_map(out)
    log.info("records: %d patients (%d genotyped samples, %d linked)", n, samples.n, n_linked)
    return RecordFiles(paths, files.hub_events, files.linkage, n, n_linked)


def _check_planted(samples: Samples, planted: PlantedTraits, traits: tuple[Trait, ...]) -> None:
    """ConfigError unless ``planted`` was planted on ``samples`` with ``traits``."""
    genotyped = planted.sample_index[planted.sample_index >= 0]
    if len(genotyped) != samples.n or not np.array_equal(genotyped, np.arange(samples.n)):
        raise ConfigError(f"the planted traits cover {len(genotyped)} genotyped samples, the cohort has "
                          f"{samples.n}: plant the traits on these samples")
    if not np.array_equal(planted.sex[: samples.n], samples.sex):
        raise ConfigError("the planted traits belong to other samples (sexes differ): plant them on these samples")
    missing = [t.name for t in traits if t.name not in (planted.cases if t.kind == DISEASE else planted.values)]
    if missing:
        raise ConfigError(f"the planted traits lack {', '.join(missing)}: plant them with the same traits")


class _AtomicWriters:
    """The OMOP tables and the hub extract, each at a temporary path until every chunk is written."""

    def __init__(self, paths: dict[str, Path], fmt: str, hub_events: Path):
        self._contexts = {name: atomic_file(p) for name, p in paths.items()}
        self._contexts["hub_events"] = atomic_file(hub_events)
        self._fmt = fmt

    def __enter__(self) -> dict[str, TableWriter]:
        self.writers = {}
        for name, ctx in self._contexts.items():
            tmp = ctx.__enter__()
            if name == "hub_events":
                self.writers[name] = TableWriter(tmp, HUB_EVENTS, "csv")
            else:
                self.writers[name] = TableWriter(tmp, OMOP_TABLES[name], self._fmt)
        return self.writers

    def __exit__(self, *exc):
        for writer in self.writers.values():
            writer.close()
        for ctx in self._contexts.values():
            ctx.__exit__(*exc)
        return False


def _dates_within(rng, start, end, owner) -> np.ndarray:
    """A uniform day in [start, end] of each event's owner."""
    span = (end - start).astype(np.int64)[owner] + 1
    return start[owner] + (rng.random(len(owner)) * span).astype(np.int64).astype("timedelta64[D]")


def _write_chunk(rng, planted: PlantedTraits, people: np.ndarray, ids: np.ndarray, first_row: int,
                 counters: dict[str, int], writers: dict[str, TableWriter], traits) -> None:
    c = len(people)
    person_id = np.arange(first_row + 1, first_row + c + 1, dtype=np.int64)
    sex = planted.sex[people]
    birth_year = rng.integers(1940, 2006, size=c)
    birth = (birth_year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + rng.integers(0, 365, size=c)
    start = np.maximum(np.datetime64("2000-01-01") + rng.integers(0, 3650, size=c), birth)
    end = np.datetime64("2018-01-01") + rng.integers(0, 2557, size=c)
    writers["person"].write({
        "person_id": person_id, "gender_concept_id": np.vectorize(GENDER_CONCEPT.get)(sex),
        "year_of_birth": birth.astype("datetime64[Y]").astype(np.int64) + 1970,
        "month_of_birth": birth.astype("datetime64[M]").astype(np.int64) % 12 + 1,
        "day_of_birth": (birth - birth.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1,
        "birth_datetime": birth, "race_concept_id": np.zeros(c), "ethnicity_concept_id": np.zeros(c),
        "person_source_value": ids, "gender_source_value": np.where(sex == MALE, "M", "F"),
        "gender_source_concept_id": np.zeros(c), "race_source_concept_id": np.zeros(c),
        "ethnicity_source_concept_id": np.zeros(c)})
    writers["observation_period"].write({
        "observation_period_id": person_id, "person_id": person_id, "observation_period_start_date": start,
        "observation_period_end_date": end, "period_type_concept_id": np.full(c, EHR_TYPE)})

    # Diagnoses: disease codes for cases, background codes for everyone.
    owner, codes = [], []
    for trait in traits:
        if trait.kind != DISEASE:
            continue
        is_case = planted.cases[trait.name][people]
        days = np.where(rng.random(c) < 0.15, 1, 2 + rng.poisson(1.5, size=c)) * is_case
        owner.append(np.repeat(np.arange(c), days))
        codes.append(np.asarray(trait.icd10)[rng.integers(0, len(trait.icd10), size=int(days.sum()))])
    background = rng.poisson(4.0, size=c)
    owner.append(np.repeat(np.arange(c), background))
    codes.append(np.asarray(BACKGROUND_ICD10)[rng.integers(0, len(BACKGROUND_ICD10), size=int(background.sum()))])
    cond_owner, cond_code = np.concatenate(owner), np.concatenate(codes)
    cond_date = _dates_within(rng, start, end, cond_owner)

    # Measurements: each quantitative trait Poisson(2) times around the person's value.
    owner, loinc, value, unit = [], [], [], []
    for trait in traits:
        if trait.kind != QUANTITATIVE:
            continue
        times = rng.poisson(2.0, size=c)
        who = np.repeat(np.arange(c), times)
        v = planted.values[trait.name][people][who] + rng.normal(0.0, 0.25 * trait.sd, size=len(who))
        v = np.maximum(v, trait.minimum)  # the assay's lower reporting limit (no negative LDL)
        u = np.full(len(who), trait.unit, dtype=object)
        digits = np.full(len(who), trait.digits)
        if trait.name == "ldl":
            in_mg = rng.random(len(who)) < 0.15
            v = np.where(in_mg, v * LDL_MG_PER_DL, v)
            u[in_mg] = "mg/dL"
            digits[in_mg] = 0
        slip = rng.random(len(who)) < 0.002
        v = np.where(slip, v * 100, v)
        for d in np.unique(digits):
            v[digits == d] = np.round(v[digits == d], int(d))
        owner.append(who)
        loinc.append(np.full(len(who), trait.loinc, dtype=object))
        value.append(v)
        unit.append(u)
    meas_owner = np.concatenate(owner)
    meas_loinc, meas_value, meas_unit = np.concatenate(loinc), np.concatenate(value), np.concatenate(unit)
    meas_date = _dates_within(rng, start, end, meas_owner)

    # Sort events by person, day, then code; one visit per distinct (person, day).
    o = np.lexsort((cond_code, cond_date, cond_owner))
    cond_owner, cond_code, cond_date = cond_owner[o], cond_code[o], cond_date[o]
    o = np.lexsort((meas_loinc.astype(str), meas_date, meas_owner))
    meas_owner, meas_loinc, meas_value, meas_unit, meas_date = (
        meas_owner[o], meas_loinc[o], meas_value[o], meas_unit[o], meas_date[o])
    day = lambda owner, date: owner.astype(np.int64) * 100_000 + (date - np.datetime64("1900-01-01")).astype(np.int64)  # noqa: E731
    visit_keys = np.unique(np.concatenate([day(cond_owner, cond_date), day(meas_owner, meas_date)]))
    visit_id = counters["visit"] + 1 + np.arange(len(visit_keys), dtype=np.int64)
    counters["visit"] += len(visit_keys)
    visit_owner = visit_keys // 100_000
    visit_date = np.datetime64("1900-01-01") + (visit_keys % 100_000).astype("timedelta64[D]")
    visit_concept = np.where(rng.random(len(visit_keys)) < 0.2, INPATIENT, OUTPATIENT)
    writers["visit_occurrence"].write({
        "visit_occurrence_id": visit_id, "person_id": person_id[visit_owner], "visit_concept_id": visit_concept,
        "visit_start_date": visit_date, "visit_start_datetime": visit_date, "visit_end_date": visit_date,
        "visit_end_datetime": visit_date, "visit_type_concept_id": np.full(len(visit_id), EHR_TYPE),
        "visit_source_concept_id": np.zeros(len(visit_id)), "admitted_from_concept_id": np.zeros(len(visit_id)),
        "discharged_to_concept_id": np.zeros(len(visit_id))})
    cond_visit = visit_id[np.searchsorted(visit_keys, day(cond_owner, cond_date))]
    meas_visit = visit_id[np.searchsorted(visit_keys, day(meas_owner, meas_date))]

    k = len(cond_owner)
    cond_id = counters["condition"] + 1 + np.arange(k, dtype=np.int64)
    counters["condition"] += k
    writers["condition_occurrence"].write({
        "condition_occurrence_id": cond_id, "person_id": person_id[cond_owner], "condition_concept_id": np.zeros(k),
        "condition_start_date": cond_date, "condition_start_datetime": cond_date,
        "condition_type_concept_id": np.full(k, EHR_TYPE), "condition_status_concept_id": np.zeros(k),
        "visit_occurrence_id": cond_visit, "condition_source_value": cond_code,
        "condition_source_concept_id": np.zeros(k)})
    m = len(meas_owner)
    meas_id = counters["measurement"] + 1 + np.arange(m, dtype=np.int64)
    counters["measurement"] += m
    writers["measurement"].write({
        "measurement_id": meas_id, "person_id": person_id[meas_owner], "measurement_concept_id": np.zeros(m),
        "measurement_date": meas_date, "measurement_datetime": meas_date,
        "measurement_type_concept_id": np.full(m, EHR_TYPE), "operator_concept_id": np.zeros(m),
        "value_as_number": meas_value, "value_as_concept_id": np.zeros(m), "unit_concept_id": np.zeros(m),
        "visit_occurrence_id": meas_visit, "measurement_source_value": meas_loinc.astype(str),
        "measurement_source_concept_id": np.zeros(m), "unit_source_value": meas_unit.astype(str),
        "value_source_value": np.array([repr(v) for v in meas_value.tolist()])})

    # The hub extract: diagnoses (ICD-10 undotted) and measurements, by patient then day.
    ev_owner = np.concatenate([cond_owner, meas_owner])
    ev_date = np.concatenate([cond_date, meas_date])
    ev_vocab = np.array(["ICD10"] * k + ["LOINC"] * m)
    ev_code = np.concatenate([np.array([undotted(x) for x in cond_code.tolist()], dtype=object), meas_loinc])
    ev_value = np.concatenate([np.full(k, np.nan), meas_value])
    ev_unit = np.concatenate([np.full(k, "", dtype=object), meas_unit])
    o = np.lexsort((ev_code.astype(str), ev_vocab, ev_date, ev_owner))
    writers["hub_events"].write({
        "patient_id": ids[ev_owner[o]], "date": ev_date[o], "vocabulary": ev_vocab[o],
        "code": ev_code[o].astype(str), "value": ev_value[o], "unit": ev_unit[o].astype(str)})


def _write_linkage(spec: CohortSpec, samples: Samples, planted: PlantedTraits, order: np.ndarray,
                   ids: np.ndarray, unlinked_fraction: float, path: Path) -> int:
    """linkage.csv in patient write order; returns the number of linked samples."""
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(_LINKAGE,)))
    unlinked = np.zeros(samples.n, dtype=bool)
    unlinked[rng.choice(samples.n, size=int(round(unlinked_fraction * samples.n)), replace=False)] = True
    sample_of = planted.sample_index[order]
    keep = sample_of >= 0
    keep[keep] = ~unlinked[sample_of[keep]]
    with atomic_file(path) as tmp:
        with TableWriter(tmp, LINKAGE, "csv") as writer:
            writer.write({"patient_id": ids[keep], "sample_id": samples.ids[sample_of[keep]]})
    return int(keep.sum())


def write_phecode_map(out: Path) -> tuple[Path, Path]:
    """Write ``phecode_map.csv`` and ``phecode_info.csv`` (:data:`SIMULATED_PHECODES`) into ``out``;
    each phecode excludes its own integer family from controls, as phecode 1.2 ranges do."""
    out = Path(out)
    rows = ["ICD10,PHECODE,Excl. Phecodes,Excl. Phenotypes"]
    info = ["phecode,phecode_string,category,sex"]
    for phecode, name, category, sex, codes in SIMULATED_PHECODES:
        family = phecode.split(".")[0]
        rows += [f'{code},{phecode},{family}-{family}.99,"{name}"' for code in codes]
        info.append(f'{phecode},"{name}",{category},{sex}')
    paths = out / "phecode_map.csv", out / "phecode_info.csv"
    for path, lines in zip(paths, (rows, info)):
        with atomic_file(path) as tmp:
            tmp.write_text("\n".join(lines) + "\n")
    return paths
