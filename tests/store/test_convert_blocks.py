"""Conversion in bounded sub-blocks equals conversion in one go; the dosage-encoding kernel equals
its NumPy definition; INFO is chosen per variant (1 for a hard-call row next to DS rows)."""

import subprocess

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gwas.ingest import sources
from gwas.ingest.run import ingest
from gwas.store.dosage_kernel import encode_dosage_fast, encode_dosage_kernel
from gwas.store.reader import GenotypeStore
from gwas.store.variables import encode_dosage


def _same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_sub_blocks_equal_whole(shared_data, plink2, monkeypatch, tmp_path):
    vcf = shared_data / "1kg" / "1KG_phase3_subset_chr22.vcf.gz"  # has multi-allelic records
    subprocess.run([plink2, "--vcf", str(vcf), "--make-pgen", "--out", str(tmp_path / "p"), "--threads", "1"],
                   check=True, capture_output=True)
    bgen = shared_data / "bgen"
    for paths, order in (([vcf], None), ([bgen / "complex.bgen"], "ref-last"), ([bgen / "complex.bgen"], "ref-first"),
                         ([bgen / "example.8bits.bgen"], "ref-last"), ([bgen / "example.8bits.bgen"], "ref-first"),
                         ([tmp_path / "p.pgen"], None)):
        plan = sources.plan_inputs(paths, allele_order=order)
        a, b = 3, plan.n_variants
        monkeypatch.setattr(sources, "SUB_BLOCK_GENOTYPES", 1 << 40)
        whole = sources.convert_range(plan, a, b)
        monkeypatch.setattr(sources, "SUB_BLOCK_GENOTYPES", 37 * max(len(plan.sample_ids), 1))
        _same(sources.convert_range(plan, a, b), whole)


@settings(max_examples=50, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=9),
                  elements=st.floats(allow_nan=True, allow_infinity=True, width=64)))
def test_encode_kernel_equals_numpy(d):
    want = encode_dosage(d)
    np.testing.assert_array_equal(encode_dosage_fast(d), want)
    out = np.empty(d.shape, np.uint16)
    encode_dosage_kernel.py_func(d, out)
    np.testing.assert_array_equal(out, want)


def test_info_per_variant(tmp_path):
    head = ("##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"g\">\n"
            "##FORMAT=<ID=DS,Number=A,Type=Float,Description=\"d\">\n"
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc\td\n")
    body = ("1\t5\t.\tA\tC\t.\t.\t.\tGT\t0/1\t1/1\t0/0\t0/1\n"
            "1\t6\t.\tA\tC\t.\t.\t.\tGT:DS\t0/1:0.9\t1/1:1.7\t0/0:0.2\t0/1:.\n")
    (tmp_path / "x.vcf").write_text(head + body)
    ingest([tmp_path / "x.vcf"], tmp_path / "s")
    v = GenotypeStore(tmp_path / "s").variants()
    assert v["info"][0] == 1.0  # hard calls: INFO 1 even with a DS row in the same block
    e = np.array([0.9, 1.7, 0.2, 1.0])  # DS '.' with a GT call: the GT count
    p = e.sum() / 8
    np.testing.assert_allclose(v["info"][1], e.var() / (2 * p * (1 - p)), rtol=1e-12)  # MaCH r2
    np.testing.assert_allclose(GenotypeStore(tmp_path / "s").dosage(dtype=np.float64)[1], e, atol=0.5 / 16383)


def test_mach_r2_mixed_ploidy_near_one_for_perfect_calls():
    """X with haploid males: perfect hard calls as dosages give MaCH r2 about 1 (the old
    var(e) / (zbar p (1 - p)) form gave far above 1 when haploid and diploid calls mix)."""
    from gwas.store import stats

    rng = np.random.default_rng(4)
    n = 20_000
    ploidy = np.where(rng.random(n) < 0.5, 1, 2)
    p = np.array([0.05, 0.3, 0.9])
    e = rng.binomial(ploidy[None, :], p[:, None]).astype(float)
    e[:, :10] = np.nan
    got = stats.variant_stats(e, ploidy[None, :], None, stats.INFO_MACH)
    ref = stats.variant_stats_reference(e, ploidy[None, :], None, stats.INFO_MACH)
    np.testing.assert_allclose(got.info, ref.info, rtol=1e-12)
    assert np.all(np.abs(got.info - 1) < 0.05)  # sampling error of a variance ratio at n = 20,000: ~0.01
    uniform = stats.variant_stats(e, 2, None, stats.INFO_MACH).info  # same ploidy: the var(e) form
    called = ~np.isnan(e)
    q = np.nansum(e, 1) / (2 * called.sum(1))
    np.testing.assert_allclose(uniform, np.nanvar(e, 1) / (2 * q * (1 - q)), rtol=1e-10)


def test_stats_modes_per_row_equal_one_mode_at_a_time():
    """One kernel call with a mode per row (and int8 ploidy read as it is) gives, bit for bit, what
    separate calls per mode on int64 ploidy give."""
    from gwas.store import stats

    rng = np.random.default_rng(9)
    e = rng.uniform(0, 2, (30, 40))
    e[rng.random(e.shape) < 0.1] = np.nan
    f = e ** 2 + rng.uniform(0, 0.3, e.shape)
    ploidy = np.where(rng.random(e.shape) < 0.3, 1, 2).astype(np.int8)
    modes = rng.integers(0, 3, 30).astype(np.int8)
    got = stats.variant_stats(e, ploidy, f, modes)
    for mode in range(3):
        sel = modes == mode
        want = stats.variant_stats(e[sel], ploidy[sel].astype(np.int64), f[sel], mode)
        for a, b in zip((got.allele_frequency, got.call_rate, got.info), (want.allele_frequency, want.call_rate,
                                                                          want.info)):
            np.testing.assert_array_equal(a[sel], b)
