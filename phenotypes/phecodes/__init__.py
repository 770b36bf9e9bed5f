"""Phecodes (1.2 and X) from ICD codes: maps in their public layouts, roll-up, exclusion ranges,
sex restriction and the "k distinct days" case rule (:mod:`phenotypes.phecodes.rules`)."""
