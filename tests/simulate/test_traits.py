"""Planted truth: the causal table agrees with the genotype files' variants, and the planted effects
(genetic, sex, population) are really in the simulated values, checked with plain NumPy least squares
on the true dosages. Tolerances are 4 standard errors of the estimate unless stated."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubscan.errors import ConfigError
from hubscan.simulate.cohort import FEMALE, MALE, CohortSpec, simulate_samples
from hubscan.simulate.genotypes import true_dosages, variant_table
from hubscan.simulate.traits import (DISEASE, QUANTITATIVE, TRAITS, Trait, check_traits, plant_traits,
                                     trait_by_name, write_truth)

SPEC = CohortSpec(n_samples=4000, n_variants=3000, chromosomes=("20", "21", "22"), seed=23)


@pytest.fixture(scope="module")
def planted():
    samples = simulate_samples(SPEC)
    planted = plant_traits(SPEC, samples, ungenotyped_fraction=0.1)
    dosages = true_dosages(SPEC, samples, planted.causal["variant_index"].to_numpy())
    return samples, planted, dosages


def ols(y, *columns):
    """Coefficients and standard errors of y on an intercept and ``columns`` (plain NumPy)."""
    design = np.column_stack([np.ones(len(y)), *columns])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    sigma2 = resid @ resid / (len(y) - design.shape[1])
    se = np.sqrt(sigma2 * np.diag(np.linalg.inv(design.T @ design)))
    return coef, se, np.sqrt(sigma2)


def population_dummies(population, n_populations):
    return [(population == k).astype(float) for k in range(1, n_populations)]


def test_same_seed_same_truth_other_seed_other_truth(planted):
    samples, first, _ = planted
    again = plant_traits(SPEC, samples, ungenotyped_fraction=0.1)
    pd.testing.assert_frame_equal(first.causal, again.causal)
    for name in first.values:
        np.testing.assert_array_equal(first.values[name], again.values[name])
    other = dataclasses.replace(SPEC, seed=24)
    moved = plant_traits(other, simulate_samples(other))
    assert moved.causal["variant_id"].tolist() != first.causal["variant_id"].tolist()
    assert not np.array_equal(moved.values["ldl"], first.values["ldl"])


def test_causal_table_uses_the_genotype_files_variants(planted):
    _, planted, _ = planted
    causal = planted.causal
    table = variant_table(SPEC).iloc[causal["variant_index"]].reset_index(drop=True)
    for ours, theirs in [("variant_id", "variant_id"), ("chrom", "chrom"), ("pos", "pos"), ("ref", "ref"),
                         ("alt", "alt"), ("effect_allele", "alt"), ("alt_frequency", "alt_freq")]:
        assert causal[ours].tolist() == table[theirs].tolist(), ours
    assert not table["imputed"].any() and causal["variant_index"].is_unique
    for _, row in causal.iterrows():
        trait = trait_by_name(row["trait"])
        p = row["alt_frequency"]
        assert abs(row["beta"]) == pytest.approx(np.sqrt(trait.q2 / (2 * p * (1 - p))), rel=1e-12)
        if trait.kind == QUANTITATIVE:
            assert row["beta_units"] == pytest.approx(row["beta"] * trait.sd, rel=1e-12)
        else:
            assert np.isnan(row["beta_units"])
    counts = causal["trait"].value_counts()
    assert {t.name: t.n_causal for t in TRAITS if t.n_causal} == counts.to_dict()
    assert (causal["beta"] > 0).any() and (causal["beta"] < 0).any()


@pytest.mark.parametrize("name", [t.name for t in TRAITS if t.kind == QUANTITATIVE])
def test_quantitative_trait_carries_its_planted_effects(planted, name):
    """Regress the planted value on its causal dosages, sex and population: each ALT effect (trait
    units) and the male shift within 4 SE; residual SD = sd * sqrt(1 - n_causal q2) within 4 SE
    (SE of a sample SD ~ SD / sqrt(2n))."""
    samples, planted, dosages = planted
    trait = trait_by_name(name)
    rows = planted.causal["trait"] == name
    y = planted.values[name][: samples.n]
    male = (samples.sex == MALE).astype(float)
    coef, se, resid_sd = ols(y, *dosages[:, rows.to_numpy()].T, male,
                             *population_dummies(samples.population, SPEC.n_populations))
    k = int(rows.sum())
    for j, beta in enumerate(planted.causal.loc[rows, "beta_units"]):
        assert abs(coef[1 + j] - beta) < 4 * se[1 + j], (j, coef[1 + j], beta, se[1 + j])
        assert abs(coef[1 + j]) > 3 * se[1 + j]  # detectable at this size
    assert abs(coef[1 + k] - trait.sex_shift * trait.sd) < 4 * se[1 + k]
    expected_sd = trait.sd * np.sqrt(1 - trait.n_causal * trait.q2)
    assert abs(resid_sd - expected_sd) < 4 * expected_sd / np.sqrt(2 * samples.n)
    # A realistic scale: the population mean lies within 0.5 SD of the documented mean.
    assert abs(y.mean() - trait.mean) < 0.5 * trait.sd


def test_population_shifts_are_mild(planted):
    """Stratification: population means differ (|shift| ~ 0.1 SD), far less than the trait SD."""
    samples, planted, _ = planted
    for trait in (t for t in TRAITS if t.kind == QUANTITATIVE):
        means = [planted.values[trait.name][: samples.n][samples.population == k].mean()
                 for k in range(SPEC.n_populations)]
        assert np.ptp(means) < 0.6 * trait.sd, trait.name


@pytest.mark.parametrize("name", [t.name for t in TRAITS if t.kind == DISEASE and t.n_causal])
def test_disease_liability_and_status_carry_the_planted_effects(planted, name):
    """The liability regresses on the causal dosages with the planted beta (liability SD per ALT
    allele) within 4 SE; status is exactly liability > threshold with the documented prevalence in
    the eligible sex; and cases carry more (beta > 0) or fewer (beta < 0) effect alleles than
    controls by beta Var(x) / Var(L) (E[L | case] - E[L | control]) within a population (the
    linear approximation of E[x | L] for a small effect), within 4 SE of the observed difference."""
    samples, planted, dosages = planted
    trait = trait_by_name(name)
    n = samples.n
    eligible = (samples.sex == trait.sex) if trait.sex else np.ones(n, dtype=bool)
    rows = (planted.causal["trait"] == name).to_numpy()
    liability = planted.values[name][:n][eligible]
    x = dosages[:, rows][eligible]
    covariates = [*x.T, *population_dummies(samples.population[eligible], SPEC.n_populations)]
    if not trait.sex:
        covariates.append((samples.sex[eligible] == MALE).astype(float))
    if trait.bmi_effect:
        covariates.append(planted.values["bmi"][:n][eligible])
    coef, se, _ = ols(liability, *covariates)
    betas = planted.causal.loc[rows, "beta"].to_numpy()
    for j, beta in enumerate(betas):
        assert abs(coef[1 + j] - beta) < 4 * se[1 + j], (j, coef[1 + j], beta, se[1 + j])

    all_eligible = (planted.sex == trait.sex) if trait.sex else np.ones(planted.n_people, dtype=bool)
    cases_all = planted.cases[name]
    assert not cases_all[~all_eligible].any()
    assert abs(int(cases_all.sum()) - trait.prevalence * all_eligible.sum()) <= 1
    threshold = planted.values[name][cases_all].min()
    np.testing.assert_array_equal(cases_all, all_eligible & (planted.values[name] >= threshold))

    case = cases_all[:n][eligible]
    population = samples.population[eligible]
    for j, beta in enumerate(betas):
        observed, expected, variance, weight = 0.0, 0.0, 0.0, 0
        for k in range(SPEC.n_populations):
            in_k = population == k
            xk, lk, ck = x[in_k, j], liability[in_k], case[in_k]
            m = int(in_k.sum())
            d_obs = xk[ck].mean() - xk[~ck].mean()
            d_exp = beta * xk.var() / lk.var() * (lk[ck].mean() - lk[~ck].mean())
            observed += m * d_obs
            expected += m * d_exp
            variance += m * m * xk.var() * (1 / ck.sum() + 1 / (~ck).sum())
            weight += m
        observed, expected, se_diff = observed / weight, expected / weight, np.sqrt(variance) / weight
        assert abs(observed - expected) < 4 * se_diff, (j, observed, expected, se_diff)
        assert np.sign(observed) == np.sign(beta)


def test_null_traits_have_no_genetic_effect(planted):
    """Null traits have no causal variants, and no causal variant of another trait is associated
    with them (|t| < 4.5 for every pair: about 60 tests, each false with probability 7e-6)."""
    samples, planted, dosages = planted
    nulls = [t.name for t in TRAITS if t.n_causal == 0]
    assert set(nulls) == {"creatinine", "appendicitis", "cataract"}
    assert not planted.causal["trait"].isin(nulls).any()
    for name in nulls:
        y = planted.values[name][: samples.n]
        for j in range(dosages.shape[1]):
            coef, se, _ = ols(y, dosages[:, j], *population_dummies(samples.population, SPEC.n_populations))
            assert abs(coef[1] / se[1]) < 4.5, (name, j)


def test_people_without_genotypes(planted):
    """round(0.1 N) extra people, sample index -1, traits drawn from the same distribution: sex
    share within 4 SE of 1/2, LDL mean within 4 SE and LDL variance within 4 SE of log variance
    (SE of a log sample variance ~ sqrt(2/n))."""
    samples, planted, _ = planted
    extra = planted.sample_index < 0
    assert extra.sum() == 400 and (planted.sample_index[~extra] == np.arange(samples.n)).all()
    assert (planted.sample_index[:samples.n] >= 0).all()  # genotyped first, in sample order
    assert abs((planted.sex[extra] == MALE).mean() - 0.5) < 4 * np.sqrt(0.25 / 400)
    a, b = planted.values["ldl"][~extra], planted.values["ldl"][extra]
    assert abs(a.mean() - b.mean()) < 4 * np.sqrt(a.var() / len(a) + b.var() / len(b))
    assert abs(np.log(a.var() / b.var())) < 4 * np.sqrt(2 / len(a) + 2 / len(b))
    assert planted.cases["asthma"][extra].any()


def test_write_truth(planted, tmp_path):
    samples, planted, _ = planted
    paths = write_truth(planted, tmp_path, sample_ids=samples.ids)
    assert paths["causal_variants"] == tmp_path / "truth" / "causal_variants.tsv"
    causal = pd.read_csv(paths["causal_variants"], sep="\t")
    assert list(causal.columns) == ["trait", "variant_index", "variant_id", "chrom", "pos", "ref", "alt",
                                    "effect_allele", "beta", "beta_units", "alt_frequency"]
    assert causal["variant_id"].tolist() == planted.causal["variant_id"].tolist()
    np.testing.assert_allclose(causal["beta"], planted.causal["beta"], rtol=1e-5)  # written with 6 digits
    traits = pd.read_csv(paths["traits"], sep="\t")
    assert traits["sample_id"].tolist() == samples.ids.tolist()
    np.testing.assert_allclose(traits["ldl"], planted.values["ldl"][: samples.n], atol=5e-5)
    assert traits.loc[samples.sex == FEMALE, "prostate_cancer"].isna().all()
    assert traits.loc[samples.sex == MALE, "endometriosis"].isna().all()
    assert (traits.loc[samples.sex == MALE, "prostate_cancer"] == planted.cases["prostate_cancer"][
        : samples.n][samples.sex == MALE]).all()
    assert not list(tmp_path.rglob("*.tmp-*"))
    with pytest.raises(ConfigError, match="3 sample ids for 4000 genotyped people"):
        write_truth(planted, tmp_path, sample_ids=samples.ids[:3])


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32), n=st.integers(60, 300), fraction=st.sampled_from([0.0, 0.25, 1.5]))
def test_invariants_hold_for_any_cohort(seed, n, fraction):
    spec = CohortSpec(n_samples=n, n_variants=600, chromosomes=("21", "22"), seed=seed)
    samples = simulate_samples(spec)
    planted = plant_traits(spec, samples, ungenotyped_fraction=fraction)
    assert planted.n_people == n + int(round(fraction * n))
    for trait in TRAITS:
        assert np.isfinite(planted.values[trait.name]).all()
        if trait.kind == DISEASE:
            eligible = (planted.sex == trait.sex) if trait.sex else np.ones(planted.n_people, dtype=bool)
            cases = planted.cases[trait.name]
            assert not cases[~eligible].any()
            assert abs(int(cases.sum()) - trait.prevalence * eligible.sum()) <= 1


@pytest.mark.parametrize("change, message", [
    (dict(kind="binary"), "kind must be 'quantitative' or 'disease'"),
    (dict(n_causal=-1), "n_causal must be an integer >= 0"),
    (dict(q2=0.3, n_causal=4), r"q2 must be >= 0 with n_causal \* q2 < 1"),
    (dict(prevalence=0.0), r"prevalence must be in \(0, 1\)"),
    (dict(prevalence=1.0), r"prevalence must be in \(0, 1\)"),
    (dict(icd10=()), "a disease needs at least one ICD-10 code"),
    (dict(sex=3), "sex must be 0"),
    (dict(stratification=-0.1), "stratification must be >= 0"),
])
def test_bad_disease_settings(change, message):
    base = dict(name="gout", kind=DISEASE, n_causal=1, prevalence=0.02, icd10=("M10.9",))
    with pytest.raises(ConfigError, match=f"simulated trait 'gout': {message}"):
        Trait(**{**base, **change})


def test_bad_trait_sets_and_samples():
    with pytest.raises(ConfigError, match="needs a LOINC code and a unit"):
        Trait("urate", QUANTITATIVE, n_causal=1)
    with pytest.raises(ConfigError, match="sd must be > 0"):
        Trait("urate", QUANTITATIVE, n_causal=1, loinc="3084-1", unit="umol/L", sd=0.0)
    with pytest.raises(ConfigError, match="names repeated: asthma"):
        check_traits(TRAITS + (trait_by_name("asthma"),))
    t2d = trait_by_name("type_2_diabetes")
    with pytest.raises(ConfigError, match="bmi_effect needs a quantitative trait 'bmi' listed before it"):
        check_traits((t2d, trait_by_name("bmi")))
    small = CohortSpec(n_samples=50, n_variants=600, chromosomes=("22",), seed=1)
    other = dataclasses.replace(small, n_samples=60)
    with pytest.raises(ConfigError, match=r"samples \(60\) are not those of the cohort spec"):
        plant_traits(small, simulate_samples(other))
    with pytest.raises(ConfigError, match=r"ungenotyped fraction must be in \[0, 10\]"):
        plant_traits(small, simulate_samples(small), ungenotyped_fraction=float("nan"))
