"""Ingestion into the store: VCF vs plink2, BGEN vs truth, Spark parts with resume, bad input."""

import json
import subprocess

import numpy as np
import pytest

from gwas.ingest.run import ingest
from gwas.store import stats
from gwas.store.reader import GenotypeStore
from gwas.store.variables import DOSAGE_SCALE
from hubscan.errors import InputError

HEADER = "##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"g\">\n"


def write_vcf(path, body, samples=("a", "b", "c")):
    path.write_text(HEADER + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples) + "\n" + body)
    return path


def test_1kg_vcf_matches_plink2(shared_data, plink2, tmp_path):
    vcf = shared_data / "1kg" / "1KG_phase3_subset_chr22.vcf.gz"
    r = ingest([vcf], tmp_path / "store", variants_chunk=256, samples_chunk=512)
    subprocess.run([plink2, "--vcf", str(vcf), "--make-pgen", "--out", str(tmp_path / "p"), "--threads", "1"],
                   check=True, capture_output=True)
    import pgenlib

    pvar = [ln.rstrip("\n").split("\t") for ln in open(tmp_path / "p.pvar") if not ln.startswith("#")]
    n_s = sum(1 for ln in open(tmp_path / "p.psam") if not ln.startswith("#"))
    n_alt = np.array([len(x[4].split(",")) for x in pvar])
    offsets = np.concatenate([[0], np.cumsum(n_alt + 1)]).astype(np.uintp)
    codes = np.empty((len(pvar), 2 * n_s), dtype=np.int32)
    with pgenlib.PgenReader(str(tmp_path / "p.pgen").encode(), allele_idx_offsets=offsets) as pr:
        pr.read_alleles_range(0, len(pvar), codes)  # allele index per haplotype, -9 missing
    codes = codes.reshape(len(pvar), n_s, 2)
    # split plink2's records like the store does: one row per ALT allele, counting that allele
    counts = np.concatenate([[np.where((c < 0).any(1), -9, (c == j).sum(1)) for j in range(1, k + 1)]
                             for c, k in zip(codes, n_alt)])
    expected_alt = [a for x in pvar for a in x[4].split(",")]
    store = GenotypeStore(tmp_path / "store")
    assert (store.n_variants, store.n_samples) == counts.shape == (r.n_variants, 1126)
    dos = store.dosage()
    np.testing.assert_array_equal(np.where(np.isnan(dos), -9, dos).astype(int), counts)  # hard calls exact
    gt = store.genotypes()
    np.testing.assert_array_equal(np.where((gt < 0).any(2), -9, gt.sum(2)), counts)
    v = store.variants()
    assert list(v.alt) == expected_alt
    assert list(v.position) == [int(x[1]) for x, k in zip(pvar, n_alt) for _ in range(k)]
    ref = stats.variant_stats_reference(np.where(counts < 0, np.nan, counts.astype(float)), 2)
    np.testing.assert_allclose(v.alt_frequency, ref.allele_frequency, rtol=0, atol=1e-12)


def test_bgen_store_dosage_within_bit_precision(shared_data, tmp_path):
    d = shared_data / "bgen"
    ingest([d / "example.8bits.bgen"], tmp_path / "s", variants_chunk=64, samples_chunk=128, allele_order="ref-first")
    t = np.array([np.array(ln.split()[6:], dtype=float).reshape(-1, 3) for ln in open(d / "example.gen")])
    s = t.sum(2)
    with np.errstate(invalid="ignore"):
        truth = np.where(s > 0, (t[:, :, 1] + 2 * t[:, :, 2]) / s, np.nan)
    store = GenotypeStore(tmp_path / "s")
    got = store.dosage(dtype=np.float64)
    assert np.array_equal(np.isnan(got), np.isnan(truth))
    # each of 3 probabilities within 1/255 and they sum to 1 -> dosage within 2/255; storage adds 0.5/16383
    assert np.nanmax(np.abs(got - truth)) <= 2 / 255 + 0.5 / DOSAGE_SCALE + 1e-6
    sub = store.sample_index(["sample_010", "sample_003"])
    np.testing.assert_array_equal(store.dosage(slice(5, 70), sub, np.float64), got[5:70][:, sub])
    keep = store.select_variants(min_maf=0.05, min_info=0.5)
    v = store.variants()
    maf = np.minimum(v.alt_frequency, 1 - v.alt_frequency)
    np.testing.assert_array_equal(keep, np.flatnonzero((maf >= 0.05) & (v["info"] >= 0.5)))


def test_spark_parts_resume_and_completion_marker(shared_data, spark, tmp_path):
    vcf = shared_data / "1kg" / "1KG_phase3_subset_chr21.vcf.gz"
    out = tmp_path / "store"
    r = ingest([vcf], out, variants_chunk=200, samples_chunk=600, spark=spark)
    assert r.parts_run == r.parts_total > 2
    full = GenotypeStore(out).dosage()
    # simulate a killed run: two parts and the completion marker gone, one chunk file damaged
    (out / "_SUCCESS").unlink()
    (out / "_parts" / "part-000001.done").unlink()
    (out / "_parts" / "part-000002.done").unlink()
    with pytest.raises(InputError, match="not a complete genotype store"):
        GenotypeStore(out)
    r2 = ingest([vcf], out, variants_chunk=200, samples_chunk=600, spark=spark)
    assert r2.parts_run == 2
    np.testing.assert_array_equal(GenotypeStore(out).dosage(), full)
    assert json.loads((out / "_SUCCESS").read_text())["variants"] == r.n_variants


def test_multiallelic_split_and_haploid_x(tmp_path):
    body = ("X\t10\trs1\tA\tC,G\t.\t.\t.\tGT\t0/1\t1|2\t2\n"
            "X\t12\t.\tT\tC\t.\t.\t.\tGT\t./.\t0|1\t1\n")
    ingest([write_vcf(tmp_path / "m.vcf", body)], tmp_path / "s", variants_chunk=2)
    s = GenotypeStore(tmp_path / "s")
    v = s.variants()
    assert list(v.alt) == ["C", "G", "C"] and list(v.position) == [10, 10, 12]
    d = s.dosage()
    np.testing.assert_array_equal(d[:2], [[1, 1, 0], [0, 1, 1]])
    assert np.isnan(d[2, 0]) and list(d[2, 1:]) == [1, 1]
    g = s.genotypes()
    np.testing.assert_array_equal(g[1], [[0, 0], [0, 1], [1, -2]])
    np.testing.assert_allclose(v.alt_frequency, [2 / 5, 2 / 5, 2 / 3])  # ploidies 2 + 2 + 1
    np.testing.assert_allclose(v.call_rate, [1, 1, 2 / 3])


@pytest.mark.parametrize("body,samples,pattern", [
    ("1\t5\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/x\t1/1\n", ("a", "b", "c"), r"m\.vcf:4: cannot parse .*sample column 2"),
    ("1\t5\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/1\n", ("a", "b", "c"), r"m\.vcf:4: record does not have 3 sample columns"),
    ("1\t5\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/1\t1/1\n1\t3\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/1\t1/1\n", ("a", "b", "c"),
     r"m\.vcf:5: position 3 after 5 on 1: the file is not sorted"),
    ("1\t5\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/1\t1/1\n", ("a", "b", "a"), r"m\.vcf: duplicate sample id at sample column 3"),
    ("1\t5\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0\t1/1\n", ("a", "b", "c"), r"m\.vcf:4: haploid call in sample column 2 on 1"),
    ("1\t5\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/0/1\t1/1\n", ("a", "b", "c"), r"m\.vcf:4: sample column 2 has more than two"),
    ("", ("a", "b", "c"), r"m\.vcf: no variant records"),
])
def test_bad_vcf(tmp_path, body, samples, pattern):
    with pytest.raises(InputError, match=pattern):
        ingest([write_vcf(tmp_path / "m.vcf", body, samples)], tmp_path / "s")
    assert not (tmp_path / "s" / "_SUCCESS").exists()


def test_empty_vcf_file(tmp_path):
    (tmp_path / "e.vcf").write_text("")
    with pytest.raises(InputError, match=r"e\.vcf: empty file"):
        ingest([tmp_path / "e.vcf"], tmp_path / "s")


def test_corrupt_bgen_leaves_no_complete_store(shared_data, tmp_path):
    src = shared_data / "bgen" / "example.8bits.bgen"
    raw = bytearray(src.read_bytes())
    raw[60_000:60_040] = b"\xff" * 40
    (tmp_path / "c.bgen").write_bytes(bytes(raw))
    with pytest.raises(InputError, match=r"c\.bgen: variant \d+ at byte \d+"):
        ingest([tmp_path / "c.bgen"], tmp_path / "s", variants_chunk=50)
    assert not (tmp_path / "s" / "_SUCCESS").exists()


def test_stats_kernel_matches_reference():
    rng = np.random.default_rng(1)
    e = rng.uniform(0, 2, (20, 50))
    e[rng.random(e.shape) < 0.1] = np.nan
    f = e ** 2 + rng.uniform(0, 0.3, e.shape)
    for mode in (stats.INFO_HARD, stats.INFO_MACH, stats.INFO_IMPUTE):
        got = stats.variant_stats(e, 2, f, mode)
        ref = stats.variant_stats_reference(e, 2, f, mode)
        for a, b in zip((got.allele_frequency, got.call_rate, got.info), (ref.allele_frequency, ref.call_rate, ref.info)):
            np.testing.assert_allclose(a, b, rtol=1e-12)
