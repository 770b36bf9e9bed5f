"""Vocabularies: canonical names, code normalisation (ICD-10 dotted or not, HES style), crosswalks
from SNOMED CT / Read v2 / CTV3 to ICD through a user table or OMOP ``concept_relationship``."""
