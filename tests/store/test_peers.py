"""Store genotypes against Hail reading the same 1000 Genomes VCF, and BGEN written by Hail and plink2."""

import subprocess

import numpy as np

from gwas.ingest.run import ingest
from gwas.store.reader import GenotypeStore


def _hail_counts(hl, mt):
    mt = mt.annotate_entries(n=hl.or_else(mt.GT.n_alt_alleles(), -9))
    return np.array(mt.n.collect()).reshape(mt.count_rows(), mt.count_cols())


def test_vcf_matches_hail_and_bgen_round_trips(shared_data, hail, plink2, tmp_path):
    hl = hail
    vcf = shared_data / "1kg" / "1KG_phase3_subset_chr21.vcf.gz"
    ingest([vcf], tmp_path / "vcf-store", variants_chunk=500, samples_chunk=600)
    store = GenotypeStore(tmp_path / "vcf-store")
    dos = store.dosage()
    ours = np.where(np.isnan(dos), -9, dos).astype(int)

    # Hail: import, split multi-allelic records with split_multi_hts (same downcoding convention)
    raw = hl.import_vcf(str(vcf), reference_genome="GRCh37", force=True)
    mt = hl.split_multi_hts(raw)
    hail_counts = _hail_counts(hl, mt)
    np.testing.assert_array_equal(ours, hail_counts)
    assert list(mt.s.collect()) == list(store.sample_ids)
    source = raw.rows().select().collect()  # we keep source alleles (Hail's split minimal-represents them)
    assert [r.locus.position for r in source for _ in r.alleles[1:]] == list(store.variants().position)
    assert [a for r in source for a in r.alleles[1:]] == list(store.variants().alt)

    # BGEN written by Hail (8-bit, GP one-hot from the hard call) reads back as the same counts
    gp = hl.or_missing(hl.is_defined(mt.GT), hl.range(3).map(lambda k: hl.float64(mt.GT.n_alt_alleles() == k)))
    hl.export_bgen(mt.annotate_entries(GP=gp), str(tmp_path / "hail"))
    ingest([tmp_path / "hail.bgen"], tmp_path / "hail-store", tmp_path / "hail.sample", variants_chunk=500,
           allele_order="ref-first")  # Hail's alleles[0] is REF
    hs = GenotypeStore(tmp_path / "hail-store")
    np.testing.assert_array_equal(np.where(np.isnan(d := hs.dosage()), -9, d).astype(int), hail_counts)
    assert list(hs.sample_ids) == list(store.sample_ids)

    # BGEN written by plink2 --export bgen-1.2 (biallelic records: plink2 cannot split on export)
    p = tmp_path / "p"
    subprocess.run([plink2, "--vcf", str(vcf), "--max-alleles", "2", "--export", "bgen-1.2", "ref-first",
                    "--out", str(p), "--threads", "1"], check=True, capture_output=True)
    ingest([tmp_path / "p.bgen"], tmp_path / "p-store", tmp_path / "p.sample", variants_chunk=500,
           allele_order="ref-first")
    ps = GenotypeStore(tmp_path / "p-store")
    biallelic = np.isin(np.arange(store.n_variants), np.flatnonzero(
        ~store.variants().duplicated(["contig", "position"], keep=False) |
        ~np.isin(store.variants().position, store.variants().position[store.variant_field("variant_split") > 1])))
    keep = [i for i in range(store.n_variants) if biallelic[i]]
    assert ps.n_variants == len(keep)
    np.testing.assert_allclose(ps.dosage(), store.dosage(keep), rtol=0, atol=0.5 / 16383)
