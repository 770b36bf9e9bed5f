"""The fields bio2zarr (``vcf2zarr convert``) writes for a VCF are in hubscan's store of the same VCF,
with the same dimensions, kinds of type and values.

The VCF has QUAL and FILTER (declared and missing), a multi-allelic record with a Number=A dosage,
a record without an id, missing and phased calls and haploid calls on X. Differences that remain,
each asserted below as it is:

* hubscan splits multi-allelic records into biallelic variants (``variant_split``): bio2zarr's
  ``alleles`` dimension is the largest allele count, hubscan's is 2; a split variant's calls hold 1
  for its ALT and 0 for REF and the other ALTs, and its ``call_DS`` is that ALT's DS - so
  ``call_DS`` has no ``alt_alleles`` dimension (bio2zarr: (variants, samples, alt_alleles) for a
  Number=A DS);
* integer widths: bio2zarr picks the smallest integer type for the values (int8 positions here),
  hubscan fixed ones (int32 positions, int16 contigs); strings: both variable-length UTF-8;
* hubscan names variants without an id ``chrom:pos:ref:alt`` (``variant_id_mask`` still True);
* ``call_DS`` is the dosage hubscan stores (1/16383 steps): within 0.5/16383 of bio2zarr's float32;
* bio2zarr marks haploid calls phased, hubscan as the VCF writes them (no ``|``: unphased);
* bio2zarr 0.2 also writes ``region_index`` and ``variant_length`` (VCF Zarr 0.5 additions) and
  keeps every other INFO/FORMAT field; hubscan follows VCF Zarr 0.4 and keeps GT and DS only.
"""

import numpy as np
import pytest
import zarr

from gwas.ingest.run import ingest

bio2zarr_vcf = pytest.importorskip("bio2zarr.vcf", reason="bio2zarr is a test dependency (pyproject [test])")

VCF = """##fileformat=VCFv4.2
##contig=<ID=1,length=1000>
##contig=<ID=X,length=2000>
##FILTER=<ID=PASS,Description="All filters passed">
##FILTER=<ID=q10,Description="Quality below 10">
##FILTER=<ID=s50,Description="Less than 50% of samples have data">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=DS,Number=A,Type=Float,Description="Dosage">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc\td
1\t10\trs1\tA\tG\t50\tPASS\t.\tGT:DS\t0/1:0.9\t1|1:2\t./.:.\t0|0:0.05
1\t20\t.\tC\tT,G\t.\tq10;s50\t.\tGT:DS\t0/2:0,1\t1/2:1,1\t0/0:0,0\t2|2:0,2
1\t35\trs3\tCT\tC\t3.5\tq10\t.\tGT:DS\t0/0:0.2\t0/1:1.1\t1/1:1.8\t./.:.
X\t5\trs4\tG\tA\t12\t.\t.\tGT:DS\t0:0\t1:1\t0/1:1\t1|1:2
"""

COMMON = ["call_DS", "call_genotype", "call_genotype_mask", "call_genotype_phased", "contig_id", "contig_length",
          "filter_description", "filter_id", "sample_id", "variant_allele", "variant_contig", "variant_filter",
          "variant_id", "variant_id_mask", "variant_position", "variant_quality"]


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    import pysam

    root = tmp_path_factory.mktemp("b2z")
    (root / "t.vcf").write_text(VCF)
    pysam.tabix_compress(str(root / "t.vcf"), str(root / "t.vcf.gz"))
    pysam.tabix_index(str(root / "t.vcf.gz"), preset="vcf")
    bio2zarr_vcf.convert([str(root / "t.vcf.gz")], str(root / "b.vcz"), worker_processes=0)
    ingest([str(root / "t.vcf.gz")], root / "h.zarr")
    return zarr.open_group(str(root / "b.vcz"), mode="r"), zarr.open_group(str(root / "h.zarr"), mode="r")


def _dims(arr) -> list[str]:
    return list(arr.attrs["_ARRAY_DIMENSIONS"])


def _kind(arr) -> str:
    k = arr.dtype.kind
    return "string" if k in "OTU" or str(arr.dtype).startswith("StringDType") else {"u": "i"}.get(k, k)


def test_field_names_dims_and_kinds(both):
    b, h = both
    assert set(b.array_keys()) - set(h.array_keys()) == {"region_index", "variant_length"}
    assert set(COMMON) <= set(h.array_keys())
    for name in COMMON:
        want = _dims(b[name])
        if name == "call_DS":  # split biallelic variants: one ALT each
            assert want == ["variants", "samples", "alt_alleles"]
            want = want[:2]
        assert _dims(h[name]) == want, name
        assert _kind(h[name]) == _kind(b[name]), name
        if h[name].dtype.kind in "iub":  # no fill value (xarray would mask it), as bio2zarr's call fields
            assert h[name].metadata.fill_value is None, name
    assert dict(h.attrs)["vcf_zarr_version"] == "0.4" and dict(b.attrs)["vcf_zarr_version"] == "0.5"


def _strings(arr) -> list:
    return [str(x) for x in np.asarray(arr[:]).ravel()]


def test_values_equal_after_splitting(both):
    b, h = both
    for name in ("sample_id", "contig_id", "filter_id", "filter_description"):
        assert _strings(h[name]) == _strings(b[name]), name
    np.testing.assert_array_equal(h["contig_length"][:], b["contig_length"][:])
    alleles = np.asarray(b["variant_allele"][:]).astype(object).astype(str)
    n_alt = (alleles != "").sum(axis=1) - 1
    rec = np.repeat(np.arange(len(n_alt)), n_alt)  # bio2zarr record of each hubscan variant
    j = np.concatenate([np.arange(1, k + 1) for k in n_alt])  # its ALT
    np.testing.assert_array_equal(h["variant_split"][:], j)
    np.testing.assert_array_equal(h["variant_position"][:], b["variant_position"][:][rec])
    np.testing.assert_array_equal(h["variant_contig"][:], b["variant_contig"][:][rec])
    np.testing.assert_array_equal(np.asarray(h["variant_allele"][:]).astype(object).astype(str),
                                  np.stack([alleles[rec, 0], alleles[rec, j]], axis=1))
    mask = b["variant_id_mask"][:][rec]
    np.testing.assert_array_equal(h["variant_id_mask"][:], mask)
    ids = np.asarray(h["variant_id"][:]).astype(object).astype(str)
    assert list(ids[~mask]) == list(np.asarray(b["variant_id"][:]).astype(object).astype(str)[rec][~mask])
    assert list(ids[mask]) == ["1:20:C:T", "1:20:C:G"]
    np.testing.assert_array_equal(h["variant_filter"][:], b["variant_filter"][:][rec])
    np.testing.assert_array_equal(h["variant_quality"][:], b["variant_quality"][:][rec])  # NaN == NaN here
    gt = b["call_genotype"][:][rec]
    split = np.where(gt < 0, gt, (gt == j[:, None, None]).astype(np.int8))
    np.testing.assert_array_equal(h["call_genotype"][:], split)
    np.testing.assert_array_equal(h["call_genotype_mask"][:], b["call_genotype_mask"][:][rec])
    phased, haploid = b["call_genotype_phased"][:][rec], (gt == -2).any(axis=2)
    np.testing.assert_array_equal(h["call_genotype_phased"][:][~haploid], phased[~haploid])
    assert phased[haploid].all() and not h["call_genotype_phased"][:][haploid].any()
    ds = b["call_DS"][:][rec, :, j - 1]
    ours = h["call_DS"][:]
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ds))
    np.testing.assert_allclose(ours, ds, rtol=0, atol=0.5 / 16383 + 1e-6)
