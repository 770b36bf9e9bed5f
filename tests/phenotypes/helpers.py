"""Test inputs written here (small hub extracts, persons, linkage) and a plain-pandas reference
for phecode status, written independently of phenotypes/ (no import from it)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

PHECODE12 = "phecodes/phecode_map_v1_2_icd10_beta.csv"
PHECODEX = "phecodes/phecodeX_R_map_ICD_10_WHO.csv"


# ---------------------------------------------------------------- inputs
def write_csv(path: Path, header: list[str], rows) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def hub_cohort(folder: Path, map12: Path, n_patients: int = 300, seed: int = 7) -> dict:
    """A hub extract whose ICD-10 codes come from the phecode 1.2 map, written dotted, undotted,
    HES-style (``I10X``) and lower case at random, plus unmapped codes, same-day repeats, LOINC
    measurements, a persons file (some sex unknown), linkage with unlinked samples, patients
    without samples and an exact duplicate row."""
    rng = np.random.default_rng(seed)
    m = pd.read_csv(map12, dtype=str, keep_default_na=False)
    codes = sorted({c for c in m["ICD10"] if "-" not in c})
    # favour a few codes so that many phecodes have cases, controls and exclusions
    common = ["E11.9", "E10.9", "I10", "J45.9", "C61", "N81.2", "K21.9", "F32.9", "I21.0", "E78.0", "N40",
              "O80", "J06.9", "M54.5", "I25.1"]
    common = [c for c in common if c in set(codes)]
    unmapped = ["U99.9", "Z99.99", "B99.9X"]
    patients = [f"P{i:05d}" for i in range(n_patients)]
    rows = []
    for pid in patients:
        n_days = rng.poisson(8)
        days = pd.Timestamp("2001-01-01") + pd.to_timedelta(rng.integers(0, 7000, size=n_days), unit="D")
        for day in days:
            for _ in range(1 + rng.poisson(0.5)):
                code = rng.choice(common) if rng.random() < 0.6 else rng.choice(codes)
                if rng.random() < 0.02:
                    code = rng.choice(unmapped)
                style = rng.integers(0, 4)
                text = {0: code, 1: code.replace(".", ""), 2: code.lower(),
                        3: code.replace(".", "") + ("X" if len(code) == 3 else "")}[int(style)]
                rows.append((pid, day.strftime("%Y-%m-%d"), rng.choice(["ICD10", "icd-10"]), text, "", ""))
                if rng.random() < 0.2:  # the same code again the same day: one distinct day
                    rows.append((pid, day.strftime("%Y-%m-%d"), "ICD10", code, "", ""))
        if rng.random() < 0.5:
            rows.append((pid, "2010-05-05", "LOINC", "13457-7", f"{rng.normal(3, 1):.2f}", "mmol/L"))
    order = rng.permutation(len(rows))
    events = write_csv(folder / "hub_events.csv", ["patient_id", "date", "vocabulary", "code", "value", "unit"],
                       [rows[i] for i in order])
    sex = rng.choice(["M", "F", "male", "female", ""], size=n_patients, p=[0.35, 0.35, 0.1, 0.1, 0.1])
    birth = pd.Timestamp("1930-01-01") + pd.to_timedelta(rng.integers(0, 20000, size=n_patients), unit="D")
    persons = write_csv(folder / "persons.csv", ["patient_id", "sex", "birth_date"],
                        [(p, s, b.strftime("%Y-%m-%d")) for p, s, b in zip(patients, sex, birth)])
    # birth dates before 1985 keep all events (2001+) after birth for most; events before birth are
    # excluded and counted by the engine: the reference drops them too.
    sample_ids = [f"S{i:05d}" for i in range(n_patients + 20)]  # 20 genotyped samples never linked
    linked = rng.permutation(n_patients)[: n_patients - 25]     # 25 patients without a sample
    link_rows = [(patients[p], sample_ids[i]) for i, p in enumerate(linked)]
    link_rows.append(link_rows[3])                               # exact duplicate row
    linkage = write_csv(folder / "linkage.csv", ["patient_id", "sample_id"], link_rows)
    return {"events": events, "persons": persons, "linkage": linkage, "sample_ids": sample_ids}


def phecode_info(path: Path, male: list[str], female: list[str]) -> Path:
    rows = [(p, "Male") for p in male] + [(p, "Female") for p in female]
    return write_csv(path, ["phecode", "sex"], rows)


# ---------------------------------------------------------------- reference
def ref_code(code: str) -> str:
    c = code.strip().upper().replace(".", "")
    if len(c) == 4 and c.endswith("X"):
        c = c[:3]
    return c


def ref_map(map_path: Path, kind: str) -> tuple[dict[str, set[str]], list[str], dict[str, list[tuple[float, float]]]]:
    """(code -> rolled-up phecodes, phecodes, exclusion ranges) read straight from the file."""
    m = pd.read_csv(map_path, dtype=str, keep_default_na=False)
    if kind == "1.2":
        code_col, phe_col = "ICD10", "PHECODE"
    else:
        code_col, phe_col = "code", "phecode"
    m = m[~m[code_col].str.contains("-")]
    phecodes = set(m[phe_col])
    code_to = {}
    for code, phe in zip(m[code_col], m[phe_col]):
        targets = code_to.setdefault(ref_code(code), set())
        targets.add(phe)
        head, _, decimals = phe.partition(".")
        for cut in range(len(decimals) - 1, -1, -1):
            parent = head + ("." + decimals[:cut] if cut else "")
            if parent in phecodes:
                targets.add(parent)
    ranges = {}
    if kind == "1.2":
        for phe, text in zip(m[phe_col], m["Excl. Phecodes"]):
            if text.strip():
                ranges[phe] = [tuple(float(x) for x in (part.split("-") if "-" in part else [part, part]))
                               for part in (s.strip() for s in text.split(","))]
    return code_to, sorted(phecodes), ranges


def reference_status(events: pd.DataFrame, persons: pd.DataFrame, linkage: pd.DataFrame, sample_ids,
                     map_path: Path, kind: str, k: int, sex_only: dict[str, str]) -> pd.DataFrame:
    """Status (1 case, 0 control, NaN) of every (sample, phecode), by loops over plain sets."""
    code_to, phecodes, ranges = ref_map(map_path, kind)
    ev = events[events["vocabulary"].str.upper().isin(["ICD10", "ICD-10"])].copy()
    ev["norm"] = ev["code"].map(ref_code)
    birth = dict(zip(persons["patient_id"], pd.to_datetime(persons["birth_date"])))
    ev = ev[pd.to_datetime(ev["date"]) >= ev["patient_id"].map(birth)]
    days: dict[str, dict[str, set]] = {}
    for pid, date, code in zip(ev["patient_id"], ev["date"], ev["norm"]):
        for phe in code_to.get(code, ()):
            days.setdefault(pid, {}).setdefault(phe, set()).add(date)
    sex_of = {p: {"M": "M", "MALE": "M", "F": "F", "FEMALE": "F"}.get(str(s).upper()) for p, s in
              zip(persons["patient_id"], persons["sex"].fillna(""))}
    lk = linkage.drop_duplicates()
    patient_of = dict(zip(lk["sample_id"], lk["patient_id"]))
    out = np.full((len(sample_ids), len(phecodes)), np.nan)
    for i, s in enumerate(sample_ids):
        pid = patient_of.get(s)
        if pid is None or pid not in birth:
            continue
        mine = days.get(pid, {})
        mine_values = [float(q) for q in mine] if kind == "1.2" else []
        for j, phe in enumerate(phecodes):
            need = sex_only.get(phe)
            if need is not None and sex_of.get(pid) != need:
                continue
            n_days = len(mine.get(phe, ()))
            if n_days >= k:
                out[i, j] = 1.0
            elif n_days > 0:
                continue
            elif any(lo <= q <= hi for lo, hi in ranges.get(phe, []) for q in mine_values):
                continue
            else:
                out[i, j] = 0.0
    return pd.DataFrame(out, index=list(sample_ids), columns=phecodes)
