"""Synthetic genotypes: spec validation, population-genetic properties, relatedness, determinism,
resumable parts, and the written VCF/BGEN read by independent tools (pysam/htslib, plink2, Hail).

Statistical checks use fixed seeds; every tolerance is stated next to the expectation it guards.
"""

import subprocess

import numpy as np
import pandas as pd
import pysam
import pytest

from hubscan.errors import ConfigError
from hubscan.parts import PartTracker
from hubscan.simulate import genotype_files
from hubscan.simulate.cohort import (FULL_SIBLING, MALE, PARENT_OFFSPRING, CohortSpec, simulate_samples)
from hubscan.simulate.genotypes import (BLOCK_VARIANTS, chromosome_offsets, genotype_block, true_dosages,
                                        variant_table, write_genotype_files)

FILES = ("vcf", "vcf_index", "bgen", "bgen_sample", "variants")
#: Small cohort with everything switched on: X (haploid males), relatives, missingness, imputation,
#: a chromosome spanning several blocks and parts (part_blocks=1 below).
SMALL = CohortSpec(n_samples=300, n_variants=2500, chromosomes=("21", "22", "X"), related_fraction=0.2,
                   missing_rate=0.02, imputed_fraction=0.3, seed=7)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("cohort")
    samples = simulate_samples(SMALL)
    files = write_genotype_files(SMALL, samples, out, part_blocks=1)
    return samples, files


# -- specification ------------------------------------------------------------------------------
@pytest.mark.parametrize("field, value", [
    ("n_samples", 1), ("n_samples", 2.5), ("n_variants", 0), ("n_populations", 0), ("seed", -1),
    ("chromosomes", ("chr1",)), ("chromosomes", ("Y",)), ("chromosomes", ("1", "1")), ("chromosomes", "1"),
    ("fst", 0.0), ("fst", 1.0), ("fst", float("nan")), ("related_fraction", 1.5), ("missing_rate", 1.0),
    ("imputed_fraction", -0.1),
])
def test_invalid_spec_names_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        CohortSpec(**{field: value})


def test_spec_other_errors():
    with pytest.raises(ConfigError, match="n_variants"):
        CohortSpec(n_variants=2, chromosomes=("1", "2", "3"))
    with pytest.raises(ConfigError, match="unknown cohort setting"):
        CohortSpec.from_dict({"n_sample": 10})
    assert CohortSpec.from_dict(SMALL.to_dict()) == SMALL
    with pytest.raises(ConfigError, match="variant indices"):
        true_dosages(SMALL, simulate_samples(SMALL), [SMALL.n_variants])


def test_samples():
    spec = CohortSpec(n_samples=1000, related_fraction=0.1, n_populations=4, chromosomes=("X",), n_variants=10)
    s = simulate_samples(spec)
    assert len(set(s.ids)) == 1000 and s.ids[0] == "S000001"
    assert set(np.unique(s.population)) == {0, 1, 2, 3} and set(np.unique(s.sex)) == {1, 2}
    assert len(s.pairs) == 50 and len(np.unique(s.pairs)) == 100  # disjoint pairs: 10 % of samples
    assert set(s.pair_kind) == {PARENT_OFFSPRING, FULL_SIBLING}
    np.testing.assert_array_equal(s.population[s.pairs[:, 0]], s.population[s.pairs[:, 1]])
    po = s.pairs[s.pair_kind == PARENT_OFFSPRING]
    assert not np.any((s.sex[po[:, 0]] == MALE) & (s.sex[po[:, 1]] == MALE))  # no father-son pair with X


# -- population genetics ------------------------------------------------------------------------
def test_frequency_spectrum_and_fst():
    spec = CohortSpec(n_samples=600, n_variants=6000, chromosomes=("20", "21", "22"), related_fraction=0.0,
                      n_populations=3, fst=0.05, seed=3)
    samples = simulate_samples(spec)
    table = variant_table(spec)
    maf = np.minimum(table.alt_freq, 1 - table.alt_freq)
    # Model: 60 % from density ∝ 1/p on [0.005, 0.5] (half of it below 0.05) + 40 % uniform on
    # [0.05, 0.5] -> P(MAF < 0.05) = 0.3; ALT minor for 70 %. Binomial sd over 6000 variants <= 0.006.
    assert maf.min() >= 0.005 and maf.max() <= 0.5
    assert abs((maf < 0.05).mean() - 0.30) < 0.025
    assert abs((table.alt_freq < 0.5).mean() - 0.70) < 0.025
    dos = true_dosages(spec, samples, np.arange(spec.n_variants))
    p = table.alt_freq.to_numpy()
    # Sample frequency = ancestral + drift + sampling: E[p̂ - p] = 0 and Var/p(1-p) ≈ F/K + 1/(2N)
    # (= 0.0175; equal population sizes assumed, random sizes add a little): within 15 %.
    p_hat = dos.mean(axis=0) / 2
    assert abs((p_hat - p).mean()) < 0.003
    ratio = np.var(p_hat - p) / np.mean(p * (1 - p))
    assert abs(ratio / (0.05 / 3 + 1 / 1200) - 1) < 0.15
    # Hudson's Fst between Balding-Nichols populations: E[(p1-p2)^2] = 2F p(1-p),
    # E[p1(1-p2) + p2(1-p1)] = 2 p(1-p) -> Fst = F = 0.05. Ratio of sums over 6000 variants: ± 0.006.
    freq = [dos[samples.population == k].mean(axis=0) / 2 for k in range(3)]
    n = [2 * np.sum(samples.population == k) for k in range(3)]
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        p1, p2 = freq[a], freq[b]
        num = (p1 - p2) ** 2 - p1 * (1 - p1) / (n[a] - 1) - p2 * (1 - p2) / (n[b] - 1)
        den = p1 * (1 - p2) + p2 * (1 - p1)
        assert abs(num.sum() / den.sum() - 0.05) < 0.006


def test_mild_ld_decays_with_distance():
    # Dense variants (median spacing ~ 250 bp): latent correlation exp(-d / 30 kb) between neighbours.
    spec = CohortSpec(n_samples=1000, n_variants=200000, chromosomes=("21",), related_fraction=0.0, seed=5)
    samples = simulate_samples(spec)
    block = genotype_block(spec, samples, "21", 2)
    hap = block.haplotypes[:, :, 0].astype(float)
    freq = hap.mean(axis=1)
    common = (freq > 0.05) & (freq < 0.95)
    r2 = np.corrcoef(hap[common]) ** 2
    pos = block.variants.pos.to_numpy()[common]
    dist = np.abs(pos[:, None] - pos[None, :])
    near = r2[(dist > 0) & (dist <= 5_000)].mean()
    far = r2[dist > 100_000].mean()
    # Unlinked pairs: E[r2] = 1/n_haplotypes = 0.001; linked ones well above (≈ 0.2 measured).
    assert near > 0.1 and far < 0.005
    # Blocks are independent: no LD across a block boundary.
    nxt = genotype_block(spec, samples, "21", 3).haplotypes[:, :, 0].astype(float)
    nxt = nxt[(nxt.mean(axis=1) > 0.05) & (nxt.mean(axis=1) < 0.95)]
    last, first = hap[common][-20:], nxt[:20]  # within ~5 kb of the boundary on either side
    across = (np.corrcoef(last, first)[:20, 20:] ** 2).mean()
    assert across < 0.005


def test_relatedness_and_x_ploidy():
    spec = CohortSpec(n_samples=400, n_variants=3000, chromosomes=("21", "22", "X"), related_fraction=0.5, seed=11)
    samples = simulate_samples(spec)
    dos = true_dosages(spec, samples, np.arange(spec.n_variants))
    x = (variant_table(spec).chrom == "X").to_numpy()
    male = samples.sex == MALE
    assert set(np.unique(dos[np.ix_(male, x)])) == {0, 1} and set(np.unique(dos[np.ix_(~male, x)])) == {0, 1, 2}

    def opposite_homozygotes(a, b):
        """Sites where a and b share no allele (autosomes and X; males haploid on X)."""
        da, db = dos[a], dos[b]
        both_dip = np.where(x, (samples.sex[a] != MALE) & (samples.sex[b] != MALE), True)
        hap_a = x & (samples.sex[a] == MALE)
        hap_b = x & (samples.sex[b] == MALE)
        none = np.where(both_dip, np.abs(da - db) == 2, False)
        none |= hap_a & ~hap_b & (((da == 1) & (db == 0)) | ((da == 0) & (db == 2)))
        none |= hap_b & ~hap_a & (((db == 1) & (da == 0)) | ((db == 0) & (da == 2)))
        none |= hap_a & hap_b & (da != db)
        return none

    auto = ~x
    po = samples.pairs[samples.pair_kind == PARENT_OFFSPRING]
    sib = samples.pairs[samples.pair_kind == FULL_SIBLING]
    # Parent and child share an allele at every site, X included.
    assert sum(opposite_homozygotes(a, b).sum() for a, b in po) == 0
    # Unrelated pairs from the same population: partners shifted within the unrelated set.
    related = np.zeros(samples.n, bool)
    related[samples.pairs.ravel()] = True
    free = np.flatnonzero(~related)
    unrel = [(a, b) for a, b in zip(free[:-1], free[1:]) if samples.population[a] == samples.population[b]]

    def ibs0_rate(pairs):
        return np.mean([np.mean(np.abs(dos[a, auto] - dos[b, auto]) == 2) for a, b in pairs])

    def ibs(pairs):
        return np.mean([np.mean(2 - np.abs(dos[a, auto] - dos[b, auto])) / 2 for a, b in pairs])

    # Full siblings are IBD0 on 1/4 of the genome -> IBS0 rate ≈ 0.25 x unrelated. With two small
    # chromosomes IBD segments are long, so per-pair IBD0 varies a lot; 50 pairs: within [0.15, 0.35].
    assert 0.15 < ibs0_rate(sib) / ibs0_rate(unrel) < 0.35
    assert ibs(sib) > ibs(unrel) + 0.03


# -- files: determinism, truth, peers ------------------------------------------------------------
def test_written_calls_equal_true_dosages(small):
    samples, files = small
    table = variant_table(SMALL)
    rng = np.random.default_rng(0)
    picks = np.sort(rng.choice(SMALL.n_variants, size=120, replace=False))
    truth = true_dosages(SMALL, samples, picks)
    wanted = dict(zip(table.variant_id.iloc[picks], range(len(picks))))
    seen = 0
    n_missing = n_calls = 0
    with pysam.VariantFile(str(files.vcf)) as reader:
        for rec in reader.fetch():
            j = wanted.get(rec.id)
            if j is None:
                continue
            seen += 1
            imputed = "IMP" in rec.info
            assert imputed == bool(table.imputed.iloc[picks[j]])
            for i, call in enumerate(rec.samples.values()):
                gt = call["GT"]
                if gt[0] is None:
                    n_missing += 1
                    assert not imputed
                    continue
                n_calls += 1
                assert sum(gt) == truth[i, j]
                if imputed:
                    gp = np.asarray(call["GP"])
                    assert np.argmax(gp) == truth[i, j]  # GT is the most likely genotype
                    assert call["DS"][0] == pytest.approx(np.dot(gp, np.arange(len(gp))), abs=1e-6)  # float32 in pysam
            if imputed:
                assert rec.info["R2"] < 1
    assert seen == len(picks)
    # Missing share of genotyped calls ≈ 0.02 (about 25,000 calls: sd ≈ 0.001).
    genotyped = ~table.imputed.iloc[picks].to_numpy()
    assert abs(n_missing / (genotyped.sum() * samples.n) - 0.02) < 0.006
    # A block regenerated alone equals its slice of the whole-chromosome truth.
    block = genotype_block(SMALL, samples, "X", 1)
    start = chromosome_offsets(SMALL)["X"] + BLOCK_VARIANTS
    np.testing.assert_array_equal(block.dosages()[:5].T, true_dosages(SMALL, samples, np.arange(start, start + 5)))


def test_same_seed_same_bytes_and_resume(small, tmp_path, caplog):
    samples, files = small
    # A run killed after two parts: their markers exist, a half-written temp file lies around.
    out = tmp_path / "again"
    parts = genotype_files.plan_parts(SMALL, 1)
    options = genotype_files.BgenOptions()
    config = genotype_files.part_config(SMALL, samples, options, part_blocks=1)
    tracker = PartTracker(out / genotype_files.PARTS_DIR, genotype_files.JOB, config)
    tracker.init()
    for part in parts[:2]:
        tracker.mark_done(part.name, genotype_files.write_part(SMALL, samples, part, tracker.root, options))
    (tracker.root / f".{parts[2].name}.bgen.tmp-999").write_bytes(b"partial")
    caplog.set_level("INFO", logger="hubscan.simulate.genotype_files")
    again = write_genotype_files(SMALL, samples, out, part_blocks=1)
    assert f"writing {len(parts) - 2} of {len(parts)} genotype parts" in caplog.text
    for name in FILES:
        assert getattr(again, name).read_bytes() == getattr(files, name).read_bytes(), name
    assert not (out / genotype_files.PARTS_DIR).exists()
    other = write_genotype_files(CohortSpec(**{**SMALL.to_dict(), "seed": 8}), samples, tmp_path / "seed8",
                                 part_blocks=1)
    assert other.vcf.read_bytes() != files.vcf.read_bytes()


def test_leftover_parts_of_another_run_are_refused(tmp_path):
    spec = CohortSpec(n_samples=10, n_variants=30, chromosomes=("22",), seed=1)
    tracker = PartTracker(tmp_path / genotype_files.PARTS_DIR, genotype_files.JOB, {"other": 1})
    tracker.init()
    with pytest.raises(ConfigError, match="different configuration"):
        write_genotype_files(spec, simulate_samples(spec), tmp_path)
    with pytest.raises(ConfigError, match="samples"):
        write_genotype_files(spec, simulate_samples(CohortSpec(n_samples=11, n_variants=30)), tmp_path / "x")
    with pytest.raises(ConfigError, match="bits"):
        write_genotype_files(spec, simulate_samples(spec), tmp_path / "y", bits=0)


def _plink2(plink2, args, out):
    run = subprocess.run([plink2, *args, "--threads", "1", "--out", str(out)], capture_output=True, text=True)
    text = run.stdout + run.stderr
    assert run.returncode == 0, text
    assert "Warning" not in text and "Error" not in text, text
    return pd.read_csv(f"{out}.afreq", sep="\t")


def test_plink2_reads_vcf_and_bgen(small, plink2, tmp_path):
    samples, files = small
    table = pd.read_csv(files.variants, sep="\t", dtype={"chrom": str})
    sex = tmp_path / "sex.txt"
    sex.write_text("#IID\tSEX\n" + "".join(f"{i}\t{s}\n" for i, s in zip(samples.ids, samples.sex)))
    from_vcf = _plink2(plink2, ["--vcf", str(files.vcf), "dosage=DS", "--update-sex", str(sex), "--freq"],
                       tmp_path / "vcf")
    from_bgen = _plink2(plink2, ["--bgen", str(files.bgen), "ref-first", "--sample", str(files.bgen_sample),
                                 "--freq"], tmp_path / "bgen")
    imputed = table.imputed.to_numpy()
    for got in (from_vcf, from_bgen):
        assert list(got.ID) == list(table.variant_id)
        assert list(got.REF) == list(table.ref) and list(got.ALT) == list(table.alt)
        # Genotyped: identical hard calls; both sides print 6 significant digits.
        np.testing.assert_allclose(got.ALT_FREQS[~imputed], table.af[~imputed], rtol=2e-5, atol=1e-6)
    # Imputed from VCF DS (thousandths; plink2 keeps dosages at 1/16384): |ΔAF| <= 1/32768 + print.
    np.testing.assert_allclose(from_vcf.ALT_FREQS[imputed], table.af[imputed], atol=5e-5)
    # Imputed from 8-bit BGEN: each stored probability is within 1/255 of the true posterior and the
    # VCF GP within 1/1000, so |ΔDS| <= 3/255 + 3/1000 per sample and |ΔAF| <= 0.0074.
    diff = np.abs(from_bgen.ALT_FREQS[imputed] - table.af[imputed])
    assert diff.max() <= 0.0074
    # Observation counts: alleles of non-missing calls (males count once on X).
    dos_obs = from_bgen.OBS_CT.to_numpy()
    x = (table.chrom == "X").to_numpy()
    n_alleles = np.where(x, samples.n + np.sum(samples.sex != MALE), 2 * samples.n)
    assert np.all(dos_obs[imputed] == n_alleles[imputed])
    assert np.all(dos_obs[~imputed] <= n_alleles[~imputed]) and np.any(dos_obs[~imputed] < n_alleles[~imputed])
    np.testing.assert_array_equal(from_vcf.OBS_CT, from_bgen.OBS_CT)


# -- Spark and Hail (share the session's JVM) ----------------------------------------------------
def test_spark_writes_the_same_bytes(small, spark, tmp_path):
    samples, files = small
    on_spark = write_genotype_files(SMALL, samples, tmp_path / "spark", spark=spark, part_blocks=1)
    for name in FILES:
        assert getattr(on_spark, name).read_bytes() == getattr(files, name).read_bytes(), name


def test_hail_reads_vcf_and_bgen(small, hail, tmp_path):
    hl = hail
    samples, files = small
    table = pd.read_csv(files.variants, sep="\t", dtype={"chrom": str})
    picks = np.arange(0, SMALL.n_variants, 50)
    truth = true_dosages(SMALL, samples, picks)
    imputed = table.imputed.to_numpy()

    mt = hl.import_vcf(str(files.vcf), force_bgz=True, reference_genome="GRCh37")
    assert mt.count() == (SMALL.n_variants, SMALL.n_samples)
    assert mt.s.collect() == samples.ids.tolist()
    # Hail's allele frequencies from the hard calls equal ours for genotyped variants (X: males haploid).
    mt = mt.annotate_rows(af=hl.agg.call_stats(mt.GT, mt.alleles).AF[1], ds_mean=hl.agg.mean(mt.DS[0]))
    rows = mt.rows().select("af", "ds_mean").to_pandas()
    np.testing.assert_allclose(rows.af[~imputed], table.af[~imputed], rtol=2e-5, atol=1e-6)
    # Imputed: mean DS/ploidy = AF (DS parsed as float32: |Δ| <= 1e-6).
    ploidy_sum = np.where(table.chrom == "X", samples.n + np.sum(samples.sex != MALE), 2 * samples.n)
    np.testing.assert_allclose(rows.ds_mean[imputed] * samples.n / ploidy_sum[imputed], table.af[imputed],
                               atol=2e-6)
    pick_ids = hl.literal(set(table.variant_id.iloc[picks]))
    gt = mt.filter_rows(pick_ids.contains(mt.rsid)).unfilter_entries()
    n_alt = np.array(gt.GT.n_alt_alleles().collect(), dtype=float).reshape(len(picks), samples.n).T
    vcf_ds = np.array(gt.DS[0].collect(), dtype=float).reshape(len(picks), samples.n).T
    called = ~np.isnan(n_alt)
    np.testing.assert_array_equal(n_alt[called], truth[called])

    # Hail's import_bgen accepts only diploid samples: males on X written as homozygous diploids.
    files = write_genotype_files(SMALL, samples, tmp_path / "diploid-x", bgen_male_x_diploid=True)
    male_x = np.outer(samples.sex == MALE, (table.chrom.iloc[picks] == "X").to_numpy())
    truth = np.where(male_x, 2 * truth, truth)
    index = tmp_path / "genotypes.bgen.idx2"
    hl.index_bgen(str(files.bgen), index_file_map={str(files.bgen): str(index)}, reference_genome="GRCh37")
    bg = hl.import_bgen(str(files.bgen), entry_fields=["dosage", "GP"], sample_file=str(files.bgen_sample),
                        index_file_map={str(files.bgen): str(index)})
    assert bg.count() == (SMALL.n_variants, SMALL.n_samples)
    assert bg.s.collect() == samples.ids.tolist()
    # Hail's BGEN dosage counts the second allele (ALT); 8-bit precision: |ΔDS| <= 3/255 per call
    # against the truth for genotyped calls it is exact.
    sel = bg.filter_rows(pick_ids.contains(bg.rsid)).unfilter_entries()  # missing calls are filtered entries
    ds = np.array(sel.dosage.collect(), dtype=float).reshape(len(picks), samples.n).T
    geno = ~imputed[picks]
    np.testing.assert_array_equal(ds[:, geno][called[:, geno]], truth[:, geno][called[:, geno]])
    assert np.all(np.isnan(ds[:, geno][~called[:, geno]]))
    # Imputed: BGEN dosage vs the VCF DS (x2 for males on X): 8-bit probabilities are within 1/255 of
    # the posteriors, VCF GP within 1/1000 -> |ΔDS| <= 3/255 + 3/1000 (doubled for the males on X).
    vcf_ds = np.where(male_x, 2 * vcf_ds, vcf_ds)
    bound = np.where(male_x, 2, 1) * (3 / 255 + 3 / 1000)
    assert np.all(np.abs(ds[:, ~geno] - vcf_ds[:, ~geno]) <= bound[:, ~geno])
