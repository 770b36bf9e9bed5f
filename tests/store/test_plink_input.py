"""PLINK 1 (.bed/.bim/.fam) and PLINK 2 (.pgen/.pvar/.psam) ingestion against the store of the
VCF that plink2 converted, the .bed decoder against an independent packer, and bad input.

Reference: plink2 itself (``--vcf ... --make-bed`` / ``--make-pgen``) converting a simulated cohort
(chromosomes 21, 22 and X, haploid males on X, missing calls, imputed DS) and the 1000 Genomes subset.
Tolerances: hard calls, ids, positions, alleles exact. Dosages through plink2's pgen: plink2 rounds
the VCF DS to 1/16384 and each store rounds to 1/16383, so the two stores differ by at most
0.5/16384 + 2 x 0.5/16383.
"""

import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gwas.ingest.run import ingest
from gwas.io.plink.bed import BED_MAGIC, decode_dosage_kernel, decode_kernel, decode_reference
from gwas.qc.from_store import pack_bed
from gwas.store import stats
from gwas.store.reader import GenotypeStore
from hubscan.errors import InputError

DOSAGE_TOL = 0.5 / 16384 + 2 * 0.5 / 16383
KEYS = ["contig", "position", "id", "ref", "alt"]


def _plink2(plink2, *args):
    subprocess.run([plink2, *map(str, args), "--threads", "1"], check=True, capture_output=True)


def _alt_counts(gt):
    """(v, s, 2) codes -> ALT counts with haploid slot -2 ignored, -9 missing."""
    missing = (gt[..., 0] == -1) | (gt[..., 1] == -1)
    return np.where(missing, -9, (gt == 1).sum(2))


@pytest.fixture(scope="module")
def cohort(tmp_path_factory, plink2):
    """Simulated VCF (300 samples x 3,000 variants on 21, 22, X), its plink2 conversions, its store."""
    from hubscan.simulate.cohort import CohortSpec, simulate_samples
    from hubscan.simulate.genotypes import write_genotype_files

    root = tmp_path_factory.mktemp("plink-cohort")
    spec = CohortSpec(n_samples=300, n_variants=3000, chromosomes=("21", "22", "X"), seed=3)
    samples = simulate_samples(spec)
    files = write_genotype_files(spec, samples, root)
    (root / "sex.txt").write_text("#IID\tSEX\n" + "".join(f"{s}\t{x}\n" for s, x in zip(samples.ids, samples.sex)))
    common = ["--update-sex", root / "sex.txt"]
    _plink2(plink2, "--vcf", files.vcf, *common, "--make-bed", "--out", root / "b")
    _plink2(plink2, "--vcf", files.vcf, *common, "--make-pgen", "--out", root / "p")
    _plink2(plink2, "--vcf", files.vcf, "dosage=DS", *common, "--make-pgen", "--out", root / "pd")
    ingest([files.vcf], root / "vcf-store", variants_chunk=512, samples_chunk=128)
    import pandas as pd

    imputed = pd.read_csv(files.variants, sep="\t")["imputed"].to_numpy().astype(bool)
    return root, GenotypeStore(root / "vcf-store"), samples, imputed


def test_bed_equals_vcf_store(cohort):
    root, ref, samples, _ = cohort
    ingest([root / "b.bed"], root / "b-store", variants_chunk=512, samples_chunk=128)
    got = GenotypeStore(root / "b-store")
    assert list(got.sample_ids) == list(ref.sample_ids) == list(samples.ids)
    assert got.variants()[KEYS].equals(ref.variants()[KEYS])
    g, rg = got.genotypes(), ref.genotypes()
    counts = _alt_counts(rg)
    np.testing.assert_array_equal(_alt_counts(g), counts)  # hard calls exact (GT of imputed rows too)
    np.testing.assert_array_equal(g[..., 1] == -2, rg[..., 1] == -2)  # haploid exactly where the VCF was
    x = np.flatnonzero(ref.variants().contig == "X")
    assert len(x) and (g[x][:, samples.sex == 1, 1] == -2).all() and (g[x][:, samples.sex == 2, 1] != -2).all()
    d = got.dosage(dtype=np.float64)
    np.testing.assert_array_equal(np.where(np.isnan(d), -9, d), counts)
    assert not got.root["call_genotype_phased"][:].any()
    ploidy = np.where(rg[..., 1] == -2, 1, 2)
    want = stats.variant_stats_reference(np.where(counts < 0, np.nan, counts.astype(float)), ploidy)
    v = got.variants()
    np.testing.assert_allclose(v.alt_frequency, want.allele_frequency, rtol=0, atol=1e-12)
    np.testing.assert_allclose(v.call_rate, want.call_rate, rtol=0, atol=1e-12)
    assert (v["info"] == 1).all()


def test_pgen_equals_vcf_store(cohort, spark):
    root, ref, _, imputed = cohort
    r = ingest([root / "p.pgen"], root / "p-store", variants_chunk=512, samples_chunk=128, spark=spark)
    assert r.parts_run == r.parts_total == 6
    got = GenotypeStore(root / "p-store")
    assert list(got.sample_ids) == list(ref.sample_ids)
    assert got.variants()[KEYS].equals(ref.variants()[KEYS])
    g, rg = got.genotypes(), ref.genotypes()
    np.testing.assert_array_equal(g, rg)  # phased calls: allele order exact too
    np.testing.assert_array_equal(got.root["call_genotype_phased"][:], ref.root["call_genotype_phased"][:])
    d = got.dosage(dtype=np.float64)
    np.testing.assert_array_equal(np.where(np.isnan(d), -9, d), _alt_counts(rg))
    rd = ref.dosage(dtype=np.float64)
    np.testing.assert_array_equal(d[~imputed], rd[~imputed])


def test_pgen_dosages_equal_vcf_ds(cohort):
    root, ref, _, imputed = cohort
    ingest([root / "pd.pgen"], root / "pd-store", variants_chunk=1000)
    got = GenotypeStore(root / "pd-store")
    d, rd = got.dosage(dtype=np.float64), ref.dosage(dtype=np.float64)
    assert imputed.sum() > 100
    np.testing.assert_array_equal(np.isnan(d), np.isnan(rd))
    assert np.nanmax(np.abs(d - rd)) <= DOSAGE_TOL
    kept = np.flatnonzero(~imputed)
    np.testing.assert_array_equal(got.genotypes(kept), ref.genotypes(kept))
    v, rv = got.variants(), ref.variants()
    # frequencies: sum of dosages over sum of ploidies, each dosage within DOSAGE_TOL
    assert np.nanmax(np.abs(v.alt_frequency - rv.alt_frequency)) <= DOSAGE_TOL
    assert (v["info"][~imputed] == 1).all() and (v["info"][imputed] < 1).any()


def test_1kg_bed_and_pgen_equal_vcf_store(shared_data, plink2, tmp_path):
    vcf = shared_data / "1kg" / "1KG_phase3_subset_chr22.vcf.gz"
    ingest([vcf], tmp_path / "vcf", variants_chunk=400, samples_chunk=600)
    _plink2(plink2, "--vcf", vcf, "--max-alleles", "2", "--make-bed", "--out", tmp_path / "b")  # .bed: biallelic only
    _plink2(plink2, "--vcf", vcf, "--make-pgen", "--out", tmp_path / "p")
    ref = GenotypeStore(tmp_path / "vcf")
    split = ref.variant_field("variant_split")
    single = np.flatnonzero((split == 1) & (np.append(split[1:], 1) == 1))  # records with one ALT
    assert 0 < len(single) < ref.n_variants  # the file has multi-allelic records
    for name, rows in (("b.bed", single), ("p.pgen", np.arange(ref.n_variants))):
        ingest([tmp_path / name], tmp_path / (name + ".store"), variants_chunk=400, samples_chunk=600)
        got = GenotypeStore(tmp_path / (name + ".store"))
        assert list(got.sample_ids) == list(ref.sample_ids) and got.n_samples == 1126
        assert got.variants()[KEYS].equals(ref.variants()[KEYS].iloc[rows].reset_index(drop=True))
        np.testing.assert_array_equal(_alt_counts(got.genotypes()), _alt_counts(ref.genotypes(rows)))
        np.testing.assert_array_equal(got.dosage(), ref.dosage(rows))
    np.testing.assert_array_equal(got.genotypes(), ref.genotypes())  # pgen keeps the phased allele order


def test_multiallelic_pgen_split_like_vcf(plink2, tmp_path):
    head = ("##fileformat=VCFv4.2\n##contig=<ID=1>\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"g\">\n"
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc\td\n")
    body = ("1\t10\trs1\tA\tC,G\t.\t.\t.\tGT\t0/1\t1/2\t2/2\t./.\n"
            "1\t12\t.\tT\tC\t.\t.\t.\tGT\t./.\t0/1\t1/1\t0/0\n"
            "1\t15\trs3\tG\tA,C,T\t.\t.\t.\tGT\t3/3\t0/2\t1/3\t0/0\n")
    (tmp_path / "m.vcf").write_text(head + body)
    _plink2(plink2, "--vcf", tmp_path / "m.vcf", "--make-pgen", "--out", tmp_path / "m")
    ingest([tmp_path / "m.vcf"], tmp_path / "v", variants_chunk=2)
    ingest([tmp_path / "m.pgen"], tmp_path / "p", variants_chunk=2)
    ref, got = GenotypeStore(tmp_path / "v"), GenotypeStore(tmp_path / "p")
    assert got.n_variants == 6
    assert got.variants()[["position", "ref", "alt"]].equals(ref.variants()[["position", "ref", "alt"]])
    np.testing.assert_array_equal(_alt_counts(got.genotypes()), _alt_counts(ref.genotypes()))
    np.testing.assert_array_equal(got.dosage(), ref.dosage())
    np.testing.assert_array_equal(got.variant_field("variant_split"), [1, 2, 1, 1, 2, 3])


def _write_bed(root, counts, chroms, sexes, ids=None):
    """A .bed/.bim/.fam written with the QC exporter's independent packer (gwas.qc.from_store)."""
    n_v, n_s = counts.shape
    ids = ids or [f"s{i}" for i in range(n_s)]
    (root / "t.fam").write_text("".join(f"f{i} {s} 0 0 {x} -9\n" for i, (s, x) in enumerate(zip(ids, sexes))))
    (root / "t.bim").write_text("".join(f"{c}\tv{k}\t0\t{100 + k}\tA\tG\n" for k, c in enumerate(chroms)))
    (root / "t.bed").write_bytes(BED_MAGIC + pack_bed(np.where(counts < 0, 3, counts).astype(np.int8)))
    return root / "t.bed"


def test_bed_ploidy_from_sex(tmp_path):
    # samples: male, female, unknown sex, male; A1 = 'A' is ALT, A2 = 'G' is REF
    counts = np.array([[2, 1, 0, -1],    # 22: everyone diploid
                       [2, 1, 2, 1],     # X: male hom -> haploid ALT; male het kept diploid
                       [0, 2, 2, -1],    # Y: male hom -> haploid REF; female/unknown diploid; male missing haploid
                       [2, 0, 1, 0]])    # MT: everyone haploid except the heterozygous call
    bed = _write_bed(tmp_path, counts, ["22", "X", "Y", "MT"], [1, 2, 0, 1])
    ingest([bed], tmp_path / "s")
    s = GenotypeStore(tmp_path / "s")
    assert list(s.variants().ref) == ["G"] * 4 and list(s.variants().alt) == ["A"] * 4
    assert list(s.sample_ids) == ["s0", "s1", "s2", "s3"]
    np.testing.assert_array_equal(s.genotypes()[..., 1] == -2, [[0, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 1], [1, 1, 0, 1]])
    d = s.dosage(dtype=np.float64)
    np.testing.assert_array_equal(np.nan_to_num(d, nan=-9), [[2, 1, 0, -9], [1, 1, 2, 1], [0, 2, 2, -9], [1, 0, 1, 0]])
    np.testing.assert_allclose(s.variants().alt_frequency, [3 / 6, 5 / 7, 4 / 5, 2 / 5])  # ALT / sum of ploidies


def test_packer_zeroes_the_bits_past_the_last_sample():
    """PLINK's format: the unused bits of a variant's last byte are 0 (plink2 counted nonzero padding
    as missing calls, e.g. 150 samples: 2 extra missing and a negative hom-ALT count in --hardy)."""
    raw = pack_bed(np.full((2, 5), 3, np.int8))  # all missing (0b01), one sample in the second byte
    assert raw == bytes([0b01010101, 0b00000001]) * 2


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 13), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_bed_decoder_inverts_independent_packer(n_s, n_v, seed):
    counts = np.random.default_rng(seed).integers(-1, 3, (n_v, n_s)).astype(np.int8)
    raw = np.frombuffer(pack_bed(np.where(counts < 0, 3, counts).astype(np.int8)), np.uint8).reshape(n_v, -1)
    out = np.empty((n_v, n_s), np.int8)
    decode_kernel(raw, n_s, out)
    np.testing.assert_array_equal(out, counts)
    np.testing.assert_array_equal(decode_reference(raw, n_s), counts)
    decode_kernel.py_func(raw, n_s, out)
    np.testing.assert_array_equal(out, counts)
    want = np.where(counts < 0, np.nan, counts.astype(float))
    for impl in (decode_dosage_kernel, decode_dosage_kernel.py_func):
        dosage = np.empty((n_v, n_s))
        impl(raw, n_s, dosage)
        np.testing.assert_array_equal(dosage, want)


# -- bad input -------------------------------------------------------------------------------------
def _good(tmp_path):
    return _write_bed(tmp_path, np.array([[0, 1, 2, -1, 1], [2, 2, 0, 0, 1]]), ["1", "1"], [1, 2, 0, 1, 2])


def test_bad_bed_truncated(tmp_path):
    bed = _good(tmp_path)
    bed.write_bytes(bed.read_bytes()[:-1])
    with pytest.raises(InputError, match=r"t\.bed: 6 bytes, but .*t\.bim lists 2 variants and .*t\.fam 5 samples, "
                                         r"which need 7 bytes"):
        ingest([bed], tmp_path / "s")
    assert not (tmp_path / "s" / "_SUCCESS").exists()


def test_bad_bed_magic(tmp_path):
    bed = _good(tmp_path)
    bed.write_bytes(b"\x00\x00\x01" + bed.read_bytes()[3:])
    with pytest.raises(InputError, match=r"t\.bed: not a PLINK 1 \.bed file \(first bytes 000001"):
        ingest([bed], tmp_path / "s")
    bed.write_bytes(BED_MAGIC[:2] + b"\x00" + bed.read_bytes()[3:])
    with pytest.raises(InputError, match=r"t\.bed: sample-major \.bed"):
        ingest([bed], tmp_path / "s")


def test_bad_bim_fam_row_counts(tmp_path):
    bed = _good(tmp_path)
    with open(tmp_path / "t.fam", "a") as fh:
        fh.writelines(f"f{k} extra{k} 0 0 1 -9\n" for k in range(4))
    with pytest.raises(InputError, match=r"t\.bed: 7 bytes, but .*t\.bim lists 2 variants and .*t\.fam 9 samples"):
        ingest([bed], tmp_path / "s")
    _good(tmp_path)
    with open(tmp_path / "t.bim", "a") as fh:
        fh.write("1\tv9\t0\t300\tA\tG\n")
    with pytest.raises(InputError, match=r"t\.bim lists 3 variants"):
        ingest([bed], tmp_path / "s")


@pytest.mark.parametrize("which,text,pattern", [
    ("t.fam", "f0 s0 0 0 1 -9\nf1 s0 0 0 1 -9\n", r"t\.fam:2: sample IID repeats line 1"),
    ("t.fam", "f0 s0 0 0\n", r"t\.fam:1: 4 columns"),
    ("t.bim", "1\tv0\t0\tx100\tA\tG\n1\tv1\t0\t101\tA\tG\n", r"t\.bim:1: position 'x100' is not an integer"),
    ("t.bim", "1\tv0\t0\t100\tA\n", r"t\.bim:1: 5 columns, expected at least 6"),
])
def test_bad_fam_bim_rows(tmp_path, which, text, pattern):
    bed = _good(tmp_path)
    (tmp_path / which).write_text(text)
    with pytest.raises(InputError, match=pattern):
        ingest([bed], tmp_path / "s")


def test_missing_companion_and_bad_pgen(tmp_path, plink2):
    bed = _good(tmp_path)
    (tmp_path / "t.bim").unlink()
    with pytest.raises(InputError, match=r"PLINK \.bim file beside .*t\.bed .*t\.bim does not exist"):
        ingest([bed], tmp_path / "s")
    bed = _good(tmp_path)
    _plink2(plink2, "--bfile", tmp_path / "t", "--make-pgen", "--out", tmp_path / "p")
    shutil.copy(tmp_path / "p.psam", tmp_path / "keep.psam")
    (tmp_path / "p.psam").write_text("#IID\tSEX\ns0\t1\ns1\t2\n")
    with pytest.raises(InputError, match=r"p\.pgen: the \.pgen holds 5 samples but .*p\.psam lists 2"):
        ingest([tmp_path / "p.pgen"], tmp_path / "s")
    shutil.copy(tmp_path / "keep.psam", tmp_path / "p.psam")
    good = (tmp_path / "p.pgen").read_bytes()
    (tmp_path / "p.pgen").write_bytes(good[:14])
    with pytest.raises(InputError, match=r"p\.pgen: cannot read the \.pgen"):
        ingest([tmp_path / "p.pgen"], tmp_path / "s")
    (tmp_path / "p.pgen").write_bytes(b"\x00" * 40)
    with pytest.raises(InputError, match=r"p\.pgen: not a PLINK 2 \.pgen file"):
        ingest([tmp_path / "p.pgen"], tmp_path / "s")
