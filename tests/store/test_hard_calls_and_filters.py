"""The store's hard calls of dosages (BGEN ``call_genotype``) against a NumPy reference, and the
VCF QUAL/FILTER fields: values, and one-line errors for an undeclared FILTER or a QUAL that is not a
number (file and line named)."""

import re

import numpy as np
import pytest
import zarr

from gwas.ingest.run import ingest
from gwas.qc.from_store import alt_counts_from_dosage
from gwas.store.dosage_kernel import hard_call_kernel, hard_calls
from gwas.store.variables import DOSAGE_MISSING, encode_dosage
from hubscan.errors import InputError


def _reference(codes: np.ndarray, ploidy: np.ndarray) -> np.ndarray:
    """Per call: hubscan's QC hard-call rule (nearest genotype within 0.1 of the decoded dosage, else
    missing) laid out as VCF Zarr allele codes."""
    dosage = np.where(codes == DOSAGE_MISSING, np.nan, codes / 16383.0)
    k = alt_counts_from_dosage(dosage).astype(int)  # 3 = missing
    k = np.where((k > ploidy) | (ploidy > 2), 3, k)
    gt = np.full((*codes.shape, 2), -1, np.int8)
    dip = (ploidy == 2) & (k < 3)
    gt[dip, 0] = k[dip] == 2
    gt[dip, 1] = k[dip] >= 1
    hap = ploidy == 1
    gt[hap, 0] = np.where(k[hap] < 3, k[hap], -1)
    gt[hap, 1] = -2
    return gt


def test_hard_calls_equal_numpy_reference():
    rng = np.random.default_rng(4)
    dosage = np.concatenate([rng.uniform(0, 2, (40, 30)), np.rint(rng.uniform(0, 2, (10, 30))),
                             np.full((1, 30), 0.1), np.full((1, 30), 0.1001), np.full((1, 30), 1.9)])
    dosage[rng.random(dosage.shape) < 0.1] = np.nan
    codes = encode_dosage(dosage)
    ploidy = rng.choice(np.array([1, 2, 2, 2, 3], np.int8), size=codes.shape)
    ploidy[-3:] = 2
    want = _reference(codes, ploidy)
    gt, mask, phased = hard_calls(codes, ploidy)
    np.testing.assert_array_equal(gt, want)
    np.testing.assert_array_equal(mask, want < 0)
    assert not phased.any()
    assert gt[-3, 0].tolist() == [0, 0] and gt[-2, 0].tolist() == [-1, -1] and gt[-1, 0].tolist() == [1, 1]
    out = [np.empty_like(gt), np.empty_like(mask), np.empty_like(phased)]
    hard_call_kernel.py_func(codes, ploidy, *out)
    np.testing.assert_array_equal(out[0], want)
    assert ((want == -2).any() and ((want >= 0).all(axis=2)).any() and (want == -1).any())  # every case met


HEADER = ("##fileformat=VCFv4.2\n##FILTER=<ID=lowq,Description=\"Low quality, \\\"strict\\\"\">\n"
          "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"g\">\n"
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\n")


@pytest.mark.parametrize("suffix", [".vcf", ".vcf.gz"])  # two-pass (plain text) and single-pass (BGZF) ingest
def test_quality_and_filters(tmp_path, suffix):
    import pysam

    body = "1\t5\t.\tA\tG\t7.25\tlowq\t.\tGT\t0/1\t1/1\n1\t9\t.\tC\tT,A\t.\tPASS\t.\tGT\t0/2\t./.\n" \
           "1\t12\t.\tG\tC\t30\t.\t.\tGT\t0/0\t0/1\n"
    (tmp_path / "t.vcf").write_text(HEADER + body)
    path = tmp_path / "t.vcf"
    if suffix == ".vcf.gz":
        pysam.tabix_compress(str(path), str(tmp_path / "t.vcf.gz"))
        path = tmp_path / "t.vcf.gz"
    ingest([str(path)], tmp_path / "s")
    g = zarr.open_group(str(tmp_path / "s"), mode="r")
    assert [str(x) for x in g["filter_id"][:]] == ["PASS", "lowq"]
    assert [str(x) for x in g["filter_description"][:]] == ["All filters passed", 'Low quality, \\"strict\\"']
    np.testing.assert_array_equal(g["variant_filter"][:], [[False, True], [True, False], [True, False],
                                                           [False, False]])
    np.testing.assert_array_equal(g["variant_quality"][:], np.array([7.25, np.nan, np.nan, 30], np.float32))
    assert "call_DS" not in g  # no FORMAT DS declared


@pytest.mark.parametrize("column, value, message", [
    ("FILTER", "q10", "t.vcf:5: FILTER 'q10' is not declared in the header (no ##FILTER=<ID=q10,...> line)"),
    ("FILTER", "lowq;q10", "t.vcf:5: FILTER 'q10' is not declared"),
    ("QUAL", "high", "t.vcf:5: QUAL 'high' is not a number"),
])
def test_bad_quality_or_filter_named(tmp_path, column, value, message):
    cols = {"QUAL": "1", "FILTER": "PASS", column: value}
    (tmp_path / "t.vcf").write_text(HEADER + f"1\t5\t.\tA\tG\t{cols['QUAL']}\t{cols['FILTER']}\t.\tGT\t0/1\t1/1\n")
    with pytest.raises(InputError, match=re.escape(message)):
        ingest([str(tmp_path / "t.vcf")], tmp_path / "s")
    assert not (tmp_path / "s" / "_SUCCESS").exists()
