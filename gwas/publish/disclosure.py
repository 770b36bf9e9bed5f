"""Statistical disclosure control applied before any summary statistic leaves the hub.

Rules (defaults follow NHS Digital / OpenSAFELY small-number practice; every threshold
configurable; :func:`rules_applied` lists them with their parameters for ``disclosure.json``):

* **Counts** (samples tested ``n``, cases, allele counts, called samples): a count of
  ``suppress_at_or_below`` (7) or fewer is suppressed (published as missing); every other count
  is rounded to the nearest multiple of ``round_to`` (5): 8 -> 10, 12 -> 10, 13 -> 15. Counts that
  do not apply (``-1``: cases of a quantitative trait) are missing too.
* **Complements** (:func:`protect_trait_counts`): controls are published as n - cases *of the
  published values*, never rounded on their own, so that n, cases and controls agree and their
  differences say nothing the two rounded counts do not. When cases or controls is suppressed the
  other is suppressed too (secondary suppression: n - controls would give the cases back).
* **Derived numbers carry only published counts**: the allele frequency is published as
  (rounded allele count) / (2 x rounded called samples), :func:`published_allele_frequency` — a
  frequency in full precision is a ratio of two exact counts, and AF x 2n' is an integer for
  exactly one n' near the rounded n, which gives both counts back; the linear test's p-value,
  which depends on the residual degrees of freedom n - k - 1, is recomputed with the published n
  (:func:`published_neg_log10_p`); INFO is published to ``INFO_DECIMALS`` decimals.
* **Variants**: a (variant, trait) row is withheld when the variant may have fewer than
  ``min_carriers`` minor-allele carriers among the tested samples. The store holds the minor
  allele count (MAC, sum of dosages) not carriers; each carrier holds at most two copies, so
  carriers >= MAC / 2 and the rule withholds rows with MAC / 2 < ``min_carriers`` (conservative:
  a variant is published only when even all-homozygous carriers would be enough of them).
  Withheld rows are counted by reason, never named.
* **Traits**: a binary trait with fewer than ``min_trait_cases`` cases or controls, or any trait
  with fewer than ``min_trait_cases`` samples, is withheld whole, with no count at all; traits the
  scan itself skipped are withheld with a reason that carries no count.

What the standard errors say (not changed here): the variance of a binary trait's log odds ratio
is about 1 / (n phi (1 - phi) 2f(1 - f)) (phi the case fraction), so the standard errors of many
variants estimate the case count — but only roughly: genotype sampling, departures from
Hardy-Weinberg, imputation and the covariates blur it (on the tests' simulated cohort the best
such estimate misses by 4-16 cases, more than rounding does), and the traits it could matter for
(few cases) are withheld. Effect sizes, standard errors and confidence intervals are functions of
the fit, not of counts, and are published as computed.

:func:`disclosure_report` gathers every decision (what, why) for ``disclosure/`` in the output.
Nothing here ever sees a sample identifier: the results store holds none.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

from hubscan.errors import ConfigError

#: INFO (imputation quality) is published to this many decimals
INFO_DECIMALS = 3
#: format of disclosure/disclosure.json
DISCLOSURE_FORMAT = "hubscan-disclosure-2"


@dataclass(frozen=True)
class DisclosureRules:
    """Thresholds of the disclosure control (see the module docstring).

    Rounding to r >= 2 requires 2r - 1 > ``suppress_at_or_below``: a difference of two counts
    rounded to r is known only to within r - 1 either side, so a published difference of r puts
    the true one in [1, 2r - 1], which then reaches past the suppression threshold (defaults:
    [1, 9] against 7). ``round_to=1`` turns rounding off, and with it this protection: every
    count and every difference of counts is then published exactly (only suppression remains)."""

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
        if 1 < self.round_to and 2 * self.round_to - 1 <= self.suppress_at_or_below:
            raise ConfigError(f"disclosure rules round_to {self.round_to} and suppress_at_or_below "
                              f"{self.suppress_at_or_below}: the difference of two counts rounded to {self.round_to} "
                              f"would show a count in [1, {2 * self.round_to - 1}], all of it suppressible; "
                              f"round to more than {(self.suppress_at_or_below + 1) / 2:g}")

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


def protect_trait_counts(n, n_cases, n_controls, rules: DisclosureRules) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, cases, controls) as published (float64, NaN = suppressed or not applicable; arrays or
    scalars). n and cases are protected by :func:`protect_counts`; controls are the published n
    minus the published cases (so the three agree and their differences carry nothing more);
    cases and controls are both suppressed when either is suppressed or when n is."""
    n_pub = protect_counts(np.atleast_1d(np.asarray(n, dtype=np.float64)), rules)
    cases = np.atleast_1d(np.asarray(n_cases, dtype=np.float64))
    controls = np.atleast_1d(np.asarray(n_controls, dtype=np.float64))
    cases_pub = protect_counts(cases, rules)
    with np.errstate(invalid="ignore"):
        small = ~np.isfinite(cases_pub) | ~np.isfinite(protect_counts(controls, rules)) | ~np.isfinite(n_pub)
    cases_pub = np.where(small, np.nan, cases_pub)
    return n_pub, cases_pub, np.where(small, np.nan, n_pub - cases_pub)


def called_count(allele_count: np.ndarray, allele_frequency: np.ndarray) -> np.ndarray:
    """Samples with a call, from the ALT dosage sum and frequency: n_called = AC / (2 AF)
    (NaN where AF is 0 or missing)."""
    ac = np.asarray(allele_count, dtype=np.float64)
    af = np.asarray(allele_frequency, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(af > 0, np.rint(ac / (2.0 * af)), np.nan)


def published_allele_frequency(allele_count_pub: np.ndarray, n_called_pub: np.ndarray) -> np.ndarray:
    """ALT frequency as published: rounded ALT allele count / (2 x rounded called samples).

    It carries no digit beyond the two rounded counts (a reader can get them back, and only them).
    Its error against the exact frequency AC / (2 n_called) is at most about
    (round_to / 2) (1 + 2 AF) / (2 n_called): 0.003 at n = 800 and AF = 0.5, 3e-5 at n = 100,000."""
    with np.errstate(invalid="ignore", divide="ignore"):
        af = np.asarray(allele_count_pub, dtype=np.float64) / (2.0 * np.asarray(n_called_pub, dtype=np.float64))
    return np.where(np.isfinite(af), af, np.nan)


def published_neg_log10_p(test, t_statistic, neg_log10_p, n_pub, df_offset: int) -> np.ndarray:
    """-log10 p as published: rows of the linear test (``test == "linear"``, Student t with
    n - k - 1 degrees of freedom) get their p recomputed from t = beta / SE with the published n,
    df = n_pub - ``df_offset`` (k + 1: covariates, intercept and genotype); other tests (Wald,
    score, Firth, likelihood ratio: normal or chi², no degrees of freedom) keep theirs.

    The scan's p pins the exact n: from t and p the df is found to within a fraction of one (the
    attack in tests/publish/test_attack.py). The change is small: n differs from the published n
    by at most round_to / 2; at n = 800 a df off by 2 moves -log10 p by a relative 1.3e-5 at t = 3,
    4e-5 at t = 5, 1e-3 at t = 40 (p ~ 1e-190), 0.4 units at t = 60 (p ~ 1e-297)."""
    from gwas.assoc.results import t_test_p

    nlp = np.array(neg_log10_p, dtype=np.float64)
    linear = np.asarray(test) == "linear"
    if linear.any():
        df = np.asarray(n_pub, dtype=np.float64)[linear] - df_offset
        t = np.asarray(t_statistic, dtype=np.float64)[linear]
        with np.errstate(invalid="ignore"):
            recomputed = t_test_p(t, np.where(df > 0, df, np.nan))[1]
        nlp[linear] = np.where(np.isfinite(recomputed), recomputed, np.nan)
    return nlp


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


def scan_reason(entry: dict) -> str:
    """The scan's reason for not testing a trait, without any count in it ("3 cases < min_cases
    50" -> "fewer than 50 cases or controls"): a reason is published, a small count is not."""
    reason = str(entry.get("reason") or entry.get("status") or "")
    threshold = re.search(r"min_cases\s*(\d+)", reason)
    if threshold:
        return f"fewer than {threshold.group(1)} cases or controls"
    if re.search(r"\d", reason):
        return str(entry.get("status") or "not tested")
    return reason or "not tested"


def trait_decision(entry: dict, rules: DisclosureRules) -> str | None:
    """Why a trait is withheld (``None``: publish it). ``entry`` is the trait's _results.json entry."""
    status = entry.get("status", "tested")
    if status != "tested":
        return f"not tested by the scan ({scan_reason(entry)})"
    if int(entry.get("n") or 0) < rules.min_trait_cases:
        return f"fewer than {rules.min_trait_cases} samples"
    if entry.get("type") == "binary":
        cases, controls = int(entry["n_cases"]), int(entry["n_controls"])
        if cases < rules.min_trait_cases:
            return f"fewer than {rules.min_trait_cases} cases"
        if controls < rules.min_trait_cases:
            return f"fewer than {rules.min_trait_cases} controls"
    return None


def rules_applied(rules: DisclosureRules) -> list[dict]:
    """Every rule of this module with its parameters, in the order applied, for an output checker."""
    s, r = rules.suppress_at_or_below, rules.round_to
    return [
        {"rule": "small counts suppressed", "applies_to": ["n", "cases", "controls", "allele counts", "called samples"],
         "parameters": {"suppress_at_or_below": s}, "published_as": "missing (NA, #NA, null, 'suppressed')"},
        {"rule": "counts rounded", "applies_to": ["n", "cases", "allele counts", "called samples"],
         "parameters": {"round_to": r, "method": "nearest multiple, halves up"},
         "differences": (f"a difference of two published counts is known to within +-{r - 1}: "
                         f"a published difference of {r} puts the true one in [1, {2 * r - 1}]"
                         if r > 1 else "no rounding: counts and their differences are exact")},
        {"rule": "complementary counts derived from published counts",
         "parameters": {"controls": "published n - published cases"},
         "why": "n - cases - controls and their differences carry nothing beyond two rounded counts"},
        {"rule": "secondary suppression",
         "parameters": {"when": f"cases or controls <= {s}", "suppressed": ["cases", "controls"]},
         "why": "n - controls would give a suppressed case count back"},
        {"rule": "allele frequency from rounded counts",
         "parameters": {"formula": "rounded ALT allele count / (2 x rounded called samples)"},
         "why": "a frequency in full precision is a ratio of exact counts: AF x 2n' gives them back"},
        {"rule": "linear-test p-values with the published degrees of freedom",
         "parameters": {"df": "published n - (covariates + 2)"},
         "why": "the t distribution's degrees of freedom n - k - 1 would give the exact n back"},
        {"rule": "INFO rounded", "parameters": {"decimals": INFO_DECIMALS}},
        {"rule": "variants withheld with too few minor-allele carriers",
         "parameters": {"min_carriers": rules.min_carriers, "test": "minor allele count / 2 < min_carriers"}},
        {"rule": "traits withheld with too few cases, controls or samples",
         "parameters": {"min_trait_cases": rules.min_trait_cases},
         "published_as": "name and reason only: no count of a withheld trait"},
        {"rule": "withheld variants counted by reason, never named", "parameters": {}},
        {"rule": "no identifier, no local path", "parameters": {},
         "why": "files hold aggregate statistics; paths are relative to the publication"},
    ]


def disclosure_report(rules: DisclosureRules, traits: list[dict], variant_reasons: dict[str, dict[str, int]]) -> dict:
    """The disclosure record: rules, traits published / withheld with reasons, and per published
    trait the count of withheld (variant, trait) rows by reason. Counts here are row counts of
    variants, never of people."""
    return {"format": DISCLOSURE_FORMAT, "rules": rules.to_dict(), "rules_applied": rules_applied(rules),
            "traits_published": [t["name"] for t in traits if t["withheld"] is None],
            "traits_withheld": [{"trait": t["name"], "reason": t["withheld"]} for t in traits if t["withheld"]],
            "variants_withheld": {name: dict(sorted(r.items())) for name, r in variant_reasons.items()}}
