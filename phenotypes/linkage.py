"""Patient ids to genotype sample ids through a linkage table (``patient_id,sample_id``).

Nothing is dropped silently; :attr:`Linkage.report` counts every case:

* ``rows``: data rows in the table; ``exact_duplicates``: repeated identical rows (collapsed);
* ``conflicting_patients``/``conflicting_samples``: a patient linked to several samples or a sample
  to several patients. ``duplicates="exclude"`` (default) removes every row of such ids (the
  samples stay in the output as missing); ``duplicates="error"`` raises naming the line;
* ``samples_unlinked``: genotype samples without a patient (all traits missing);
* ``linked_samples_not_genotyped``: linkage rows whose sample is not among the genotype samples;
* ``linked_patients_without_records``: linked patients the records do not know (traits missing).

Blank ids are an error naming the line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hubscan.errors import ConfigError, InputError
from hubscan.files import require_file

log = logging.getLogger(__name__)


@dataclass
class Linkage:
    """``patient_of_sample[i]``: the patient id of genotype sample i, or None."""

    sample_ids: np.ndarray
    patient_of_sample: np.ndarray
    report: dict = field(default_factory=dict)

    @property
    def linked(self) -> np.ndarray:
        return np.array([p is not None for p in self.patient_of_sample], dtype=bool)

    def patient_rows(self) -> pd.DataFrame:
        """(patient_id, row): the output row of every linked patient."""
        rows = np.flatnonzero(self.linked)
        return pd.DataFrame({"patient_id": self.patient_of_sample[rows].astype(str), "row": rows.astype(np.int32)})


def read_linkage_table(path: str | Path) -> pd.DataFrame:
    """The linkage file (CSV or TSV, header with ``patient_id`` and ``sample_id``) as strings,
    with each row's line number in ``line``."""
    path = require_file(path, "linkage table")
    with open(path, encoding="utf-8-sig") as fh:
        header = fh.readline()
    sep = "\t" if "\t" in header else ","
    t = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    cols = {c.strip().lower(): c for c in t.columns}
    missing = [c for c in ("patient_id", "sample_id") if c not in cols]
    if missing:
        raise InputError(f"{path}: the linkage table needs columns patient_id and sample_id (header: "
                         f"{', '.join(t.columns)})")
    out = pd.DataFrame({"patient_id": t[cols["patient_id"]].str.strip(), "sample_id": t[cols["sample_id"]].str.strip()})
    out["line"] = np.arange(2, len(out) + 2)
    blank = (out["patient_id"] == "") | (out["sample_id"] == "")
    if blank.any():
        raise InputError(f"{path}: line {int(out.loc[blank, 'line'].iloc[0])}: blank patient_id or sample_id")
    return out


def link_samples(table: pd.DataFrame, sample_ids, duplicates: str = "exclude", source: str = "linkage table",
                 known_patients=None) -> Linkage:
    """Resolve the linkage for the genotype samples ``sample_ids`` (output order)."""
    if duplicates not in ("exclude", "error"):
        raise ConfigError(f"duplicates must be 'exclude' or 'error', not {duplicates!r}")
    sample_ids = np.asarray(sample_ids, dtype=object)
    if pd.Series(sample_ids).duplicated().any():
        raise InputError("genotype sample ids are not unique")
    report = {"rows": int(len(table))}
    exact = table.duplicated(["patient_id", "sample_id"])
    report["exact_duplicates"] = int(exact.sum())
    t = table[~exact]
    multi_p = t["patient_id"].duplicated(keep=False)
    multi_s = t["sample_id"].duplicated(keep=False)
    report["conflicting_patients"] = int(t.loc[multi_p, "patient_id"].nunique())
    report["conflicting_samples"] = int(t.loc[multi_s, "sample_id"].nunique())
    conflict = multi_p | multi_s
    if conflict.any():
        if duplicates == "error":
            first = t[conflict].iloc[0]
            what = "patient linked to several samples" if multi_p[conflict].iloc[0] else "sample linked to several patients"
            raise InputError(f"{source}: line {int(first['line'])}: {what}; fix the table or pass "
                             "--linkage-duplicates exclude to leave those samples out (counted)")
        report["conflicting_rows_excluded"] = int(conflict.sum())
        log.warning("linkage: %d rows of %d conflicting ids excluded", int(conflict.sum()),
                    report["conflicting_patients"] + report["conflicting_samples"])
    else:
        report["conflicting_rows_excluded"] = 0
    t = t[~conflict]
    patient_of = dict(zip(t["sample_id"], t["patient_id"]))
    genotyped = set(sample_ids.tolist())
    report["linked_samples_not_genotyped"] = int((~t["sample_id"].isin(genotyped)).sum())
    patient_of_sample = np.array([patient_of.get(s) for s in sample_ids.tolist()], dtype=object)
    if known_patients is not None:
        known = set(known_patients)
        unknown = np.array([p is not None and p not in known for p in patient_of_sample], dtype=bool)
        report["linked_patients_without_records"] = int(unknown.sum())
        patient_of_sample[unknown] = None
    linked = np.array([p is not None for p in patient_of_sample], dtype=bool)
    report["samples"] = int(len(sample_ids))
    report["samples_linked"] = int(linked.sum())
    report["samples_unlinked"] = int((~linked).sum())
    if report["samples_unlinked"]:
        log.info("linkage: %d of %d genotype samples have no linked patient with records (all traits missing)",
                 report["samples_unlinked"], len(sample_ids))
    return Linkage(sample_ids, patient_of_sample, report)


def genotype_sample_ids(samples: str | Path | None = None, store: str | Path | None = None):
    """Genotype sample ids from a list file (one id per line, or the IID column of a .psam/.fam-like
    file with a header) or from a genotype store (``GenotypeStore(path).sample_ids``)."""
    if (samples is None) == (store is None):
        raise ConfigError("give exactly one of a sample list file or a genotype store")
    if store is not None:
        from gwas.store.reader import GenotypeStore

        return np.asarray(GenotypeStore(store).sample_ids, dtype=object)
    path = require_file(samples, "sample list")
    lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    if not lines:
        raise InputError(f"{path}: no sample ids")
    head = lines[0].lstrip("#").split()
    if len(head) > 1 or head[0].upper() in ("IID", "SAMPLE_ID", "ID"):
        names = [h.upper() for h in head]
        col = names.index("IID") if "IID" in names else (names.index("SAMPLE_ID") if "SAMPLE_ID" in names else 0)
        ids = [ln.split()[col] for ln in lines[1:]]
    else:
        ids = lines
    return np.asarray(ids, dtype=object)


def sample_table(linkage: Linkage, persons: pd.DataFrame) -> pd.DataFrame:
    """One row per genotype sample (output order): ``sample_id``, ``patient_id`` and the person
    fields of :class:`~phenotypes.sources.records.Records` (NaT/None when unlinked), plus
    ``in_records`` and ``sex_code`` (0 unknown, 1 male, 2 female)."""
    base = pd.DataFrame({"sample_id": linkage.sample_ids.astype(str),
                         "patient_id": pd.Series(linkage.patient_of_sample, dtype=object)})
    table = base.merge(persons, on="patient_id", how="left", sort=False, validate="many_to_one")
    table["in_records"] = base["patient_id"].notna().to_numpy() & table["patient_id"].isin(persons["patient_id"]).to_numpy()
    table["sex_code"] = table["sex"].map({"M": 1, "F": 2}).fillna(0).astype(np.int8)
    return table


def _read_columns(path: Path, wanted: tuple[str, ...], opener=None) -> dict[str, set]:
    """The ``wanted`` columns (names case-insensitive) of a CSV/TSV(.gz) or Parquet table, as sets of
    stripped strings; absent columns are left out. ``opener`` opens a zip member instead of ``path``."""
    import pyarrow.parquet as pq

    name = path.name.lower()
    if path.is_dir() or name.endswith((".parquet", ".pq")):
        schema = pq.read_schema(path if path.is_file() else next(path.glob("*.parquet")))
        cols = [c for c in schema.names if c.lower() in wanted]
        t = pq.read_table(path, columns=cols).to_pandas()
    else:
        fh = opener() if opener else open(path, "rb")
        with fh:
            import io

            head = fh.readline()
            sep = "\t" if b"\t" in head else ","
            t = pd.read_csv(io.BytesIO(head + fh.read()), sep=sep, dtype=str, keep_default_na=False,
                            usecols=lambda c: c.strip().lower() in wanted,
                            compression="gzip" if name.endswith(".gz") else None)
    return {c.strip().lower(): set(t[c].astype(str).str.strip()) - {""} for c in t.columns}


def omop_person_ids(omop: str | Path) -> tuple[Path, dict[str, set]]:
    """(person table, {"person_id": ids, "person_source_value": ids}) of an OMOP folder or zip,
    read without Spark (two columns)."""
    import zipfile

    from phenotypes.sources.omop import PATIENT_ID_COLUMNS
    from phenotypes.sources.tables import find_table

    omop = Path(omop)
    if not omop.exists():
        raise InputError(f"records input {omop} does not exist")
    if omop.is_file() and zipfile.is_zipfile(omop):
        with zipfile.ZipFile(omop) as zf:
            members = [m for m in zf.namelist() if "__MACOSX" not in m and Path(m).name.lower().split(".")[0] == "person"]
            if not members:
                raise InputError(f"{omop}: no OMOP person table (person.csv / PERSON.csv / person.parquet) found")
            name = Path(members[0]).name
            if name.lower().endswith((".parquet", ".pq")):
                return omop, {}  # read with the records
            return omop / members[0], _read_columns(Path(name), PATIENT_ID_COLUMNS, lambda: zf.open(members[0]))
    person = find_table(omop, "person") if omop.is_dir() else None
    if person is None:
        raise InputError(f"{omop}: no OMOP person table (person.csv / PERSON.csv / person.parquet) found")
    return person, _read_columns(person, PATIENT_ID_COLUMNS)


def choose_omop_patient_id(table: pd.DataFrame, omop: str | Path, source: str = "linkage table") -> str:
    """The OMOP person column the linkage table's ``patient_id`` refers to: ``person_id`` or
    ``person_source_value`` (hub pseudonyms, as hubscan's simulated cohort), whichever more
    linkage rows match; an error naming both files when neither matches any."""
    person, ids = omop_person_ids(omop)
    if not ids:
        return "person_id"
    if "person_id" not in ids:
        raise InputError(f"{person}: the OMOP person table has no person_id column")
    patients = set(table["patient_id"])
    hits = {col: len(patients & values) for col, values in ids.items()}
    if max(hits.values()) == 0:
        raise InputError(f"{source}: no patient_id matches a person_id or person_source_value of {person} "
                         "(is it the linkage table of these records?)")
    chosen = "person_source_value" if hits.get("person_source_value", 0) > hits["person_id"] else "person_id"
    log.info("linkage: patient_id is the OMOP %s (%d of %d linkage patients match it)", chosen, hits[chosen],
             len(patients))
    return chosen
