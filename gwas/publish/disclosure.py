"""Statistical disclosure control applied before any summary statistic leaves the hub.

Rules (defaults follow NHS Digital / OpenSAFELY small-number practice; every one configurable):

* **Counts** (samples tested ``n``, cases, controls, allele counts): a count of
  ``suppress_at_or_below`` (7) or fewer is suppressed (published as missing); every other count
  is rounded to the nearest multiple of ``round_to`` (5): 8 -> 10, 12 -> 10, 13 -> 15. Counts that
  do not apply (``-1``: cases of a quantitative trait) are missing too.
* **Variants**: a (variant, trait) row is withheld when the variant may have fewer than
  ``min_carriers`` minor-allele carriers among the tested samples. The store holds the minor
  allele count (MAC, sum of dosages) not carriers; each carrier holds at most two copies, so
  carriers >= MAC / 2 and the rule withholds rows with MAC / 2 < ``min_carriers`` (conservative:
  a variant is published only when even all-homozygous carriers would be enough of them).
* **Traits**: a binary trait with fewer than ``min_trait_cases`` cases or controls is withheld
  whole; traits the scan itself skipped are listed as withheld with the scan's reason.

:func:`disclosure_report` gathers every decision (what, why) for ``disclosure/`` in the output.
Nothing here ever sees a sample identifier: the results store holds none.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hubscan.errors import ConfigError


@dataclass(frozen=True)
class DisclosureRules:
    """Thresholds of the disclosure control (see the module docstring)."""

    suppress_at_or_below: int = 7
    round_to: int = 5
    min_carriers: int = 8
    min_trait_cases: int = 20

    def __post_init__(self):
        for name in ("suppress_at_or_below", "min_carriers", "min_trait_cases"):
            if getattr(self, name) < 0:
                raise ConfigError(f"disclosure rule {name} must be >= 0, got {getattr(self, name)}")
        if self.round_to < 1:
            raise ConfigError(f"disclosure rule round_to must be >= 1 (1 = no rounding), got {self.round_to}")

    def to_dict(self) -> dict:
        return asdict(self)


def protect_counts(counts: np.ndarray, rules: DisclosureRules) -> np.ndarray:
    """Counts as published: float64 with NaN where suppressed (<= threshold) or not applicable
    (negative or NaN), else rounded to the nearest multiple of ``round_to`` (halves up).

    Fractional counts (dosage sums) are compared and rounded as they are.
    """
    c = np.asarray(counts, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        out = np.floor(c / rules.round_to + 0.5) * rules.round_to
        out = np.where(np.isfinite(c) & (c >= 0) & (c > rules.suppress_at_or_below), out, np.nan)
    return out


def minor_allele_count(allele_count: np.ndarray, allele_frequency: np.ndarray) -> np.ndarray:
    """Minor allele count in the tested samples from the ALT dosage sum and ALT frequency:
    called allele copies = allele_count / allele_frequency, MAC = min(AC, copies - AC)."""
    ac = np.asarray(allele_count, dtype=np.float64)
    af = np.asarray(allele_frequency, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        other = np.where(af > 0, ac * (1.0 - af) / af, 0.0)
    mac = np.minimum(ac, other)
    return np.where(np.isfinite(mac), mac, 0.0)


def too_few_carriers(allele_count: np.ndarray, allele_frequency: np.ndarray, rules: DisclosureRules) -> np.ndarray:
    """True where the minor allele may have fewer than ``min_carriers`` carriers (MAC / 2 below it)."""
    return minor_allele_count(allele_count, allele_frequency) / 2.0 < rules.min_carriers


def trait_decision(entry: dict, rules: DisclosureRules) -> str | None:
    """Why a trait is withheld (``None``: publish it). ``entry`` is the trait's _results.json entry."""
    status = entry.get("status", "tested")
    if status != "tested":
        return f"not tested by the scan ({entry.get('reason') or status})"
    if entry.get("type") == "binary":
        cases, controls = int(entry["n_cases"]), int(entry["n_controls"])
        if cases < rules.min_trait_cases:
            return f"fewer than {rules.min_trait_cases} cases"
        if controls < rules.min_trait_cases:
            return f"fewer than {rules.min_trait_cases} controls"
    return None


def disclosure_report(rules: DisclosureRules, traits: list[dict], variant_reasons: dict[str, dict[str, int]]) -> dict:
    """The disclosure record: rules, traits published / withheld with reasons, and per published
    trait the count of withheld (variant, trait) rows by reason. Counts here are row counts of
    variants, never of people."""
    return {"rules": rules.to_dict(),
            "traits_published": [t["name"] for t in traits if t["withheld"] is None],
            "traits_withheld": [{"trait": t["name"], "reason": t["withheld"]} for t in traits if t["withheld"]],
            "variants_withheld": {name: dict(sorted(r.items())) for name, r in variant_reasons.items()}}
