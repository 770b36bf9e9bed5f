"""The specification of a synthetic cohort and its samples.

A cohort is ``n_samples`` people from ``n_populations`` Balding–Nichols populations
(Balding & Nichols 1995, Genetica 96:3–12) that diverged from one ancestral population with
fixation index ``fst``. A share ``related_fraction`` of the samples belongs to a related pair
(half parent–offspring, half full siblings, both members of a pair from the same population);
everyone else is unrelated. Optionally (``family_fraction`` > 0) a further share of the samples
belongs to sib-ships of ``family_size`` full siblings (children of two unsampled founders of one
population, sharing transmitted haplotypes: kinship 1/4 between any two). Sex uses the PLINK coding
(1 male, 2 female).

Everything is a pure function of the :class:`CohortSpec` (including its ``seed``): the same
spec gives the same samples and, in :mod:`hubscan.simulate.genotypes`, the same genotypes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import numpy as np

from hubscan.errors import ConfigError

#: GRCh37 contig lengths (bp) of the chromosomes a cohort may use, in canonical order.
GRCH37_LENGTHS: dict[str, int] = {
    "1": 249250621, "2": 243199373, "3": 198022430, "4": 191154276, "5": 180915260,
    "6": 171115067, "7": 159138663, "8": 146364022, "9": 141213431, "10": 135534747,
    "11": 135006516, "12": 133851895, "13": 115169878, "14": 107349540, "15": 102531392,
    "16": 90354753, "17": 81195210, "18": 78077248, "19": 59128983, "20": 63025520,
    "21": 48129895, "22": 51304566, "X": 155270560,
}
#: A stable small integer per chromosome, used to derive its random streams from the seed.
CHROMOSOME_CODE: dict[str, int] = {name: i + 1 for i, name in enumerate(GRCH37_LENGTHS)}

PARENT_OFFSPRING = "parent-offspring"
FULL_SIBLING = "full-sibling"
MALE, FEMALE = 1, 2

#: Random stream for the samples (genotype streams use the chromosome code, >= 1); sib-ships use
#: the sub-stream (_SAMPLES_STREAM, _FAMILIES_STREAM) so the pairs are those of a cohort without them.
_SAMPLES_STREAM = 0
_FAMILIES_STREAM = 1


@dataclass(frozen=True)
class CohortSpec:
    """What to simulate. Invalid values raise :class:`~hubscan.errors.ConfigError` naming the field.

    n_samples: people (>= 2).
    n_variants: biallelic SNVs over all chromosomes, spread in proportion to GRCh37 length.
    chromosomes: GRCh37 names "1".."22" and "X" (males are haploid on X outside the PARs).
    n_populations: Balding–Nichols populations (>= 1).
    fst: fixation index F of every population against the ancestral one, in (0, 1).
    related_fraction: share of samples that are in a related pair, in [0, 1].
    missing_rate: share of genotyped (not imputed) calls set missing, in [0, 1).
    imputed_fraction: share of variants written as imputation-like dosages (GP/DS, INFO < 1), in [0, 1].
    seed: non-negative integer; the whole cohort is a pure function of the spec.
    family_fraction: share of samples in sib-ships of ``family_size`` full siblings (besides the
        related pairs; families take samples outside the pairs), in [0, 1].
    family_size: siblings per sib-ship, 2..20.
    polygenic_h2: variance of every genetic trait (standardised scale) explained by a polygenic
        background of many small effects on all autosomes, in [0, 1) (see
        :mod:`hubscan.simulate.traits`); null traits stay null.
    stratification: when set, the SD of the population shifts of every trait's mean (replacing each
        trait's own, mild, value): population structure confounded with the traits, >= 0.

    The last four settings are left out of :meth:`to_dict` at their defaults, so cohorts simulated
    without them keep their manifests and part fingerprints.
    """

    n_samples: int = 2000
    n_variants: int = 20000
    chromosomes: tuple[str, ...] = tuple(str(c) for c in range(1, 23))
    n_populations: int = 3
    fst: float = 0.05
    related_fraction: float = 0.02
    missing_rate: float = 0.005
    imputed_fraction: float = 0.2
    seed: int = 1
    family_fraction: float = 0.0
    family_size: int = 4
    polygenic_h2: float = 0.0
    stratification: float | None = None

    def __post_init__(self) -> None:
        # Accept lists (from YAML/JSON) but store a tuple of strings so the spec stays hashable.
        chroms = self.chromosomes
        if isinstance(chroms, str) or not hasattr(chroms, "__iter__"):
            raise ConfigError(f"chromosomes must be a list of chromosome names, got {chroms!r}")
        object.__setattr__(self, "chromosomes", tuple(str(c) for c in chroms))
        _check_int(self, "n_samples", minimum=2)
        _check_int(self, "n_variants", minimum=1)
        _check_int(self, "n_populations", minimum=1)
        _check_int(self, "seed", minimum=0)
        if not self.chromosomes:
            raise ConfigError("chromosomes must name at least one chromosome")
        for name in self.chromosomes:
            if name not in GRCH37_LENGTHS:
                raise ConfigError(f"chromosomes: unknown chromosome {name!r}; use GRCh37 names "
                                  f"{', '.join(GRCH37_LENGTHS)} (no 'chr' prefix)")
        if len(set(self.chromosomes)) != len(self.chromosomes):
            raise ConfigError(f"chromosomes: names repeated in {list(self.chromosomes)}")
        if self.n_variants < len(self.chromosomes):
            raise ConfigError(f"n_variants ({self.n_variants}) must be at least the number of chromosomes "
                              f"({len(self.chromosomes)})")
        _check_float(self, "fst", 0.0, 1.0, low_open=True, high_open=True)
        _check_float(self, "related_fraction", 0.0, 1.0)
        _check_float(self, "missing_rate", 0.0, 1.0, high_open=True)
        _check_float(self, "imputed_fraction", 0.0, 1.0)
        _check_float(self, "family_fraction", 0.0, 1.0)
        _check_int(self, "family_size", minimum=2)
        if self.family_size > MAX_FAMILY_SIZE:
            raise ConfigError(f"family_size must be <= {MAX_FAMILY_SIZE}, got {self.family_size}")
        _check_float(self, "polygenic_h2", 0.0, 1.0, high_open=True)
        if self.stratification is not None:
            _check_float(self, "stratification", 0.0, np.inf, high_open=True)

    def to_dict(self) -> dict:
        """JSON-friendly form (for manifests and part fingerprints)."""
        d = asdict(self)
        d["chromosomes"] = list(self.chromosomes)
        for name, default in _OPTIONAL_DEFAULTS.items():
            if d[name] == default:
                del d[name]
        return d

    @classmethod
    def from_dict(cls, values: dict) -> CohortSpec:
        """Build from a mapping, refusing unknown keys with a ConfigError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown cohort setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**values)


#: Settings added after the first cohorts: omitted from to_dict() at these defaults.
_OPTIONAL_DEFAULTS = {"family_fraction": 0.0, "family_size": 4, "polygenic_h2": 0.0, "stratification": None}
#: Largest sib-ship.
MAX_FAMILY_SIZE = 20


def _check_int(spec: CohortSpec, name: str, minimum: int) -> None:
    value = getattr(spec, name)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")


def _check_float(spec: CohortSpec, name: str, low: float, high: float,
                 low_open: bool = False, high_open: bool = False) -> None:
    value = getattr(spec, name)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    value = float(value)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if not np.isfinite(value) or too_low or too_high:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ConfigError(f"{name} must be in {interval}, got {value}")


@dataclass(frozen=True)
class Samples:
    """The people of a cohort (row i of every array is sample i, in file order).

    ids: str, "S000001"..., unique. population: int8 in 0..n_populations-1.
    sex: int8, 1 male / 2 female. pairs: int64 (k, 2) sample indices of related pairs; for a
    parent–offspring pair column 0 is the parent and column 1 the child. pair_kind: str per pair,
    "parent-offspring" or "full-sibling". No sample is in more than one pair.
    families: int64 (f, family_size) sample indices of the sib-ships (full siblings of two unsampled
    founders); empty by default; no sample is in both a pair and a family.
    """

    ids: np.ndarray
    population: np.ndarray
    sex: np.ndarray
    pairs: np.ndarray
    pair_kind: np.ndarray
    families: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))

    @property
    def n(self) -> int:
        return len(self.ids)


def sample_ids(n: int) -> np.ndarray:
    """The sample identifiers "S000001".."S{n:06d}" (wider when n needs more digits)."""
    width = max(6, len(str(n)))
    return np.array([f"S{i:0{width}d}" for i in range(1, n + 1)])


def simulate_samples(spec: CohortSpec) -> Samples:
    """Populations, sexes and related pairs of the cohort (a pure function of ``spec``).

    Populations are drawn with equal probabilities, sex 50:50. ``round(related_fraction * n / 2)``
    disjoint pairs are chosen at random; the first half (rounded up) are parent–offspring, the rest
    full siblings. The second member of a pair gets the first member's population. A father–son
    pair would share no X chromosome, so when "X" is simulated such a son is made a daughter.
    """
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(_SAMPLES_STREAM,)))
    n = spec.n_samples
    population = rng.integers(0, spec.n_populations, size=n).astype(np.int8)
    sex = np.where(rng.random(n) < 0.5, MALE, FEMALE).astype(np.int8)
    n_pairs = min(int(round(spec.related_fraction * n / 2)), n // 2)
    members = rng.permutation(n)[: 2 * n_pairs]
    pairs = np.sort(members.reshape(n_pairs, 2), axis=1).astype(np.int64)
    pairs = pairs[np.argsort(pairs[:, 0], kind="stable")]
    n_parent_offspring = (n_pairs + 1) // 2
    kind = np.array([PARENT_OFFSPRING] * n_parent_offspring + [FULL_SIBLING] * (n_pairs - n_parent_offspring),
                    dtype=object).astype(str)
    if n_pairs:
        # Interleave kinds so both appear along the sample order; a fixed, seed-driven shuffle.
        kind = kind[rng.permutation(n_pairs)]
        population[pairs[:, 1]] = population[pairs[:, 0]]
        if "X" in spec.chromosomes:
            father_son = (kind == PARENT_OFFSPRING) & (sex[pairs[:, 0]] == MALE) & (sex[pairs[:, 1]] == MALE)
            sex[pairs[father_son, 1]] = FEMALE
    families = _families(spec, pairs, population)
    return Samples(ids=sample_ids(n), population=population, sex=sex, pairs=pairs, pair_kind=kind,
                   families=families)


def _families(spec: CohortSpec, pairs: np.ndarray, population: np.ndarray) -> np.ndarray:
    """``round(family_fraction * n / family_size)`` disjoint sib-ships among the samples outside the
    pairs (as many as fit), each member taking the population of the first; in place on ``population``."""
    size = spec.family_size
    outside = np.setdiff1d(np.arange(spec.n_samples), pairs.ravel())
    n_families = min(int(round(spec.family_fraction * spec.n_samples / size)), len(outside) // size)
    if n_families == 0:
        return np.zeros((0, size), dtype=np.int64)
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(_SAMPLES_STREAM, _FAMILIES_STREAM)))
    members = np.sort(rng.choice(outside, size=n_families * size, replace=False).reshape(n_families, size), axis=1)
    members = members[np.argsort(members[:, 0], kind="stable")].astype(np.int64)
    population[members] = population[members[:, :1]]
    return members
