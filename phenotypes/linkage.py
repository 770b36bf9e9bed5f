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
