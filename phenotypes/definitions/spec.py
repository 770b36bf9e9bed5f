"""Custom phenotypes declared in YAML: binary traits from code lists, quantitative traits from
measurements.

.. code-block:: yaml

    units: units.csv                    # conversion table for measurements (relative to this file)
    traits:
      - name: t2d                       # letters, digits, _ . - (no blanks: plink2 column name)
        description: Type 2 diabetes
        include:                        # any of these, on at least min_days distinct days
          - {vocabulary: ICD10, codes: [E11]}          # prefixes: E11 matches E11, E11.9, E119
          - {vocabulary: READ2, codes: [C10F.], match: exact}
          - {codelist: caliber_t2d.csv}               # CALIBER (ICD10code / Read code columns)
          - {codelist: opencodelist.csv, vocabulary: SNOMED}   # OpenCodelists (code column)
        exclude:                        # anyone with one of these, at any time, is missing
          - {vocabulary: ICD10, codes: [E10]}
        min_days: 1                     # default 1; 0 < days < min_days is missing
        age: [18, 80]                   # age at the event in years: [min, max) (either may be null)
        dates: [2000-01-01, 2020-12-31] # event dates, inclusive
        sex: female                     # male, female or both (default): the other sex is missing
      - name: ldl
        type: quantitative
        vocabulary: LOINC
        codes: [13457-7, 18262-6]       # exact codes
        unit: mmol/L                    # values are converted to this unit (units table)
        limits: [0.1, 15]               # plausible range in that unit, inclusive; outside is excluded
        aggregate: median               # first, last, mean, median, min, max (per person)
        transform: inverse_normal       # optional rank-based inverse normal transform (Blom)
        missing_unit: exclude           # or "assume": a value without unit is in ``unit``

Code lists: CALIBER CSVs (columns ``ICD10code``/``ICD10 code`` -> ICD10, ``Read code``/
``Readcode`` -> READ2, ``OPCS4code`` -> OPCS4) and OpenCodelists CSVs (column ``code``, or
``dmd_id``/``snomedcode``; the vocabulary is given in the entry). A CALIBER code list matches
codes exactly; entries with ``codes:`` match prefixes unless ``match: exact``.
Errors name the YAML file and the trait.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hubscan.errors import ConfigError, InputError
from hubscan.files import require_file
from phenotypes.vocab.codes import canonical_vocabulary, normalise_code, prefix_of

NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
AGGREGATES = ("first", "last", "mean", "median", "min", "max")
TRANSFORMS = (None, "inverse_normal")
CALIBER_COLUMNS = {"icd10code": "ICD10", "icd10 code": "ICD10", "icd10": "ICD10", "read code": "READ2",
                   "readcode": "READ2", "opcs4code": "OPCS4", "opcs4 code": "OPCS4", "opcscode": "OPCS4"}
OPENCODELISTS_COLUMNS = ("code", "snomedcode", "snomed_code", "dmd_id", "ctv3_id", "ctv3code")


@dataclass
class CodeRule:
    """One code to match: ``exact`` code or ``prefix`` (normalised)."""

    vocabulary: str
    code: str
    match: str


@dataclass
class BinaryDefinition:
    name: str
    description: str
    include: list[CodeRule]
    exclude: list[CodeRule] = field(default_factory=list)
    min_days: int = 1
    age: tuple[float | None, float | None] = (None, None)
    dates: tuple[dt.date | None, dt.date | None] = (None, None)
    sex: str | None = None

    def summary(self) -> str:
        vocabs = sorted({r.vocabulary for r in self.include})
        parts = [self.description or self.name, f"{len(self.include)} code(s) in {', '.join(vocabs)}",
                 f"case: >= {self.min_days} distinct day(s)"]
        if self.exclude:
            parts.append(f"{len(self.exclude)} exclusion code(s)")
        if self.age != (None, None):
            parts.append(f"age [{self.age[0]}, {self.age[1]})")
        if self.dates != (None, None):
            parts.append(f"dates {self.dates[0]} to {self.dates[1]}")
        if self.sex:
            parts.append({"M": "male only", "F": "female only"}[self.sex])
        return "; ".join(parts)


@dataclass
class QuantitativeDefinition:
    name: str
    description: str
    vocabulary: str
    codes: list[str]
    unit: str
    limits: tuple[float | None, float | None] = (None, None)
    aggregate: str = "median"
    transform: str | None = None
    missing_unit: str = "exclude"
    age: tuple[float | None, float | None] = (None, None)
    dates: tuple[dt.date | None, dt.date | None] = (None, None)

    def summary(self) -> str:
        parts = [self.description or self.name, f"{self.vocabulary} {', '.join(self.codes)}", f"in {self.unit}",
                 f"{self.aggregate} per person"]
        if self.limits != (None, None):
            parts.append(f"plausible [{self.limits[0]}, {self.limits[1]}]")
        if self.transform:
            parts.append("rank-based inverse normal")
        return "; ".join(parts)


@dataclass
class Definitions:
    path: Path
    binary: list[BinaryDefinition]
    quantitative: list[QuantitativeDefinition]
    units: Path | None


def _pair(value, what: str, convert, where: str):
    if value is None:
        return (None, None)
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ConfigError(f"{where}: {what} must be a list [low, high] (null for no bound)")
    try:
        return tuple(None if v is None else convert(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {what} {value!r} has a bad bound") from None


def _date(v):
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v))


def _vocab(name, where: str) -> str:
    v = canonical_vocabulary(name)
    if v is None:
        raise ConfigError(f"{where}: unknown vocabulary {name!r}")
    return v


def read_codelist(path: Path, vocabulary: str | None, where: str) -> list[CodeRule]:
    """Exact-match rules from a CALIBER or OpenCodelists CSV."""
    path = require_file(path, "code list")
    try:
        t = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as CSV ({exc})") from None
    cols = {c.strip().lower(): c for c in t.columns}
    caliber = [(cols[c], v) for c, v in CALIBER_COLUMNS.items() if c in cols]
    if caliber:
        col, vocab = caliber[0]
        vocab = _vocab(vocabulary, where) if vocabulary else vocab
    else:
        found = [cols[c] for c in OPENCODELISTS_COLUMNS if c in cols]
        if not found:
            raise InputError(f"{path}: no code column (CALIBER: ICD10code / Read code; OpenCodelists: code); "
                             f"header: {', '.join(t.columns)}")
        if not vocabulary:
            raise ConfigError(f"{where}: code list {path.name} needs 'vocabulary:' (OpenCodelists files do not say)")
        col, vocab = found[0], _vocab(vocabulary, where)
    rules = []
    for code in t[col]:
        code = code.strip()
        if vocab == "READ2" and re.fullmatch(r".{5}\.0", code):  # CALIBER's "2126200.0" float artefact
            code = code[:5]
        norm = normalise_code(vocab, code)
        if norm:
            rules.append(CodeRule(vocab, norm, "exact"))
    if not rules:
        raise InputError(f"{path}: the code list is empty")
    return rules


def _rules(entries, base: Path, where: str) -> list[CodeRule]:
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: must be a list of {{vocabulary, codes}} or {{codelist}} entries")
    rules = []
    for i, e in enumerate(entries):
        w = f"{where}[{i}]"
        if not isinstance(e, dict):
            raise ConfigError(f"{w}: must be a mapping")
        unknown = set(e) - {"vocabulary", "codes", "codelist", "match"}
        if unknown:
            raise ConfigError(f"{w}: unknown key(s) {', '.join(sorted(unknown))}")
        if "codelist" in e:
            rules += read_codelist((base / str(e["codelist"])), e.get("vocabulary"), w)
            continue
        vocab = _vocab(e.get("vocabulary"), w)
        match = e.get("match", "prefix")
        if match not in ("prefix", "exact"):
            raise ConfigError(f"{w}: match must be 'prefix' or 'exact'")
        codes = e.get("codes")
        if not isinstance(codes, list) or not codes:
            raise ConfigError(f"{w}: codes must be a non-empty list")
        for c in codes:
            norm = prefix_of(vocab, str(c)) if match == "prefix" else normalise_code(vocab, str(c))
            if not norm:
                raise ConfigError(f"{w}: empty code")
            rules.append(CodeRule(vocab, norm, match))
    return rules


BINARY_KEYS = {"name", "type", "description", "include", "exclude", "min_days", "age", "dates", "sex"}
QUANT_KEYS = {"name", "type", "description", "vocabulary", "codes", "unit", "limits", "aggregate", "transform",
              "missing_unit", "age", "dates"}


def load_definitions(path: str | Path) -> Definitions:
    """Parse and check the YAML file (every error names the file and the trait)."""
    from hubscan.files import load_yaml

    path = require_file(path, "phenotype definitions")
    doc = load_yaml(path, "phenotype definitions")
    if not isinstance(doc, dict) or not isinstance(doc.get("traits"), list):
        raise ConfigError(f"{path}: expected a mapping with a 'traits:' list")
    unknown = set(doc) - {"traits", "units"}
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}")
    base = path.parent
    units = require_file(base / str(doc["units"]), "units table") if doc.get("units") else None
    binary, quant, seen = [], [], set()
    for i, t in enumerate(doc["traits"]):
        where = f"{path}: traits[{i}]"
        if not isinstance(t, dict) or "name" not in t:
            raise ConfigError(f"{where}: each trait needs a name")
        name = str(t["name"])
        where = f"{path}: trait {name!r}"
        if not NAME.match(name):
            raise ConfigError(f"{where}: names may hold letters, digits, '_', '.', '-' only")
        if name in seen:
            raise ConfigError(f"{where}: defined twice")
        seen.add(name)
        kind = t.get("type", "binary")
        age = _pair(t.get("age"), "age", float, where)
        dates = _pair(t.get("dates"), "dates", _date, where)
        if kind == "binary":
            extra = set(t) - BINARY_KEYS
            if extra:
                raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
            include = _rules(t.get("include"), base, f"{where}: include")
            if not include:
                raise ConfigError(f"{where}: needs at least one include entry")
            min_days = t.get("min_days", 1)
            if not isinstance(min_days, int) or min_days < 1:
                raise ConfigError(f"{where}: min_days must be a positive integer")
            sex = {"male": "M", "female": "F", "both": None, None: None}.get(t.get("sex"), "?")
            if sex == "?":
                raise ConfigError(f"{where}: sex must be male, female or both")
            binary.append(BinaryDefinition(name, str(t.get("description", "")), include,
                                           _rules(t.get("exclude"), base, f"{where}: exclude"), min_days, age, dates, sex))
        elif kind == "quantitative":
            extra = set(t) - QUANT_KEYS
            if extra:
                raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
            vocab = _vocab(t.get("vocabulary"), where)
            codes = t.get("codes")
            if not isinstance(codes, list) or not codes:
                raise ConfigError(f"{where}: codes must be a non-empty list")
            if not t.get("unit"):
                raise ConfigError(f"{where}: unit (the unit values are converted to) is required")
            agg = t.get("aggregate", "median")
            if agg not in AGGREGATES:
                raise ConfigError(f"{where}: aggregate must be one of {', '.join(AGGREGATES)}")
            transform = t.get("transform")
            if transform not in TRANSFORMS:
                raise ConfigError(f"{where}: transform must be inverse_normal or absent")
            missing_unit = t.get("missing_unit", "exclude")
            if missing_unit not in ("exclude", "assume"):
                raise ConfigError(f"{where}: missing_unit must be 'exclude' or 'assume'")
            quant.append(QuantitativeDefinition(name, str(t.get("description", "")), vocab,
                                                [normalise_code(vocab, str(c)) for c in codes], str(t["unit"]).strip(),
                                                _pair(t.get("limits"), "limits", float, where), agg, transform,
                                                missing_unit, age, dates))
        else:
            raise ConfigError(f"{where}: type must be binary or quantitative")
    return Definitions(path, binary, quant, units)
