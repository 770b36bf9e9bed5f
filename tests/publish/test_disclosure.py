"""Disclosure control against plain-Python computations: count suppression and rounding, the
minor-allele-carrier rule (recomputed from the simulated dosages, not from the store), traits
withheld."""

import json
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gwas.publish.disclosure import (DisclosureRules, minor_allele_count, protect_counts, protect_trait_counts,
                                     published_allele_frequency, published_neg_log10_p, trait_decision)
from gwas.publish.run import PublishOptions, publish
from gwas.results.store import open_results
from hubscan.errors import ConfigError


def reference_count(c, suppress=7, round_to=5):
    """Plain-Python rule: None when suppressed, else the nearest multiple of round_to (halves up)."""
    if c < 0 or c <= suppress:
        return None
    return int((Decimal(str(c)) / round_to).quantize(Decimal(1), rounding=ROUND_HALF_UP) * round_to)


def test_boundaries_of_the_default_rule():
    got = protect_counts(np.array([0, 1, 7, 8, 9, 10, 12, 13, 17, 18, 22, 23, 1000, -1]), DisclosureRules())
    expected = [None, None, None, 10, 10, 10, 10, 15, 15, 20, 20, 25, 1000, None]
    assert [None if np.isnan(v) else int(v) for v in got] == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-1, 10**6), min_size=1, max_size=50), st.integers(0, 30), st.integers(1, 25))
def test_counts_match_plain_python(counts, suppress, round_to):
    assume(round_to == 1 or 2 * round_to - 1 > suppress)
    rules = DisclosureRules(suppress_at_or_below=suppress, round_to=round_to)
    got = protect_counts(np.array(counts), rules)
    assert [None if np.isnan(v) else int(v) for v in got] == [reference_count(c, suppress, round_to) for c in counts]


def reference_trait_counts(n, cases, controls, suppress=7, round_to=5):
    """Plain-Python rule: n rounded; cases rounded and controls = published n - published cases,
    both suppressed when either true count is suppressed (or n is)."""
    n_pub, cases_pub, controls_pub = (reference_count(c, suppress, round_to) for c in (n, cases, controls))
    if None in (n_pub, cases_pub, controls_pub):
        return n_pub, None, None
    return n_pub, cases_pub, n_pub - cases_pub


@pytest.mark.parametrize("n, cases", [(800, 6), (800, 7), (800, 8), (800, 793), (800, 792), (802, 163), (798, 167),
                                      (7, 3), (12, 12), (100, 0)])
def test_trait_counts_complements_and_secondary_suppression(n, cases):
    got = protect_trait_counts(n, cases, n - cases, DisclosureRules())
    assert tuple(None if np.isnan(v[0]) else int(v[0]) for v in got) == reference_trait_counts(n, cases, n - cases)


@settings(max_examples=200, deadline=None)
@given(st.integers(8, 10**6), st.data())
def test_trait_counts_agree_and_hide_small_cells(n, data):
    cases = data.draw(st.integers(0, n))
    n_pub, cases_pub, controls_pub = (v[0] for v in protect_trait_counts(n, cases, n - cases, DisclosureRules()))
    assert n_pub == reference_count(n)
    if min(cases, n - cases) <= 7:
        assert np.isnan(cases_pub) and np.isnan(controls_pub)   # n alone says nothing about either
    else:
        assert cases_pub + controls_pub == n_pub and abs(controls_pub - (n - cases)) <= 4


def test_rounding_must_cover_the_suppression_threshold():
    DisclosureRules(suppress_at_or_below=7, round_to=5)      # a difference of 5: true one in [1, 9], past 7
    with pytest.raises(ConfigError, match=r"count in \[1, 7\].*round to more than 4"):
        DisclosureRules(suppress_at_or_below=7, round_to=4)  # a difference of 4: true one in [1, 7]
    DisclosureRules(suppress_at_or_below=7, round_to=1)      # no rounding: an explicit choice


@settings(max_examples=200, deadline=None)
@given(st.integers(8, 200_000), st.data())
def test_published_frequency_is_the_rounded_counts(called, data):
    ac = data.draw(st.integers(0, 2 * called))
    rules = DisclosureRules()
    af = published_allele_frequency(protect_counts(np.array([ac]), rules), protect_counts(np.array([called]), rules))
    ac_pub, called_pub = reference_count(ac), reference_count(called)
    if ac_pub is None:
        assert np.isnan(af[0])
    else:
        assert af[0] == ac_pub / (2 * called_pub)


def test_linear_p_values_use_the_published_degrees_of_freedom():
    from scipy import stats

    t = np.array([2.0, -5.0, 40.0, 1.5, 3.0])
    test = np.array(["linear", "linear", "linear", "firth", "linear"])
    nlp = np.array([9.0, 9.0, 9.0, 1.234, 9.0])
    n_pub = np.array([760, 760, 760, 760, 2])
    got = published_neg_log10_p(test, t, nlp, n_pub, df_offset=6)
    want = -np.log10(2 * stats.t.sf(np.abs(t[:3]), 754))   # scipy's Student t: same cephes routine, 1e-12
    np.testing.assert_allclose(got[:3], want, rtol=1e-12)
    assert got[3] == 1.234 and np.isnan(got[4])  # other tests keep their p; no residual df: no p


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 5000), st.floats(0, 1))
def test_minor_allele_count_matches_called_copies(n_called, freq):
    copies = 2 * n_called
    ac = round(freq * copies)
    af = ac / copies
    assert minor_allele_count(np.array([float(ac)]), np.array([af]))[0] == pytest.approx(min(ac, copies - ac), abs=1e-6)


def test_trait_rule_boundaries():
    rules = DisclosureRules(min_trait_cases=20)
    binary = {"name": "t", "type": "binary", "status": "tested", "n": 1000}
    assert trait_decision({**binary, "n_cases": 20, "n_controls": 980}, rules) is None
    assert "fewer than 20 cases" in trait_decision({**binary, "n_cases": 19, "n_controls": 981}, rules)
    assert "fewer than 20 controls" in trait_decision({**binary, "n_cases": 981, "n_controls": 19}, rules)
    assert trait_decision({"name": "q", "type": "quantitative", "n": 20}, rules) is None
    assert trait_decision({"name": "q", "type": "quantitative", "n": 19}, rules) == "fewer than 20 samples"
    assert "not tested" in trait_decision({"name": "s", "type": "binary", "status": "skipped", "reason": "x"}, rules)
    # the scan's reason is published without the count it carries
    skipped = {"name": "s", "type": "binary", "status": "skipped", "reason": "3 cases < min_cases 50"}
    assert trait_decision(skipped, rules) == "not tested by the scan (fewer than 50 cases or controls)"
    assert trait_decision({**skipped, "reason": "only 4 samples"}, rules) == "not tested by the scan (skipped)"
    with pytest.raises(ConfigError, match="round_to"):
        DisclosureRules(round_to=0)


def _reference_mac(cohort, trait):
    """MAC per variant in the trait's tested samples, from the simulated dosages."""
    tested = np.isfinite(cohort.traits[trait])
    g = cohort.dosage[:, tested]
    called = np.isfinite(g)
    ac = np.where(called, g, 0).sum(axis=1)
    copies = 2 * called.sum(axis=1)
    return np.minimum(ac, copies - ac), ac, tested.sum()


@pytest.mark.parametrize("trait", ["ldl", "bmi", "250.2", "411.2"])
def test_published_rows_and_counts(published, cohort, trait):
    out, _ = published
    summary = json.loads((out / "publish.json").read_text())
    stem = {t["name"]: t.get("stem") for t in summary["traits"]}[trait]
    table = pq.read_table(out / "parquet" / f"{stem}.parquet").to_pandas()
    mac, ac, n_tested = _reference_mac(cohort, trait)
    store = open_results(cohort.root).read(traits=[trait], columns=["variant_index", "error_code", "beta",
                                                                    "standard_error"])
    ok = (store["error_code"].to_numpy() == 0) & np.isfinite(store["beta"].to_numpy()) & \
        np.isfinite(store["standard_error"].to_numpy())
    expected = {(cohort.variants["contig"][v], int(cohort.variants["position"][v]))
                for v in range(len(mac)) if mac[v] / 2 >= 8 and ok[v]}
    got = set(zip(table["chromosome"], table["base_pair_location"].astype(int)))
    assert got == expected
    assert len(expected) < len(mac) - 15  # the rare variants really were withheld
    # every count in the release is protected
    index = {(cohort.variants["contig"][v], int(cohort.variants["position"][v])): v for v in range(len(mac))}
    rows = [index[k] for k in zip(table["chromosome"], table["base_pair_location"].astype(int))]
    assert table["n"].tolist() == [reference_count(n_tested)] * len(table)
    want_ac = [reference_count(float(ac[v])) for v in rows]
    got_ac = [None if np.isnan(v) else int(v) for v in table["allele_count"].astype(float)]
    assert got_ac == want_ac
    # the frequency carries the rounded counts only: rounded ALT count / (2 x rounded called samples)
    called = np.isfinite(cohort.dosage[:, np.isfinite(cohort.traits[trait])]).sum(axis=1)
    want_af = [reference_count(float(ac[v])) / (2 * reference_count(int(called[v]))) for v in rows]
    assert table["effect_allele_frequency"].tolist() == want_af
    y = cohort.traits[trait]
    meta = yaml.safe_load((out / "gwas-ssf" / f"{stem}.tsv.gz-meta.yaml").read_text())
    sample = meta["samples"][0]
    assert sample["sample_size"] == reference_count(int(np.isfinite(y).sum()))
    if trait in ("250.2", "411.2"):
        assert sample["case_count"] == reference_count(int((y == 1).sum()))
        # controls: published n - published cases (never rounded on their own)
        controls = reference_count(int(np.isfinite(y).sum())) - reference_count(int((y == 1).sum()))
        assert sample["control_count"] == controls
        assert table["n_cases"].tolist() == [reference_count(int((y == 1).sum()))] * len(table)
        assert table["n_controls"].tolist() == [controls] * len(table)


def test_withheld_traits_and_report(published):
    out, _ = published
    report = json.loads((out / "disclosure" / "disclosure.json").read_text())
    assert report["traits_published"] == ["ldl", "bmi", "250.2", "411.2"]
    assert {t["trait"]: t["reason"] for t in report["traits_withheld"]} == {
        "rare_disease": "fewer than 20 cases",
        "skipped trait": "not tested by the scan (fewer than 50 cases or controls)"}
    assert not list(out.rglob("rare_disease*")) and not list(out.rglob("skipped*"))
    # withheld variants are counted by reason, never named (no list of them in disclosure/)
    assert report["variants_withheld"]["ldl"]["all formats: not tested (MONOMORPHIC)"] == 1
    assert report["variants_withheld"]["ldl"]["gwas-ssf: allele is not a nucleotide sequence (GWAS-SSF)"] == 1
    assert sorted(p.name for p in (out / "disclosure").iterdir()) == ["disclosure.json", "withheld_traits.tsv"]
    # a withheld trait publishes no count: not n, not cases, not controls
    summary = json.loads((out / "publish.json").read_text())
    for t in summary["traits"]:
        assert (t["withheld"] is None) == ("n" in t), t
    # the rules applied, with their parameters, for an output checker
    applied = {r["rule"]: r["parameters"] for r in report["rules_applied"]}
    assert applied["counts rounded"]["round_to"] == 5
    assert applied["small counts suppressed"]["suppress_at_or_below"] == 7
    assert applied["allele frequency from rounded counts"]["formula"].startswith("rounded ALT allele count")
    assert applied["INFO rounded"] == {"decimals": 3} and applied["secondary suppression"]["suppressed"] == [
        "cases", "controls"]


def test_configurable_thresholds(cohort, tmp_path):
    rules = DisclosureRules(suppress_at_or_below=10, round_to=10, min_carriers=50, min_trait_cases=250)
    publish(cohort.root, tmp_path / "out", PublishOptions(rules=rules, formats=("parquet",), plots=False,
                                                          date="2026-01-02"))
    summary = json.loads((tmp_path / "out" / "publish.json").read_text())
    status = {t["name"]: t["withheld"] for t in summary["traits"]}
    assert status["250.2"] == "fewer than 250 cases" and status["411.2"] == "fewer than 250 cases"
    table = pq.read_table(tmp_path / "out" / "parquet" / "ldl.parquet").to_pandas()
    mac, ac, n = _reference_mac(cohort, "ldl")
    assert (table["allele_count"].dropna() % 10 == 0).all()
    assert len(table) == sum(1 for v in range(len(mac)) if mac[v] / 2 >= 50 and v != 7)
