"""Phecode maps from the files users have, in their public layouts (nothing is bundled).

Layouts recognised from the header (column names case-insensitive):

==============================  =========================================================  ======
layout                          columns                                                    codes
==============================  =========================================================  ======
phewascatalog 1.2, ICD-10 beta  ``ICD10, PHECODE, Excl. Phecodes[, Excl. Phenotypes]``     WHO ICD-10
phewascatalog 1.2, ICD-9        ``ICD9, PheCode, Excl. Phecodes[, Phenotype, ...]``        ICD-9-CM
phewascatalog 1.2, ICD-10-CM    ``icd10cm, phecode[, exclude_range, phecode_str, ...]``    ICD-10-CM
PhecodeX R map                  ``phecode, code, vocabulary_id``                            per row
PheTK                           ``phecode, ICD, flag[, phecode_unrolled, exclude_range,    flag 9/10
                                sex, phecode_string]``
==============================  =========================================================  ======

Conventions:

* Codes are normalised (:func:`phenotypes.vocab.codes.normalise_code`) and keyed by ICD family
  (ICD-10 and ICD-10-CM share family ``ICD10``, ICD-9-CM is ``ICD9``), as PheTK's ``flag``.
* **Roll-up**: a code mapped to a phecode also counts for every ancestor phecode that exists in the
  map, ancestors being the phecode truncated one decimal at a time (``250.21`` -> ``250.2`` ->
  ``250``; ``EM_202.21`` -> ``EM_202.2`` -> ``EM_202``) as PheWAS's ``phecode_rollup_map`` and
  PheTK's ``phecode_unrolled``. PhecodeX maps list the ancestors already (roll-up changes nothing).
* **Exclusion ranges** (phecode 1.2 only; phecodeX dropped them): ``"748-749.99"`` or
  ``"224-225.99, 190-192.99"`` are closed numeric intervals of phecodes; a single number is that
  phecode alone. A control for phecode *p* with any phecode in *p*'s ranges becomes missing.
* **Sex**: a ``sex`` column in the map (PheTK) or in a phecode information file
  (:func:`load_phecode_info`: ``phecode_definitions1.2.csv``, ``phecodeX_info.csv``) restricts a
  phecode to ``Male`` or ``Female`` (``Both`` = no restriction).
* Rows whose code is an ICD-10 block range (``C51-C58.9``, 201 rows of the 1.2 ICD-10 beta map)
  never match an event code in PheWAS or PheTK; they are skipped here too and counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hubscan.errors import InputError
from hubscan.files import require_file
from phenotypes.vocab.codes import ICD9_FAMILY, ICD10_FAMILY, ICD_FAMILY, normalise_code

_X_PATTERN = re.compile(r"^[A-Z]{2}_[0-9]")
SEX_VALUES = {"male": "M", "m": "M", "male only": "M", "female": "F", "f": "F", "female only": "F",
              "both": None, "": None, "b": None, "nan": None}


@dataclass
class PhecodeMap:
    """A loaded map. ``pairs``: (family, code, phecode) after roll-up, unique, sorted."""

    version: str
    pairs: pd.DataFrame
    phecodes: list[str]
    names: dict[str, str] = field(default_factory=dict)
    exclusions: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    sex: dict[str, str] = field(default_factory=dict)
    source: str = ""
    layout: str = ""
    skipped_range_rows: int = 0

    @property
    def trait_prefix(self) -> str:
        return "phecodeX_" if self.version == "X" else "phecode_"

    def trait_names(self) -> list[str]:
        return [self.trait_prefix + p for p in self.phecodes]

    def exclusion_matrix(self):
        """Sparse (phecodes x phecodes) bool: ``E[q, p]`` when q lies in p's exclusion ranges."""
        from scipy import sparse

        n = len(self.phecodes)
        if not self.exclusions:
            return sparse.csr_matrix((n, n), dtype=bool)
        values = np.array([float(p) for p in self.phecodes])
        order = np.argsort(values, kind="stable")
        sorted_values = values[order]
        rows, cols = [], []
        index = {p: i for i, p in enumerate(self.phecodes)}
        for p, ranges in self.exclusions.items():
            j = index.get(p)
            if j is None:
                continue
            for lo, hi in ranges:
                a, b = np.searchsorted(sorted_values, lo - 1e-9, "left"), np.searchsorted(sorted_values, hi + 1e-9, "right")
                q = order[a:b]
                rows.extend(q.tolist())
                cols.extend([j] * len(q))
        data = np.ones(len(rows), dtype=bool)
        return sparse.csr_matrix((data, (rows, cols)), shape=(n, n), dtype=bool)

    def sex_restriction(self) -> np.ndarray:
        """int8 per phecode: 0 both sexes, 1 male only, 2 female only."""
        code = {"M": 1, "F": 2}
        return np.array([code.get(self.sex.get(p), 0) for p in self.phecodes], dtype=np.int8)


def phecode_sort_key(p: str):
    m = re.match(r"^([A-Z]{2})_(.*)$", p)
    prefix, number = (m.group(1), m.group(2)) if m else ("", p)
    try:
        return (prefix, float(number), p)
    except ValueError:
        return (prefix, float("inf"), p)


def parse_exclusion_ranges(text: str, where: str) -> list[tuple[float, float]]:
    """``"224-225.99, 190-192.99"`` -> [(224, 225.99), (190, 192.99)]; blank -> []."""
    out = []
    for part in str(text or "").split(","):
        part = part.strip()
        if not part or part.lower() == "nan":
            continue
        lo, sep, hi = part.partition("-")
        try:
            out.append((float(lo), float(hi if sep else lo)))
        except ValueError:
            raise InputError(f"{where}: exclusion range {part!r} is not 'low-high' phecodes") from None
    return out


def _ancestors(phecode: str, known: set[str]) -> list[str]:
    out, p = [], phecode
    while "." in p:
        p = p[:-1].rstrip(".")
        if p in known:
            out.append(p)
    return out


def _read_csv(path: Path) -> pd.DataFrame:
    with open(path, encoding="utf-8-sig") as fh:
        header = fh.readline()
    sep = "\t" if "\t" in header else ","
    try:
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as CSV/TSV ({exc})") from None


def _col(frame: pd.DataFrame, *names: str) -> str | None:
    lower = {c.strip().lower(): c for c in frame.columns}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def load_phecode_map(path: str | Path, rollup: bool = True) -> PhecodeMap:
    """Load a phecode map file in any layout of the module docstring."""
    path = require_file(path, "phecode map")
    t = _read_csv(path)
    c = lambda *n: _col(t, *n)  # noqa: E731
    excl_col = sex_col = name_col = None
    if c("phecode", "pheCode".lower()) and c("code") and c("vocabulary_id"):
        layout = "PhecodeX R map"
        fam = t[c("vocabulary_id")].str.strip().str.upper().map(lambda v: ICD_FAMILY.get(v.replace("-", "")))
        vocab = t[c("vocabulary_id")].str.strip().str.upper().str.replace("-", "")
        codes, phe = t[c("code")], t[c("phecode")]
    elif c("phecode") and c("icd") and c("flag"):
        layout = "PheTK"
        flag = t[c("flag")].str.strip()
        fam = flag.map({"9": ICD9_FAMILY, "10": ICD10_FAMILY})
        vocab = flag.map({"9": "ICD9CM", "10": "ICD10CM"})
        codes = t[c("icd")]
        phe = t[c("phecode_unrolled")] if c("phecode_unrolled") else t[c("phecode")]
        excl_col, sex_col, name_col = c("exclude_range"), c("sex"), c("phecode_string", "phecode_str")
    elif c("icd10") and c("phecode"):
        layout = "phewascatalog 1.2 ICD-10"
        fam, vocab = pd.Series(ICD10_FAMILY, index=t.index), pd.Series("ICD10", index=t.index)
        codes, phe = t[c("icd10")], t[c("phecode")]
        excl_col = c("excl. phecodes", "exclude_range")
    elif c("icd9") and c("phecode"):
        layout = "phewascatalog 1.2 ICD-9"
        fam, vocab = pd.Series(ICD9_FAMILY, index=t.index), pd.Series("ICD9CM", index=t.index)
        codes, phe = t[c("icd9")], t[c("phecode")]
        excl_col, name_col = c("excl. phecodes", "exclude_range"), c("phenotype")
    elif c("icd10cm") and c("phecode"):
        layout = "phewascatalog 1.2 ICD-10-CM"
        fam, vocab = pd.Series(ICD10_FAMILY, index=t.index), pd.Series("ICD10CM", index=t.index)
        codes, phe = t[c("icd10cm")], t[c("phecode")]
        excl_col, name_col = c("exclude_range", "excl. phecodes"), c("phecode_str")
    else:
        raise InputError(f"{path}: not a phecode map layout hubscan knows (header: {', '.join(t.columns)}); expected "
                         "phewascatalog (ICD10/ICD9/icd10cm + PHECODE), PhecodeX (phecode, code, vocabulary_id) "
                         "or PheTK (phecode, ICD, flag)")
    bad_family = fam.isna() & (codes.str.strip() != "")
    if bad_family.any():
        i = int(np.flatnonzero(bad_family.to_numpy())[0])
        raise InputError(f"{path}: line {i + 2}: vocabulary/flag is not ICD-9-CM or ICD-10(-CM)")
    codes = codes.str.strip()
    phe = phe.str.strip()
    is_range = codes.str.contains("-", regex=False)
    keep = ~is_range & (codes != "") & (phe != "")
    norm = [normalise_code(v, x) for v, x in zip(vocab[keep], codes[keep])]
    pairs = pd.DataFrame({"family": fam[keep].to_numpy(), "code": norm, "phecode": phe[keep].to_numpy()})
    if pairs.empty:
        raise InputError(f"{path}: no code -> phecode rows")
    version = "X" if pairs["phecode"].str.match(_X_PATTERN).any() else "1.2"
    known = set(pairs["phecode"])
    if rollup:
        extra = [(f, cd, a) for f, cd, p in pairs.itertuples(index=False) for a in _ancestors(p, known)]
        if extra:
            pairs = pd.concat([pairs, pd.DataFrame(extra, columns=pairs.columns)], ignore_index=True)
    pairs = pairs.drop_duplicates().sort_values(["family", "code", "phecode"], kind="stable").reset_index(drop=True)
    phecodes = sorted(known, key=phecode_sort_key)
    exclusions, sex, names = {}, {}, {}
    if excl_col is not None and version == "1.2":
        for i, (p, text) in enumerate(zip(t[c("phecode")].str.strip(), t[excl_col])):
            if p and text and p not in exclusions:
                exclusions[p] = parse_exclusion_ranges(text, f"{path}: line {i + 2}")
    if sex_col is not None:
        sex = _sex_of(t[c("phecode")].str.strip(), t[sex_col], path)
    if name_col is not None:
        names = {p: n for p, n in zip(t[c("phecode")].str.strip(), t[name_col].str.strip()) if p and n}
    return PhecodeMap(version, pairs, phecodes, names, exclusions, sex, str(path), layout, int(is_range.sum()))


def _sex_of(phecodes: pd.Series, values: pd.Series, path: Path) -> dict[str, str]:
    out = {}
    for i, (p, v) in enumerate(zip(phecodes, values)):
        key = str(v).strip().lower()
        if key not in SEX_VALUES:
            raise InputError(f"{path}: line {i + 2}: sex {v!r} is not Male, Female or Both")
        if SEX_VALUES[key] and p:
            out[p] = SEX_VALUES[key]
    return out


def load_phecode_info(path: str | Path) -> tuple[dict[str, str], dict[str, str]]:
    """(sex restriction, names) per phecode from an information file with ``phecode`` and ``sex``
    columns (``phecode_definitions1.2.csv``, ``phecodeX_info.csv`` or any such table)."""
    path = require_file(path, "phecode information file")
    t = _read_csv(path)
    pc, sc = _col(t, "phecode"), _col(t, "sex")
    if pc is None or sc is None:
        raise InputError(f"{path}: a phecode information file needs 'phecode' and 'sex' columns "
                         f"(header: {', '.join(t.columns)})")
    nc = _col(t, "phecode_string", "phenotype", "phecode_str", "description")
    sex = _sex_of(t[pc].str.strip(), t[sc], path)
    names = {p: n for p, n in zip(t[pc].str.strip(), t[nc].str.strip())} if nc else {}
    return sex, names


def with_info(pmap: PhecodeMap, info_path: str | Path | None) -> PhecodeMap:
    """The map with sex restrictions and names from an information file added (file wins)."""
    if info_path is None:
        return pmap
    sex, names = load_phecode_info(info_path)
    pmap.sex = {**pmap.sex, **sex}
    pmap.names = {**pmap.names, **{k: v for k, v in names.items() if v}}
    return pmap
