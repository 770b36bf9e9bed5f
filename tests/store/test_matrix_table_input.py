"""Hail MatrixTable input against the store of the VCF Hail imported it from.

Reference: the store ingested from the same simulated VCF (chromosomes 22 and X with haploid
males, phased calls, missing calls, imputed GT:DS:GP rows) plus a hand-written multi-allelic VCF.
Tolerances: GT-derived fields and DS exact (a missing call has no ploidy in Hail, so only its
first slot is compared) (Hail re-exports the DS it parsed, and both stores
encode the same number). Dosage from GP only: the simulated VCF rounds DS and each GP to 3
decimals independently, so sum_k k GP_k differs from DS by at most 0.0005 (DS) + 0.0005 + 2 x 0.0005
(GP_1, GP_2), plus 0.5/16383 storage rounding in each store.
"""

import numpy as np
import pytest

from gwas.ingest.run import ingest
from gwas.store.reader import GenotypeStore
from hubscan.errors import InputError

GP_TOL = 0.0005 * 4 + 2 * 0.5 / 16383


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    from hubscan.simulate.cohort import CohortSpec, simulate_samples
    from hubscan.simulate.genotypes import write_genotype_files

    root = tmp_path_factory.mktemp("mt-cohort")
    spec = CohortSpec(n_samples=120, n_variants=800, chromosomes=("22", "X"), seed=5)
    files = write_genotype_files(spec, simulate_samples(spec), root)
    ingest([files.vcf], root / "vcf-store", variants_chunk=256, samples_chunk=64)
    return root, files.vcf, GenotypeStore(root / "vcf-store")


def test_matrix_table_equals_vcf_store(hail, simulated, tmp_path):
    hl = hail
    root, vcf, ref = simulated
    mt = hl.import_vcf(str(vcf), reference_genome="GRCh37", force_bgz=True)
    mt.write(str(tmp_path / "c.mt"))
    r = ingest([tmp_path / "c.mt"], tmp_path / "store", variants_chunk=256, samples_chunk=64)
    assert r.n_variants == ref.n_variants and not (tmp_path / "store" / "_mt_source").exists()
    got = GenotypeStore(tmp_path / "store")
    assert list(got.sample_ids) == list(ref.sample_ids)
    keys = ["contig", "position", "id", "ref", "alt"]
    assert got.variants()[["contig", "position", "ref", "alt"]].equals(ref.variants()[["contig", "position", "ref", "alt"]])
    # Hail rows carry no rsid here: a missing id is stored as chrom:pos:ref:alt
    v = got.variants()
    assert v["id"].tolist() == [f"{c}:{p}:{r}:{a}" for c, p, r, a in zip(v.contig, v.position, v.ref, v.alt)]
    g, rg = got.genotypes(), ref.genotypes()
    called = rg[..., 0] >= 0
    np.testing.assert_array_equal(g[called], rg[called])
    # a missing call has no ploidy in Hail: haploid '.' comes back as './.'; both slots missing either way
    assert (g[~called][:, 0] == -1).all() and np.isin(g[~called][:, 1], [-1]).all()
    np.testing.assert_array_equal(got.root["call_genotype_phased"][:], ref.root["call_genotype_phased"][:])
    np.testing.assert_array_equal(got.dosage(), ref.dosage())
    assert ref.variants()[keys[:2]].shape[0] > 0 and (got.genotypes()[..., 1] == -2).any()  # haploid X kept
    # a second run on the complete store does nothing (no Hail work)
    assert ingest([tmp_path / "c.mt"], tmp_path / "store").parts_run == 0

    # GP only (no DS): dosages from the genotype probabilities
    mt.drop("DS").write(str(tmp_path / "gp.mt"))
    ingest([tmp_path / "gp.mt"], tmp_path / "gp-store", variants_chunk=256)
    gp = GenotypeStore(tmp_path / "gp-store")
    d, rd = gp.dosage(dtype=np.float64), ref.dosage(dtype=np.float64)
    np.testing.assert_array_equal(np.isnan(d), np.isnan(rd))
    assert np.nanmax(np.abs(d - rd)) <= GP_TOL

    # multi-allelic records split like the VCF path
    head = ("##fileformat=VCFv4.2\n##contig=<ID=1,length=249250621>\n"
            "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"g\">\n"
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc\n")
    body = ("1\t10\trs1\tA\tC,G\t.\t.\t.\tGT\t0/1\t1|2\t2/2\n"
            "1\t12\t.\tT\tC\t.\t.\t.\tGT\t./.\t0|1\t1/1\n")
    (tmp_path / "m.vcf").write_text(head + body)
    hl.import_vcf(str(tmp_path / "m.vcf"), reference_genome="GRCh37").write(str(tmp_path / "m.mt"))
    ingest([tmp_path / "m.vcf"], tmp_path / "mv")
    ingest([tmp_path / "m.mt"], tmp_path / "mm")
    a, b = GenotypeStore(tmp_path / "mv"), GenotypeStore(tmp_path / "mm")
    assert list(b.variants().alt) == ["C", "G", "C"]
    np.testing.assert_array_equal(a.genotypes(), b.genotypes())
    np.testing.assert_array_equal(a.dosage(), b.dosage())


def test_bad_matrix_tables(hail, tmp_path):
    hl = hail
    hl.utils.range_matrix_table(3, 2).write(str(tmp_path / "r.mt"))
    with pytest.raises(InputError, match=r"r\.mt: row key is .*row_idx.*expected locus"):
        ingest([tmp_path / "r.mt"], tmp_path / "s1")
    mt = hl.utils.range_matrix_table(3, 2)
    mt = mt.key_rows_by(locus=hl.locus("1", mt.row_idx + 1), alleles=["A", "C"])
    mt = mt.key_cols_by(s=hl.str(mt.col_idx)).annotate_entries(x=1)
    mt.write(str(tmp_path / "n.mt"))
    with pytest.raises(InputError, match=r"n\.mt: no GT \(call\), DS \(float64\) or GP"):
        ingest([tmp_path / "n.mt"], tmp_path / "s2")
    assert not (tmp_path / "s2" / "_SUCCESS").exists()
