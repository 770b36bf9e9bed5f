"""Sib-ships, polygenic background and stratification in the simulator (`--family-fraction`,
`--family-size`, `--polygenic-h2`, `--stratification`): the defaults leave existing cohorts
unchanged, siblings share half their genome, the background explains about `polygenic_h2` of each
genetic trait's variance and never touches the null traits, and bad values are refused."""

import hashlib

import numpy as np
import pandas as pd
import pytest

from hubscan.cli import main
from hubscan.errors import ConfigError
from hubscan.simulate.cohort import CohortSpec, simulate_samples
from hubscan.simulate.genotypes import genotype_block, true_dosages, variant_table
from hubscan.simulate.traits import TRAITS, plant_traits, polygenic_scores

#: sha256 of block 0 of chromosomes 21, 22, X (haplotypes then missing calls) of PINNED, computed
#: with the simulator before sib-ships existed (commit 5957dbc):
#:   git archive 5957dbc hubscan | tar -x -C /tmp/old && PYTHONPATH=/tmp/old python -c "<_digest's body>"
PINNED = dict(n_samples=200, n_variants=1500, chromosomes=("21", "22", "X"), related_fraction=0.3, seed=9)
PINNED_DIGEST = "99be55a3f429411f69808ae7d4330453ce5e87190f0d56b8af77e36e6e0684c0"

FAMILIES = dict(n_samples=800, n_variants=3000, chromosomes=("20", "21", "22", "X"), n_populations=4, fst=0.1,
                related_fraction=0.1, family_fraction=0.5, family_size=4, polygenic_h2=0.4, stratification=0.5,
                seed=3)


def _digest(spec: CohortSpec) -> str:
    samples = simulate_samples(spec)
    h = hashlib.sha256()
    for chrom in spec.chromosomes:
        block = genotype_block(spec, samples, chrom, 0)
        for a in (block.haplotypes, block.missing):
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def test_defaults_leave_existing_cohorts_unchanged():
    spec = CohortSpec(**PINNED)
    assert _digest(spec) == PINNED_DIGEST
    assert set(spec.to_dict()) == {"n_samples", "n_variants", "chromosomes", "n_populations", "fst",
                                   "related_fraction", "missing_rate", "imputed_fraction", "seed"}
    assert simulate_samples(spec).families.shape[0] == 0
    assert plant_traits(spec, simulate_samples(spec)).polygenic is None
    assert CohortSpec(**PINNED, family_fraction=0.2).to_dict()["family_fraction"] == 0.2


def test_sib_ships_share_half_their_genome():
    spec = CohortSpec(**FAMILIES)
    samples = simulate_samples(spec)
    assert samples.families.shape == (100, 4)                       # round(0.5 * 800 / 4)
    assert not np.intersect1d(samples.families, samples.pairs).size
    assert (samples.population[samples.families] == samples.population[samples.families[:, :1]]).all()
    # the pairs are those of the same cohort without sib-ships
    plain = simulate_samples(CohortSpec(**{**FAMILIES, "family_fraction": 0.0}))
    assert (plain.pairs == samples.pairs).all() and (plain.sex == samples.sex).all()

    table = variant_table(spec)
    auto = np.flatnonzero((table.chrom != "X") & table.alt_freq.between(0.05, 0.95))
    d = true_dosages(spec, samples, auto)
    # genetic relatedness within each population (Fst would add ~0.1 to every pair of a population)
    d = d - np.stack([d[samples.population == k].mean(0) for k in samples.population])
    d /= d.std(0)
    grm = d @ d.T / d.shape[1]
    fam = samples.families
    sib = np.array([grm[a, b] for f in fam for i, a in enumerate(f) for b in f[i + 1:]])
    assert abs(sib.mean() - 0.5) < 0.05, sib.mean()                 # 2 x kinship 1/4
    assert (sib > 0.15).mean() > 0.95                               # IBD sharing varies a lot on 3 autosomes
    outside = np.setdiff1d(np.arange(spec.n_samples), np.concatenate([fam.ravel(), samples.pairs.ravel()]))
    assert abs(grm[np.ix_(outside[:40], outside[40:80])].mean()) < 0.02

    # X: a male sib carries one X, his mother's; sisters share their father's X everywhere
    x = genotype_block(spec, samples, "X", 0).haplotypes
    males = samples.sex == 1
    assert (x[:, males, 1] == 0).all()
    for f in fam:
        girls = f[samples.sex[f] == 2]
        if len(girls) >= 2:
            assert (x[:, girls[0], 1] == x[:, girls[1], 1]).all()


def test_polygenic_background_and_stratification():
    spec = CohortSpec(**FAMILIES)
    samples = simulate_samples(spec)
    planted = plant_traits(spec, samples)
    background = planted.polygenic
    genetic = [t.name for t in TRAITS if t.n_causal]
    assert list(background.columns) == ["variant_index", "variant_id", "alt_frequency",
                                        *[f"beta_{t}" for t in genetic]]
    assert not set(background.variant_index) & set(planted.causal.variant_index)
    assert set(variant_table(spec).chrom[background.variant_index]) == {"20", "21", "22"}
    eligible = (variant_table(spec).chrom != "X").sum()
    assert 0.4 < len(background) / eligible < 0.6                  # about half of the autosomal variants
    scores = polygenic_scores(spec, samples, background)
    within = {t: np.mean([s[samples.population == k].var() for k in range(4)]) for t, s in scores.items()}
    for t in genetic:                                               # explains about polygenic_h2 (sampling sd ~0.05)
        assert 0.25 < within[t] < 0.6, (t, within[t])
    # the null traits are untouched by the background; the genetic traits are not
    plain = plant_traits(CohortSpec(**{**FAMILIES, "polygenic_h2": 0.0}), samples)
    for trait in TRAITS:
        same = np.array_equal(plain.values[trait.name], planted.values[trait.name])
        assert same == (trait.n_causal == 0), trait.name
    # stratification replaces each trait's population-shift SD (0.1 for ldl): the values differ from
    # the default's by (0.5 - 0.1) x the population's shift, the same for everyone in a population
    mild = plant_traits(CohortSpec(**{**FAMILIES, "stratification": None}), samples)
    diff = (planted.values["ldl"] - mild.values["ldl"]) / 0.9            # ldl's sd, mmol/L
    pop = planted.population
    shifts = np.array([diff[pop == k].mean() for k in range(4)]) / 0.4
    assert np.allclose(diff, 0.4 * shifts[pop], atol=1e-9)
    assert 0.2 < np.std(shifts) < 3                                     # N(0, 1) draws, one per population


def test_truth_file_and_command_line(tmp_path):
    out = tmp_path / "cohort"
    assert main(["simulate", "--out", str(out), "--samples", "120", "--variants", "600", "--chromosomes", "21-22",
                 "--family-fraction", "0.4", "--family-size", "3", "--polygenic-h2", "0.3",
                 "--stratification", "0.4", "--seed", "2"]) == 0
    effects = pd.read_csv(out / "truth" / "polygenic_effects.tsv", sep="\t")
    assert len(effects) > 100 and "beta_ldl" in effects and "beta_creatinine" not in effects
    import json
    cohort = json.loads((out / "manifest.json").read_text())["cohort"]
    assert (cohort["family_fraction"], cohort["family_size"], cohort["polygenic_h2"], cohort["stratification"]) == \
        (0.4, 3, 0.3, 0.4)
    assert "truth/polygenic_effects.tsv" in json.loads((out / "manifest.json").read_text())["files"]


@pytest.mark.parametrize("settings, message", [
    (dict(family_fraction=1.5), r"family_fraction must be in \[0, 1\]"),
    (dict(family_size=1), "family_size must be >= 2"),
    (dict(family_size=21), "family_size must be <= 20"),
    (dict(polygenic_h2=1.0), r"polygenic_h2 must be in \[0, 1\)"),
    (dict(stratification=-0.1), "stratification must be in"),
])
def test_bad_settings(settings, message):
    with pytest.raises(ConfigError, match=message):
        CohortSpec(**{**PINNED, **settings})


def test_background_too_large_for_a_trait():
    spec = CohortSpec(**{**FAMILIES, "n_samples": 100, "family_fraction": 0.0, "polygenic_h2": 0.97})
    with pytest.raises(ConfigError, match="polygenic_h2: ldl would be more than fully heritable"):
        plant_traits(spec, simulate_samples(spec))


def test_bad_option_on_the_command_line_writes_nothing(tmp_path, capsys):
    out = tmp_path / "cohort"
    assert main(["simulate", "--out", str(out), "--samples", "50", "--variants", "200", "--polygenic-h2", "1.2"]) == 2
    assert "polygenic_h2 must be in [0, 1), got 1.2" in capsys.readouterr().err
    assert not out.exists()
