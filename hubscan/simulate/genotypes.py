"""Synthetic biallelic SNV genotypes, generated block by block from the cohort seed.

Model (all frequencies are of the ALT allele):

* **Variants.** ``spec.n_variants`` SNVs spread over ``spec.chromosomes`` in proportion to the
  GRCh37 length (largest-remainder rounding), at distinct uniform positions (X: outside the
  pseudo-autosomal regions). The ancestral minor-allele frequency is drawn from a mixture: 60 %
  from the neutral spectrum density ∝ 1/p truncated to [0.005, 0.5], 40 % uniform on
  [0.05, 0.5]; ALT is the minor allele for 70 % of variants. A share ``imputed_fraction`` of
  variants is flagged *imputed*.
* **Populations.** Balding–Nichols: population k has frequency p_k ~ Beta(p(1-F)/F, (1-p)(1-F)/F),
  drawn per variant (Balding & Nichols 1995).
* **Haplotypes.** Unrelated founders carry two independent haplotypes with alleles ~ Bernoulli(p_k).
  Mild LD: the allele is 1 where a latent standard normal lies below Φ⁻¹(p_k), and the latent values
  of a haplotype form an AR(1) chain along the variants of a block with correlation
  exp(-distance / 30 kb) between neighbours (a Gaussian copula: each allele keeps frequency p_k;
  LD decays with distance and is stronger between common variants; blocks are independent). Related pairs are built from haplotypes: a parent–offspring child's first haplotype is
  transmitted by the sampled parent, a full-sibling pair's four haplotypes are transmitted by two
  unsampled founder parents. Transmission is a recombinant of the parent's two haplotypes: crossovers
  are a Poisson process of 1 per 10^8 bp (about 1 cM/Mb) along the chromosome, drawn once per
  meiosis and chromosome, so kinship coefficients are realistic (1/4 for both kinds).
  Males carry one X (haplotype 0; a father transmits his X unchanged). The children of a sib-ship
  (``family_fraction``) get haplotype 0 from their unsampled mother and 1 from their unsampled
  father, by independent meioses of the same two founders (streams of their own, so cohorts
  without sib-ships are unchanged).
* **Missingness.** Genotyped (not imputed) calls are missing independently with ``missing_rate``.
* **Imputation.** An imputed variant's genotype posteriors GP = w·onehot(g) + (1-w)·HWE(p), with
  g the true genotype, p the ancestral frequency and a per-call weight w = 0.55 + 0.45·Beta(8q, 8(1-q)),
  where the variant's quality q ~ U(0.3, 0.98). As w > 1/2 the most likely genotype is the true one;
  DS = GP-weighted ALT count; the variant's MaCH r² (INFO) is below 1.

Determinism: variants of a chromosome come from the stream ``(seed, chromosome)``, meioses from
``(seed, chromosome, "meioses")`` and block b (``BLOCK_VARIANTS`` variants) from
``(seed, chromosome, stream, b)`` with separate streams for haplotypes, missingness and imputation
(:class:`numpy.random.SeedSequence` spawn keys). Any block is a pure function of (spec, samples,
chromosome, block); peak memory while writing is about 35 bytes × N × ``BLOCK_VARIANTS``
(0.7 GB RSS measured at N = 10,000).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtri

from hubscan.errors import ConfigError
from hubscan.simulate.cohort import (CHROMOSOME_CODE, FULL_SIBLING, GRCH37_LENGTHS, MALE, PARENT_OFFSPRING,
                                     CohortSpec, Samples)

#: Variants per generation block (part of the model: changing it changes the genotypes).
BLOCK_VARIANTS = 1000
#: Crossovers per base pair (1 cM/Mb).
CROSSOVERS_PER_BP = 1e-8
#: GRCh37 X pseudo-autosomal regions (1-based, inclusive); simulated X variants avoid them.
X_PAR = ((60001, 2699520), (154931044, 155260560))
MIN_MAF = 0.005
#: LD: latent correlation exp(-distance / LD_LENGTH_BP) between neighbouring variants of a block.
LD_LENGTH_BP = 30_000

_VARIANTS, _MEIOSES, _HAPLOTYPES, _MISSING, _IMPUTATION, _FAMILY_MEIOSES, _FAMILY_HAPLOTYPES = 1, 2, 3, 4, 5, 6, 7
_BASES = np.array(list("ACGT"))


def _seed(spec: CohortSpec, chrom: str, stream: int, block: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(CHROMOSOME_CODE[chrom], stream, block)))


# -- variants ---------------------------------------------------------------------------------
def variants_per_chromosome(spec: CohortSpec) -> dict[str, int]:
    """Number of variants on each chromosome (spec order), proportional to GRCh37 length, each >= 1."""
    lengths = np.array([GRCH37_LENGTHS[c] for c in spec.chromosomes], dtype=np.float64)
    n_chrom = len(lengths)
    share = (spec.n_variants - n_chrom) * lengths / lengths.sum()
    counts = np.floor(share).astype(np.int64)
    remainder = spec.n_variants - n_chrom - counts.sum()
    counts[np.argsort(-(share - counts), kind="stable")[:remainder]] += 1
    return {c: int(k) + 1 for c, k in zip(spec.chromosomes, counts)}


def chromosome_offsets(spec: CohortSpec) -> dict[str, int]:
    """Global index (row of :func:`variant_table`) of each chromosome's first variant."""
    counts = variants_per_chromosome(spec)
    starts = np.concatenate([[0], np.cumsum(list(counts.values()))[:-1]])
    return {c: int(s) for c, s in zip(counts, starts)}


def n_blocks(spec: CohortSpec, chrom: str) -> int:
    return -(-variants_per_chromosome(spec)[chrom] // BLOCK_VARIANTS)


def chromosome_variants(spec: CohortSpec, chrom: str) -> pd.DataFrame:
    """The variants of one chromosome (columns as in :func:`variant_table`, index from 0)."""
    return _chromosome_variants(spec, chrom).copy()


@functools.lru_cache(maxsize=64)
def _chromosome_variants(spec: CohortSpec, chrom: str) -> pd.DataFrame:
    """Cached and shared: never modify the returned frame."""
    n = variants_per_chromosome(spec)[chrom]
    rng = _seed(spec, chrom, _VARIANTS)
    length = GRCH37_LENGTHS[chrom]
    if chrom == "X":
        lo, hi = X_PAR[0][1] + 1, X_PAR[1][0] - 1
    else:
        lo, hi = 1, length
    if n > hi - lo + 1:
        raise ConfigError(f"n_variants: {n} variants do not fit on chromosome {chrom}")
    pos = np.sort(rng.choice(hi - lo + 1, size=n, replace=False)).astype(np.int64) + lo
    ref_i = rng.integers(0, 4, size=n)
    alt_i = (ref_i + rng.integers(1, 4, size=n)) % 4
    neutral = rng.random(n) < 0.6
    log_lo, log_hi = np.log(MIN_MAF), np.log(0.5)
    maf = np.where(neutral, np.exp(log_lo + (log_hi - log_lo) * rng.random(n)), rng.uniform(0.05, 0.5, size=n))
    alt_is_minor = rng.random(n) < 0.7
    alt_freq = np.where(alt_is_minor, maf, 1.0 - maf)
    imputed = rng.random(n) < spec.imputed_fraction
    ref, alt = _BASES[ref_i], _BASES[alt_i]
    ids = [f"{chrom}:{p}:{r}:{a}" for p, r, a in zip(pos.tolist(), ref.tolist(), alt.tolist())]
    return pd.DataFrame({"chrom": chrom, "pos": pos, "variant_id": ids, "ref": ref, "alt": alt,
                         "alt_freq": alt_freq, "imputed": imputed})


def variant_table(spec: CohortSpec) -> pd.DataFrame:
    """All variants: chrom, pos (1-based GRCh37), variant_id ("chrom:pos:ref:alt"), ref, alt,
    alt_freq (ancestral ALT frequency), imputed (bool); index 0..M-1 in spec chromosome order, then pos."""
    return pd.concat([_chromosome_variants(spec, c) for c in spec.chromosomes], ignore_index=True)


# -- meioses ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Meioses:
    """Transmissions of one chromosome to the related samples.

    start: int8 (k, 4), the parental haplotype (0/1) transmitted at the chromosome start;
    crossovers: per pair, a list of 4 sorted int64 arrays of crossover positions (bp). For a
    parent–offspring pair only meiosis 0 (sampled parent → child) is used; for full siblings
    0/1 are mother/father → first sib, 2/3 mother/father → second sib.
    """

    start: np.ndarray
    crossovers: list

    def transmitted(self, pair: int, meiosis: int, pos: np.ndarray) -> np.ndarray:
        """Which parental haplotype (0/1, uint8) is transmitted at each position."""
        n_switch = np.searchsorted(self.crossovers[pair][meiosis], pos, side="right")
        return ((self.start[pair, meiosis] + n_switch) % 2).astype(np.uint8)


def meioses(spec: CohortSpec, samples: Samples, chrom: str) -> Meioses:
    """Crossovers of every meiosis behind the related pairs on ``chrom`` (pure function of the seed).

    On X a male parent (sampled father, or the unsampled father of siblings) transmits his single
    X: start 0, no crossovers.
    """
    rng = _seed(spec, chrom, _MEIOSES)
    k = len(samples.pairs)
    length = GRCH37_LENGTHS[chrom]
    start = rng.integers(0, 2, size=(k, 4)).astype(np.int8)
    crossovers = []
    for _ in range(k):
        events = []
        for _ in range(4):
            n = rng.poisson(length * CROSSOVERS_PER_BP)
            events.append(np.sort(rng.integers(1, length + 1, size=n)).astype(np.int64))
        crossovers.append(events)
    if chrom == "X":
        for j in range(k):
            male_parents = [1, 3]
            if samples.pair_kind[j] == PARENT_OFFSPRING and samples.sex[samples.pairs[j, 0]] == MALE:
                male_parents.append(0)
            for m in male_parents:
                start[j, m] = 0
                crossovers[j][m] = np.zeros(0, dtype=np.int64)
    return Meioses(start=start, crossovers=crossovers)


def family_meioses(spec: CohortSpec, samples: Samples, chrom: str) -> Meioses:
    """Crossovers of the meioses behind the sib-ships on ``chrom``: per family, meiosis 2c is the
    mother's and 2c+1 the father's transmission to child c (column c of ``samples.families``). On X
    the father transmits his single X (start 0, no crossovers). Cached per chromosome (every block
    of a chromosome uses them); do not modify the result."""
    return _family_meioses(spec, chrom, *samples.families.shape)


@functools.lru_cache(maxsize=4)
def _family_meioses(spec: CohortSpec, chrom: str, n_families: int, size: int) -> Meioses:
    rng = _seed(spec, chrom, _FAMILY_MEIOSES)
    length = GRCH37_LENGTHS[chrom]
    start = rng.integers(0, 2, size=(n_families, 2 * size)).astype(np.int8)
    crossovers = []
    for _ in range(n_families):
        counts = rng.poisson(length * CROSSOVERS_PER_BP, size=2 * size)
        crossovers.append([np.sort(rng.integers(1, length + 1, size=k)).astype(np.int64) for k in counts])
    if chrom == "X":
        start[:, 1::2] = 0
        for events in crossovers:
            events[1::2] = [np.zeros(0, dtype=np.int64)] * size
    return Meioses(start=start, crossovers=crossovers)


def ploidy(chrom: str, samples: Samples) -> np.ndarray:
    """uint8 (N,) ploidy on a chromosome: 1 for males on X, else 2."""
    if chrom == "X":
        return np.where(samples.sex == MALE, 1, 2).astype(np.uint8)
    return np.full(samples.n, 2, dtype=np.uint8)


# -- blocks -----------------------------------------------------------------------------------
def block_variants(spec: CohortSpec, chrom: str, block: int) -> pd.DataFrame:
    table = _chromosome_variants(spec, chrom)
    if not 0 <= block < n_blocks(spec, chrom):
        raise ValueError(f"block {block} out of range for chromosome {chrom}")
    return table.iloc[block * BLOCK_VARIANTS:(block + 1) * BLOCK_VARIANTS].copy()


def block_haplotypes(spec: CohortSpec, samples: Samples, chrom: str, block: int,
                     meiosis: Meioses | None = None) -> np.ndarray:
    """uint8 (B, N, 2) phased ALT indicators of block ``block`` of ``chrom``.

    Haplotype 1 of a male on X is 0 (absent). For a parent–offspring pair the child's haplotype 0
    comes from the sampled parent; for siblings haplotype 0 is maternal, 1 paternal.
    """
    variants = block_variants(spec, chrom, block)
    p = variants["alt_freq"].to_numpy()
    pos = variants["pos"].to_numpy()
    rng = _seed(spec, chrom, _HAPLOTYPES, block)
    f = spec.fst
    pop_freq = rng.beta(p * (1 - f) / f, (1 - p) * (1 - f) / f, size=(spec.n_populations, len(p)))
    # Allele 1 where a latent standard normal is below Φ^-1(p_k): P = p_k exactly.
    threshold = ndtri(pop_freq).astype(np.float32)  # (K, B)
    rho = np.exp(-np.diff(pos) / LD_LENGTH_BP).astype(np.float32)
    latent = correlate_along_variants(rng.standard_normal((len(p), samples.n, 2), dtype=np.float32), rho)
    hap = (latent < threshold[samples.population].T[:, :, None]).view(np.uint8)
    sib = np.flatnonzero(samples.pair_kind == FULL_SIBLING)
    if len(samples.pairs):
        meiosis = meiosis or meioses(spec, samples, chrom)
        # Unsampled parents of sibling pairs: mother haplotypes 0,1, father 2,3.
        sib_pop = samples.population[samples.pairs[sib, 0]]
        hidden_latent = correlate_along_variants(rng.standard_normal((len(p), len(sib), 4), dtype=np.float32), rho)
        hidden = (hidden_latent < threshold[sib_pop].T[:, :, None]).view(np.uint8)
        for j, (a, b) in enumerate(samples.pairs):
            if samples.pair_kind[j] == PARENT_OFFSPRING:
                which = meiosis.transmitted(j, 0, pos)
                hap[:, b, 0] = np.where(which == 0, hap[:, a, 0], hap[:, a, 1])
        for s, j in enumerate(sib):
            for child, (m_mother, m_father) in zip(samples.pairs[j], ((0, 1), (2, 3))):
                mother = meiosis.transmitted(j, m_mother, pos)
                father = meiosis.transmitted(j, m_father, pos)
                hap[:, child, 0] = np.where(mother == 0, hidden[:, s, 0], hidden[:, s, 1])
                hap[:, child, 1] = np.where(father == 0, hidden[:, s, 2], hidden[:, s, 3])
    if len(samples.families):
        _transmit_to_families(spec, samples, chrom, block, pos, threshold, rho, hap)
    if chrom == "X":
        hap[:, samples.sex == MALE, 1] = 0
    return hap


def _transmit_to_families(spec: CohortSpec, samples: Samples, chrom: str, block: int, pos: np.ndarray,
                          threshold: np.ndarray, rho: np.ndarray, hap: np.ndarray) -> None:
    """In place: the sib-ship children's haplotypes, transmitted from the four haplotypes of their
    unsampled founders (drawn like any founder's, from the family's population)."""
    families = samples.families
    rng = _seed(spec, chrom, _FAMILY_HAPLOTYPES, block)
    meiosis = family_meioses(spec, samples, chrom)
    founders_latent = correlate_along_variants(
        rng.standard_normal((len(pos), len(families), 4), dtype=np.float32), rho)
    pop = samples.population[families[:, 0]]
    founders = (founders_latent < threshold[pop].T[:, :, None]).view(np.uint8)  # mother 0,1, father 2,3
    for f, members in enumerate(families):
        for c, child in enumerate(members):
            mother = meiosis.transmitted(f, 2 * c, pos)
            father = meiosis.transmitted(f, 2 * c + 1, pos)
            hap[:, child, 0] = np.where(mother == 0, founders[:, f, 0], founders[:, f, 1])
            hap[:, child, 1] = np.where(father == 0, founders[:, f, 2], founders[:, f, 3])


def correlate_along_variants(z: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """In place: turn i.i.d. standard normals z (B, ...) into a stationary AR(1) chain along axis 0,
    z_j <- rho_{j-1} z_{j-1} + sqrt(1 - rho_{j-1}^2) z_j, so every z_j stays N(0, 1)."""
    scale = np.sqrt(1 - rho * rho)
    for j in range(1, z.shape[0]):
        z[j] *= scale[j - 1]
        z[j] += rho[j - 1] * z[j - 1]
    return z


@dataclass(frozen=True)
class GenotypeBlock:
    """Everything written for one block (B variants, N samples).

    haplotypes: uint8 (B, N, 2) true phased ALT indicators. ploidy: uint8 (N,).
    missing: bool (B, N), only on genotyped variants. imputed: bool (B,).
    gp: float64 (n_imputed, N, 3) posteriors P(0, 1, 2 ALT copies) of the imputed variants in block
    order (haploid samples: P(0), P(1), 0).
    """

    chrom: str
    block: int
    variants: pd.DataFrame
    haplotypes: np.ndarray
    ploidy: np.ndarray
    missing: np.ndarray
    imputed: np.ndarray
    gp: np.ndarray

    def dosages(self) -> np.ndarray:
        """int8 (B, N) true ALT counts (before missingness)."""
        return (self.haplotypes[:, :, 0] + self.haplotypes[:, :, 1]).view(np.int8)


def genotype_block(spec: CohortSpec, samples: Samples, chrom: str, block: int,
                   meiosis: Meioses | None = None) -> GenotypeBlock:
    """The complete data of one block: true haplotypes, missing calls and imputation posteriors."""
    variants = block_variants(spec, chrom, block)
    hap = block_haplotypes(spec, samples, chrom, block, meiosis)
    n_var, n = hap.shape[0], samples.n
    imputed = variants["imputed"].to_numpy()
    rng = _seed(spec, chrom, _MISSING, block)
    missing = rng.random((n_var, n), dtype=np.float32) < np.float32(spec.missing_rate)
    missing[imputed] = False
    ploid = ploidy(chrom, samples)
    gp = imputation_posteriors(spec, chrom, block, hap[imputed], variants["alt_freq"].to_numpy()[imputed], ploid)
    return GenotypeBlock(chrom=chrom, block=block, variants=variants, haplotypes=hap, ploidy=ploid,
                         missing=missing, imputed=imputed, gp=gp)


def imputation_posteriors(spec: CohortSpec, chrom: str, block: int, hap: np.ndarray, alt_freq: np.ndarray,
                          ploid: np.ndarray) -> np.ndarray:
    """float64 (K, N, 3) genotype posteriors for K imputed variants (model in the module docstring)."""
    rng = _seed(spec, chrom, _IMPUTATION, block)
    k, n = hap.shape[0], hap.shape[1]
    quality = rng.uniform(0.3, 0.98, size=k)[:, None]
    weight = 0.55 + 0.45 * rng.beta(8 * quality, 8 * (1 - quality), size=(k, n))
    p = alt_freq[:, None]
    diploid_prior = np.stack([(1 - p) ** 2, 2 * p * (1 - p), p ** 2], axis=-1)  # (K, 1, 3)
    haploid_prior = np.stack([1 - p, p, np.zeros_like(p)], axis=-1)
    prior = np.where((ploid == 2)[None, :, None], diploid_prior, haploid_prior)
    g = hap.sum(axis=2)
    onehot = np.zeros((k, n, 3))
    np.put_along_axis(onehot, g[:, :, None].astype(np.int64), 1.0, axis=2)
    return weight[:, :, None] * onehot + (1 - weight[:, :, None]) * prior


def true_dosages(spec: CohortSpec, samples: Samples, variant_indices) -> np.ndarray:
    """float64 (N, K): true ALT allele count (0/1/2; males on X 0/1) of the variants with global
    indices ``variant_indices`` (rows of :func:`variant_table`), before missingness and imputation
    noise. Regenerates only the blocks holding those variants."""
    idx = np.asarray(variant_indices, dtype=np.int64).ravel()
    total = spec.n_variants
    if idx.size and (idx.min() < 0 or idx.max() >= total):
        raise ConfigError(f"variant indices must be in 0..{total - 1}")
    offsets = chromosome_offsets(spec)
    counts = variants_per_chromosome(spec)
    out = np.empty((samples.n, idx.size), dtype=np.float64)
    starts = np.array([offsets[c] for c in spec.chromosomes])
    chrom_of = np.searchsorted(starts, idx, side="right") - 1
    for ci in np.unique(chrom_of):
        chrom = spec.chromosomes[ci]
        local = idx - offsets[chrom]
        in_chrom = chrom_of == ci
        assert np.all(local[in_chrom] < counts[chrom])
        meiosis = meioses(spec, samples, chrom)
        blocks = local // BLOCK_VARIANTS
        for b in np.unique(blocks[in_chrom]):
            cols = np.flatnonzero(in_chrom & (blocks == b))
            hap = block_haplotypes(spec, samples, chrom, int(b), meiosis)
            out[:, cols] = hap[local[cols] - b * BLOCK_VARIANTS].sum(axis=2).T
    return out


# -- files ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GenotypeFiles:
    """Paths written by :func:`write_genotype_files`."""

    vcf: Path
    vcf_index: Path
    bgen: Path
    bgen_sample: Path
    variants: Path


def write_genotype_files(spec: CohortSpec, samples: Samples, out_dir, spark=None, **options) -> GenotypeFiles:
    """Write genotypes.vcf.gz (+ .tbi), genotypes.bgen (+ genotypes.sample) and variants.tsv under
    ``out_dir``; one Spark task per part when ``spark`` is given. See
    :func:`hubscan.simulate.genotype_files.write_genotype_files` for the options."""
    from hubscan.simulate.genotype_files import write_genotype_files as write

    return write(spec, samples, out_dir, spark=spark, **options)
