"""Vocabulary names and code normalisation: one canonical spelling per vocabulary and per code.

Every event carries ``(vocabulary, code)``. Vocabulary names are mapped to a canonical name
(:data:`VOCABULARY_ALIASES`: ``ICD-10`` and OMOP's ``ICD10`` are ``ICD10``, OMOP's ``Read`` is
``READ2``...); a name not in the table is an unknown vocabulary (an error naming the file and
line). Codes are normalised so that the same code written differently compares equal:

* ICD-10 (WHO), ICD-10-CM, ICD-9-CM: upper case, no dot, no blanks (``E11.9``, ``e119``,
  ``E11.9 `` -> ``E119``). For WHO ICD-10 as English hospital data (HES) write it, the filler
  ``X`` of a three-character code (``I10X`` -> ``I10``), a trailing ``-`` and dagger/asterisk
  marks (``*``, ``†``, ``+``, ``!``, and a ``D``/``A`` after the fourth or fifth character) are
  removed.
  The dot of ICD-9-CM is always after the third character (fourth for E codes), so removing it
  loses nothing.
* Read v2: the five-character code; a seven-character code with its two-digit term code
  (``H33..00``) keeps its first five characters. Read codes are case-sensitive (``173c.`` and
  ``173C.`` differ) so case is kept. CTV3 likewise keeps case (five characters).
* SNOMED CT, LOINC and other vocabularies: blanks trimmed, otherwise unchanged.

Prefix matching (code lists, phecode fall-back) works on normalised codes; for Read v2 the
padding dots of a prefix are dropped (``H33..`` matches ``H330.`` as a prefix ``H33``).
"""

from __future__ import annotations

import re

#: ICD families: phecode maps are keyed by (family, code) as PheTK's ``flag`` (9 or 10).
ICD10_FAMILY, ICD9_FAMILY = "ICD10", "ICD9"
ICD_FAMILY = {"ICD10": ICD10_FAMILY, "ICD10CM": ICD10_FAMILY, "ICD9CM": ICD9_FAMILY}

#: Canonical vocabulary names hubscan understands.
VOCABULARIES = ("ICD10", "ICD10CM", "ICD9CM", "SNOMED", "READ2", "CTV3", "LOINC", "OPCS4", "RXNORM",
                "ATC", "DMD", "UCUM", "CPT4", "HCPCS", "ICD10PCS", "ICD9PROC", "OMOP")

_ALIASES = {
    "ICD10": ["ICD10", "ICD-10", "ICD10WHO", "ICD-10-WHO", "ICD10_WHO", "WHO-ICD10"],
    "ICD10CM": ["ICD10CM", "ICD-10-CM", "ICD10-CM", "ICD10_CM"],
    "ICD9CM": ["ICD9CM", "ICD-9-CM", "ICD9-CM", "ICD9", "ICD-9", "ICD9_CM"],
    "SNOMED": ["SNOMED", "SNOMEDCT", "SNOMED-CT", "SNOMED CT", "SNOMEDCT_US", "SCT", "SNOMED_CT"],
    "READ2": ["READ2", "READ", "READV2", "READ V2", "READ_V2", "READ-V2", "READCODE", "READ CODE"],
    "CTV3": ["CTV3", "READ3", "READV3", "READ V3", "READ_V3", "CTV-3"],
    "LOINC": ["LOINC"],
    "OPCS4": ["OPCS4", "OPCS", "OPCS-4"],
    "RXNORM": ["RXNORM"],
    "ATC": ["ATC"],
    "DMD": ["DMD", "DM+D"],
    "UCUM": ["UCUM"],
    "CPT4": ["CPT4", "CPT"],
    "HCPCS": ["HCPCS"],
    "ICD10PCS": ["ICD10PCS", "ICD-10-PCS"],
    "ICD9PROC": ["ICD9PROC"],
    "OMOP": ["OMOP", "OMOP CONCEPT", "CONCEPT_ID"],
}
#: upper-cased alias -> canonical name
VOCABULARY_ALIASES: dict[str, str] = {a.upper(): name for name, aliases in _ALIASES.items() for a in aliases}

_ICD10_HES = re.compile(r"^([A-Z][0-9]{2})X$")
_ICD10_FLAG = re.compile(r"^([A-Z][0-9]{2}[0-9X][0-9]?)[AD]$")
_STRIP = str.maketrans("", "", ". \t*†+!")
_FORMAT = {
    "ICD10": re.compile(r"^[A-Z][0-9][0-9A-Z]{1,4}$"),
    "ICD10CM": re.compile(r"^[A-Z][0-9][0-9A-Z]{1,5}$"),
    "ICD9CM": re.compile(r"^([0-9]{3,5}|V[0-9]{2,4}|E[0-9]{3,4})$"),
}


def canonical_vocabulary(name: str | None) -> str | None:
    """The canonical spelling of a vocabulary name, or None if it is unknown."""
    if name is None:
        return None
    return VOCABULARY_ALIASES.get(str(name).strip().upper())


def normalise_code(vocabulary: str, code: str | None) -> str | None:
    """One code in its canonical form (see the module docstring); None/blank stays None."""
    if code is None:
        return None
    c = str(code).strip()
    if not c:
        return None
    if vocabulary in ICD_FAMILY:
        c = c.upper().translate(_STRIP).rstrip("-")
        if vocabulary == "ICD10":
            m = _ICD10_FLAG.match(c)
            c = m.group(1) if m else c
            m = _ICD10_HES.match(c)
            c = m.group(1) if m else c
        return c or None
    if vocabulary == "READ2":
        c = c.replace(" ", "")
        return c[:5] if len(c) == 7 and c[5:].isdigit() else c
    return c


def is_well_formed(vocabulary: str, code: str) -> bool:
    """True if a normalised ICD code has the shape of its vocabulary (other vocabularies: True)."""
    pattern = _FORMAT.get(vocabulary)
    return True if pattern is None else bool(pattern.match(code))


def prefix_of(vocabulary: str, code: str) -> str:
    """A normalised code used as a prefix: Read v2 padding dots dropped (``H33..`` -> ``H33``)."""
    c = normalise_code(vocabulary, code) or ""
    if vocabulary in ("READ2", "CTV3"):
        c = c.rstrip(".")
    return c


def spark_normalise(vocabulary_col, code_col):
    """The same normalisation as :func:`normalise_code` as a Spark column expression (for small
    tables such as crosswalks: events are normalised through their distinct codes,
    :func:`phenotypes.sources.records.normalise_codes`).

    ``vocabulary_col`` must already hold canonical names.
    """
    from pyspark.sql import functions as F

    raw = F.trim(code_col)
    icd = F.regexp_replace(F.upper(raw), r"[. \t*†+!]", "")
    icd = F.regexp_replace(icd, r"-+$", "")
    who = F.regexp_replace(icd, r"^([A-Z][0-9]{2}[0-9X][0-9]?)[AD]$", "$1")
    who = F.regexp_replace(who, r"^([A-Z][0-9]{2})X$", "$1")
    read = F.regexp_replace(raw, " ", "")
    read = F.when((F.length(read) == 7) & read.rlike(r"^.{5}[0-9]{2}$"), F.substring(read, 1, 5)).otherwise(read)
    out = (F.when(vocabulary_col == "ICD10", who)
           .when(vocabulary_col.isin("ICD10CM", "ICD9CM"), icd)
           .when(vocabulary_col == "READ2", read)
           .otherwise(raw))
    return F.when(out == "", F.lit(None)).otherwise(out)


def spark_canonical_vocabulary(col):
    """Canonical vocabulary names as a Spark expression; unknown names become null."""
    from pyspark.sql import functions as F

    mapping = F.create_map(*[F.lit(x) for pair in VOCABULARY_ALIASES.items() for x in pair])
    return mapping[F.upper(F.trim(col))]
