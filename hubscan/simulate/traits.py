"""Planted truth: causal variants, quantitative traits and disease liabilities of a simulated cohort.

Model (every trait on a standardised scale first, then to its units):

* **Causal variants.** Each genetic trait has ``n_causal`` causal SNVs, drawn without replacement
  among autosomal, genotyped (not imputed) variants with ancestral ALT frequency p in [0.1, 0.9],
  different for every trait. The effect allele is **ALT**; variant j explains ``q2`` of the trait's
  variance: beta_j = ±sqrt(q2 / (2 p_j (1 - p_j))) standardised units per ALT allele.
* **Trait.** z = sum_j beta_j (x_j - 2 p_j) + population shift + sex shift + noise, where x_j is the
  true ALT dosage (:func:`hubscan.simulate.genotypes.true_dosages`), the population shift is
  ``stratification`` × a fixed N(0,1) draw per population and trait (mild confounding that PCs
  remove), and the noise is N(0, 1 - sum q2). People without genotypes get the genetic part as a
  normal draw with the same variance.
* **Quantitative traits** are reported as ``mean + sd * z`` in their units (measurements).
* **Diseases** follow the liability-threshold model: a case when z exceeds the standard normal
  quantile of 1 - prevalence (sex-specific diseases only in that sex; T2D liability also rises with
  BMI). Cases get ICD-10 codes in their records (:mod:`hubscan.simulate.records`).
* **Null traits** (``n_causal`` 0) carry no genetic effect: tests and demos check their scans stay null.
* **Polygenic background** (``spec.polygenic_h2`` > 0): a random half of the autosomal variants with
  ancestral ALT frequency in [0.01, 0.99] that are not causal carry small effects on every genetic
  trait (``n_causal`` > 0), beta_jt ~ N(0, polygenic_h2 / (M 2 p_j (1 - p_j))) for M such variants,
  so that they explain about ``polygenic_h2`` of each trait's variance (the noise shrinks to
  1 - sum q2 - polygenic_h2). The other half stay null. Written to ``truth/polygenic_effects.tsv``.
  Relatives share it and the populations' frequencies drift it: with families and structure it is
  what whole-genome regression (``hubscan wgr``) absorbs.
* **Stratification**: ``spec.stratification``, when set, replaces every trait's population-shift SD.

Random streams: causal choice ``(seed, 1000)``, effects ``(seed, 1001)``, population shifts
``(seed, 1002)``, per-person noise ``(seed, 1003)``, people without genotypes ``(seed, 1004)``,
polygenic variants ``(seed, 1005)`` and their effects ``(seed, 1006)``
(:class:`numpy.random.SeedSequence` spawn keys; the genotype streams use keys 0-23).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hubscan.errors import ConfigError
from hubscan.files import atomic_file
from hubscan.simulate.cohort import FEMALE, MALE, CohortSpec, Samples

QUANTITATIVE, DISEASE = "quantitative", "disease"
_CAUSAL, _EFFECTS, _SHIFTS, _NOISE, _UNGENOTYPED = 1000, 1001, 1002, 1003, 1004
_POLYGENIC, _POLYGENIC_EFFECTS = 1005, 1006


@dataclass(frozen=True)
class Trait:
    """One simulated trait.

    name: short identifier. kind: "quantitative" or "disease". n_causal: causal variants (0: null).
    q2: variance of the standardised trait explained by each causal variant.
    sex_shift: added to z for males (standardised units). stratification: SD of the population shifts.
    Quantitative: loinc (LOINC code of the measurement), unit, mean, sd (in unit), digits reported,
    minimum (the lowest result reported, e.g. the assay's lower reporting limit: lower results are
    reported as it; the planted value itself is not limited).
    Disease: prevalence in [0, 1] (within ``sex`` when set), icd10 (dotted WHO ICD-10 codes that
    record it), sex (1 male / 2 female / 0 both), bmi_effect (liability per SD of BMI).
    """

    name: str
    kind: str
    n_causal: int
    q2: float = 0.01
    sex_shift: float = 0.0
    stratification: float = 0.1
    loinc: str = ""
    unit: str = ""
    mean: float = 0.0
    sd: float = 1.0
    digits: int = 1
    minimum: float = 0.0
    prevalence: float = 0.0
    icd10: tuple[str, ...] = ()
    sex: int = 0
    bmi_effect: float = 0.0

    def __post_init__(self) -> None:
        def bad(message: str) -> ConfigError:
            return ConfigError(f"simulated trait {self.name!r}: {message}")

        if self.kind not in (QUANTITATIVE, DISEASE):
            raise bad(f"kind must be {QUANTITATIVE!r} or {DISEASE!r}, got {self.kind!r}")
        if isinstance(self.n_causal, bool) or not isinstance(self.n_causal, int) or self.n_causal < 0:
            raise bad(f"n_causal must be an integer >= 0, got {self.n_causal!r}")
        if not (np.isfinite(self.q2) and self.q2 >= 0 and self.q2 * self.n_causal < 1):
            raise bad(f"q2 must be >= 0 with n_causal * q2 < 1 (the heritability), got q2={self.q2}, "
                      f"n_causal={self.n_causal}")
        if not (np.isfinite(self.stratification) and self.stratification >= 0):
            raise bad(f"stratification must be >= 0, got {self.stratification}")
        if self.sex not in (0, MALE, FEMALE):
            raise bad(f"sex must be 0 (both), {MALE} (male) or {FEMALE} (female), got {self.sex!r}")
        if self.kind == QUANTITATIVE:
            if not (self.loinc and self.unit):
                raise bad("a quantitative trait needs a LOINC code and a unit")
            if not (np.isfinite(self.sd) and self.sd > 0):
                raise bad(f"sd must be > 0, got {self.sd}")
        else:
            if not 0 < self.prevalence < 1:
                raise bad(f"prevalence must be in (0, 1), got {self.prevalence}")
            if not self.icd10:
                raise bad("a disease needs at least one ICD-10 code")


#: The traits every simulated cohort carries.
TRAITS: tuple[Trait, ...] = (
    Trait("ldl", QUANTITATIVE, n_causal=3, q2=0.015, sex_shift=0.15, loinc="13457-7", unit="mmol/L",
          mean=3.2, sd=0.9, digits=2, minimum=0.1),
    Trait("hba1c", QUANTITATIVE, n_causal=2, q2=0.012, sex_shift=0.1, loinc="4548-4", unit="mmol/mol",
          mean=38.0, sd=6.0, digits=0, minimum=20.0),
    Trait("bmi", QUANTITATIVE, n_causal=2, q2=0.01, loinc="39156-5", unit="kg/m2", mean=27.0, sd=4.5, digits=1,
          minimum=12.0),
    Trait("creatinine", QUANTITATIVE, n_causal=0, sex_shift=0.8, loinc="2160-0", unit="umol/L",
          mean=75.0, sd=15.0, digits=0, minimum=20.0),
    Trait("type_2_diabetes", DISEASE, n_causal=2, q2=0.015, sex_shift=0.15, prevalence=0.10,
          icd10=("E11.9", "E11.6", "E11.5"), bmi_effect=0.3),
    Trait("coronary_artery_disease", DISEASE, n_causal=2, q2=0.015, sex_shift=0.4, prevalence=0.08,
          icd10=("I25.1", "I25.9", "I21.9")),
    Trait("asthma", DISEASE, n_causal=2, q2=0.015, prevalence=0.12, icd10=("J45.9", "J45.0")),
    Trait("prostate_cancer", DISEASE, n_causal=1, q2=0.02, prevalence=0.06, icd10=("C61",), sex=MALE),
    Trait("endometriosis", DISEASE, n_causal=1, q2=0.02, prevalence=0.08, icd10=("N80.0", "N80.9"), sex=FEMALE),
    Trait("appendicitis", DISEASE, n_causal=0, prevalence=0.05, icd10=("K35.8",)),
    Trait("cataract", DISEASE, n_causal=0, prevalence=0.06, icd10=("H25.9",)),
)

#: Minimum ancestral ALT frequency (and maximum 1 - this) of a causal variant.
CAUSAL_MIN_FREQ = 0.1
#: Minimum ancestral ALT frequency (and maximum 1 - this) of a polygenic-background variant, and
#: the share of the eligible variants that carry the background.
POLYGENIC_MIN_FREQ = 0.01
POLYGENIC_SHARE = 0.5


@dataclass(frozen=True)
class PlantedTraits:
    """The truth of a cohort, one row per person (genotyped samples first, in sample order, then the
    people without genotypes).

    sample_index: int64, row of the sample in the genotype files, -1 when not genotyped.
    sex: int8 (1 male, 2 female). population: int8.
    values: trait name -> float64 per person: quantitative traits in their units, diseases as the
    standardised liability. cases: disease name -> bool per person.
    causal: one row per causal variant (trait, variant_index, variant_id, chrom, pos, ref, alt,
    effect_allele, beta, alt_frequency); beta in standardised units (liability SD for diseases)
    and beta_units in the trait's units (quantitative traits) per ALT allele.
    polygenic: None without a polygenic background, else one row per background variant
    (variant_index, variant_id, alt_frequency, then beta_<trait> in standardised units per ALT
    allele for every genetic trait).
    """

    sample_index: np.ndarray
    sex: np.ndarray
    population: np.ndarray
    values: dict[str, np.ndarray]
    cases: dict[str, np.ndarray]
    causal: pd.DataFrame
    polygenic: pd.DataFrame | None = None

    @property
    def n_people(self) -> int:
        return len(self.sample_index)


def _rng(spec: CohortSpec, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(stream,)))


def choose_causal(spec: CohortSpec, traits: tuple[Trait, ...] = TRAITS) -> pd.DataFrame:
    """The causal variants of ``traits`` with their effects (see :class:`PlantedTraits`)."""
    from hubscan.simulate.genotypes import variant_table

    table = variant_table(spec)
    eligible = np.flatnonzero((table["chrom"] != "X").to_numpy() & ~table["imputed"].to_numpy()
                              & table["alt_freq"].between(CAUSAL_MIN_FREQ, 1 - CAUSAL_MIN_FREQ).to_numpy())
    wanted = sum(t.n_causal for t in traits)
    if len(eligible) < wanted:
        raise ConfigError(f"n_variants: the cohort has {len(eligible)} common genotyped autosomal variants, "
                          f"{wanted} are needed as causal variants; simulate more variants")
    chosen = np.sort(_rng(spec, _CAUSAL).choice(eligible, size=wanted, replace=False))
    chosen = _rng(spec, _CAUSAL + 10).permutation(chosen)  # spread traits along the genome
    signs = np.where(_rng(spec, _EFFECTS).random(wanted) < 0.5, -1.0, 1.0)
    rows, k = [], 0
    for trait in traits:
        for _ in range(trait.n_causal):
            v = table.iloc[chosen[k]]
            p = float(v["alt_freq"])
            beta = signs[k] * np.sqrt(trait.q2 / (2 * p * (1 - p)))
            rows.append({"trait": trait.name, "variant_index": int(chosen[k]), "variant_id": v["variant_id"],
                         "chrom": v["chrom"], "pos": int(v["pos"]), "ref": v["ref"], "alt": v["alt"],
                         "effect_allele": v["alt"], "beta": beta,
                         "beta_units": beta * trait.sd if trait.kind == QUANTITATIVE else np.nan,
                         "alt_frequency": p})
            k += 1
    return pd.DataFrame(rows, columns=["trait", "variant_index", "variant_id", "chrom", "pos", "ref", "alt",
                                       "effect_allele", "beta", "beta_units", "alt_frequency"])


def plant_traits(spec: CohortSpec, samples: Samples, ungenotyped_fraction: float = 0.1,
                 traits: tuple[Trait, ...] = TRAITS) -> PlantedTraits:
    """Trait values and case status of the samples and of ``round(ungenotyped_fraction * N)`` extra
    people without genotypes (a pure function of ``spec``).

    Only the generation blocks holding causal variants are regenerated
    (:func:`~hubscan.simulate.genotypes.true_dosages`, one block at a time: peak memory about
    35 bytes x N x 1000 plus 8 bytes x N x causal variants; 100,000 samples x 100,000 variants took
    68 s and 1.7 GB). ``samples`` must be ``simulate_samples(spec)``.
    """
    if not 0 <= ungenotyped_fraction <= 10:
        raise ConfigError(f"ungenotyped fraction must be in [0, 10], got {ungenotyped_fraction}")
    if samples.n != spec.n_samples:
        raise ConfigError(f"the samples ({samples.n}) are not those of the cohort spec "
                          f"({spec.n_samples} samples): pass simulate_samples(spec)")
    check_traits(traits)
    causal = choose_causal(spec, traits)
    n_extra = int(round(ungenotyped_fraction * samples.n))
    extra = _rng(spec, _UNGENOTYPED)
    sex = np.concatenate([samples.sex, np.where(extra.random(n_extra) < 0.5, MALE, FEMALE)]).astype(np.int8)
    population = np.concatenate([samples.population,
                                 extra.integers(0, spec.n_populations, n_extra)]).astype(np.int8)
    n = samples.n + n_extra
    dosages = _causal_dosages(spec, samples, causal)
    polygenic = choose_polygenic(spec, causal, traits)
    background = polygenic_scores(spec, samples, polygenic, traits) if polygenic is not None else {}
    shifts = _rng(spec, _SHIFTS).standard_normal((len(traits), spec.n_populations))
    noise_rng = _rng(spec, _NOISE)
    values: dict[str, np.ndarray] = {}
    cases: dict[str, np.ndarray] = {}
    for t, trait in enumerate(traits):
        rows = causal[causal["trait"] == trait.name]
        h2 = trait.q2 * trait.n_causal
        if trait.name in background and h2 + spec.polygenic_h2 >= 1:
            raise ConfigError(f"polygenic_h2: {trait.name} would be more than fully heritable "
                              f"({h2:g} from its causal variants + {spec.polygenic_h2:g})")
        genetic = np.empty(n)
        if len(rows):
            cols = [causal.index.get_loc(i) for i in rows.index]
            centred = dosages[:, cols] - 2 * rows["alt_frequency"].to_numpy()
            genetic[: samples.n] = centred @ rows["beta"].to_numpy()
        else:
            genetic[: samples.n] = 0.0
        if trait.name in background:
            genetic[: samples.n] += background[trait.name]
            h2 += spec.polygenic_h2
        genetic[samples.n:] = extra.standard_normal(n_extra) * np.sqrt(h2)
        stratification = trait.stratification if spec.stratification is None else spec.stratification
        z = (genetic + stratification * shifts[t, population] + trait.sex_shift * (sex == MALE)
             + noise_rng.standard_normal(n) * np.sqrt(1 - h2))
        if trait.kind == QUANTITATIVE:
            values[trait.name] = trait.mean + trait.sd * z
            continue
        if trait.bmi_effect:
            bmi = next(x for x in traits if x.name == "bmi")
            z = z + trait.bmi_effect * (values["bmi"] - bmi.mean) / bmi.sd
        values[trait.name] = z
        eligible = (sex == trait.sex) if trait.sex else np.ones(n, dtype=bool)
        threshold = np.quantile(z[eligible], 1 - trait.prevalence) if eligible.any() else np.inf
        cases[trait.name] = eligible & (z > threshold)
    sample_index = np.concatenate([np.arange(samples.n), np.full(n_extra, -1)]).astype(np.int64)
    return PlantedTraits(sample_index, sex, population, values, cases, causal, polygenic)


def choose_polygenic(spec: CohortSpec, causal: pd.DataFrame, traits: tuple[Trait, ...] = TRAITS) -> pd.DataFrame | None:
    """The polygenic-background variants and their effects (model in the module docstring), or None
    when ``spec.polygenic_h2`` is 0 or no trait is genetic."""
    from hubscan.simulate.genotypes import variant_table

    genetic = [t.name for t in traits if t.n_causal > 0]
    if spec.polygenic_h2 == 0 or not genetic:
        return None
    table = variant_table(spec)
    eligible = ((table["chrom"] != "X").to_numpy()
                & table["alt_freq"].between(POLYGENIC_MIN_FREQ, 1 - POLYGENIC_MIN_FREQ).to_numpy())
    eligible[causal["variant_index"].to_numpy()] = False
    eligible &= _rng(spec, _POLYGENIC).random(len(table)) < POLYGENIC_SHARE
    index = np.flatnonzero(eligible)
    if len(index) == 0:
        raise ConfigError("polygenic_h2: the cohort has no variant for a polygenic background; simulate more variants")
    p = table["alt_freq"].to_numpy()[index]
    scale = np.sqrt(spec.polygenic_h2 / (len(index) * 2 * p * (1 - p)))
    effects = _rng(spec, _POLYGENIC_EFFECTS).standard_normal((len(genetic), len(index))) * scale
    frame = pd.DataFrame({"variant_index": index, "variant_id": table["variant_id"].to_numpy()[index],
                          "alt_frequency": p})
    for name, beta in zip(genetic, effects):
        frame[f"beta_{name}"] = beta
    return frame


def polygenic_scores(spec: CohortSpec, samples: Samples, polygenic: pd.DataFrame,
                     traits: tuple[Trait, ...] = TRAITS) -> dict[str, np.ndarray]:
    """Trait name -> float64 (N,) polygenic background sum_j beta_j (x_j - 2 p_j) of the genotyped
    samples (true dosages), accumulated one generation block at a time (memory about 35 bytes x N x
    1000 plus 8 bytes x N x traits)."""
    from hubscan.simulate.genotypes import (BLOCK_VARIANTS, block_haplotypes, chromosome_offsets, meioses,
                                            variants_per_chromosome)

    names = [c.removeprefix("beta_") for c in polygenic.columns if c.startswith("beta_")]
    betas = polygenic[[f"beta_{name}" for name in names]].to_numpy()
    index = polygenic["variant_index"].to_numpy()
    centre = 2 * polygenic["alt_frequency"].to_numpy()
    score = np.zeros((samples.n, len(names)))
    offsets, counts = chromosome_offsets(spec), variants_per_chromosome(spec)
    for chrom in spec.chromosomes:
        start = offsets[chrom]
        local = index - start
        mine = np.flatnonzero((local >= 0) & (local < counts[chrom]))
        if not len(mine):
            continue
        meiosis = meioses(spec, samples, chrom)
        blocks = local[mine] // BLOCK_VARIANTS
        for b in np.unique(blocks):
            rows = mine[blocks == b]
            hap = block_haplotypes(spec, samples, chrom, int(b), meiosis)
            dos = hap[local[rows] - b * BLOCK_VARIANTS].sum(axis=2, dtype=np.float64)  # (k, N)
            score += (dos - centre[rows, None]).T @ betas[rows]
    return {name: score[:, i] for i, name in enumerate(names)}


def check_traits(traits: tuple[Trait, ...]) -> None:
    """Raise ConfigError unless trait names are unique and a ``bmi_effect`` has a quantitative
    trait named "bmi" listed before the disease."""
    names = [t.name for t in traits]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"simulated traits: names repeated: {', '.join(repeated)}")
    for i, trait in enumerate(traits):
        if trait.bmi_effect and not any(t.name == "bmi" and t.kind == QUANTITATIVE for t in traits[:i]):
            raise ConfigError(f"simulated trait {trait.name!r}: bmi_effect needs a quantitative trait "
                              f"'bmi' listed before it")


def _causal_dosages(spec: CohortSpec, samples: Samples, causal: pd.DataFrame) -> np.ndarray:
    from hubscan.simulate.genotypes import true_dosages

    if causal.empty:
        return np.empty((samples.n, 0))
    return true_dosages(spec, samples, causal["variant_index"].to_numpy())


def trait_by_name(name: str, traits: tuple[Trait, ...] = TRAITS) -> Trait:
    for trait in traits:
        if trait.name == name:
            return trait
    raise ConfigError(f"unknown simulated trait {name!r}; known: {', '.join(t.name for t in traits)}")


def write_truth(planted: PlantedTraits, out_dir, sample_ids=None, traits: tuple[Trait, ...] = TRAITS) -> dict[str, Path]:
    """Write ``truth/causal_variants.tsv`` and ``truth/traits.tsv`` under ``out_dir``.

    traits.tsv has one row per genotyped sample (``sample_id`` when ``sample_ids`` is given, else the
    sample index): the simulated value of every quantitative trait (in its units), the liability and
    0/1 status of every disease (status empty for the other sex of a sex-specific disease).
    """
    n_genotyped = int((planted.sample_index >= 0).sum())
    if sample_ids is not None and len(sample_ids) != n_genotyped:
        raise ConfigError(f"write_truth: {len(sample_ids)} sample ids for {n_genotyped} genotyped people")
    truth = Path(out_dir) / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    paths = {"causal_variants": truth / "causal_variants.tsv", "traits": truth / "traits.tsv"}
    with atomic_file(paths["causal_variants"]) as tmp:
        planted.causal.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    if planted.polygenic is not None:
        paths["polygenic_effects"] = truth / "polygenic_effects.tsv"
        with atomic_file(paths["polygenic_effects"]) as tmp:
            planted.polygenic.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    genotyped = planted.sample_index >= 0
    frame = {"sample_id": np.asarray(sample_ids) if sample_ids is not None else planted.sample_index[genotyped],
             "sex": planted.sex[genotyped]}
    for trait in traits:
        if trait.kind == QUANTITATIVE:
            frame[trait.name] = np.round(planted.values[trait.name][genotyped], 4)
        else:
            frame[f"{trait.name}_liability"] = np.round(planted.values[trait.name][genotyped], 4)
            status = planted.cases[trait.name][genotyped].astype(float)
            if trait.sex:
                status[planted.sex[genotyped] != trait.sex] = np.nan
            frame[trait.name] = pd.Series(status).astype("Int64")
    with atomic_file(paths["traits"]) as tmp:
        pd.DataFrame(frame).to_csv(tmp, sep="\t", index=False, na_rep="NA")
    return paths
