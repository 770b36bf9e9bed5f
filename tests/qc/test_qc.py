"""Genetic QC on Hail: PCs of real 1000 Genomes data against plink2 --pca, kinship and sex on a
simulated cohort with planted related pairs, and the bad-input paths."""

import gzip
import subprocess

import numpy as np
import pandas as pd
import pytest

from gwas.qc.load import read_recorded_sex
from gwas.qc.run import read_pcs, run_qc
from gwas.qc.thresholds import QcThresholds, degree
from hubscan.errors import ConfigError, InputError

#: |correlation| between hubscan's (Hail) and plink2's PCs 1-4 over the same samples and variants.
PC_AGREEMENT = 0.99


@pytest.fixture(scope="module")
def kg_qc(hail, shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("qc-1kg")
    files = sorted(str(p) for p in (shared_data / "1kg").glob("*.vcf.gz"))
    samples = shared_data / "1kg" / "samples.tsv"
    result = run_qc(files, out, QcThresholds(n_pcs=10), sex_file=str(samples), labels_file=str(samples),
                    label_column="super_population")
    return result, pd.read_csv(out / "sample_qc.tsv", sep="\t"), pd.read_csv(samples, sep="\t")


def test_1kg_pcs_separate_super_populations(kg_qc):
    result, qc, info = kg_qc
    qc = qc.merge(info[["sample.id", "super_population"]], left_on="s", right_on="sample.id")
    assert result.n_pca_variants > 1000 and qc["PC4"].notna().all()
    pcs = qc[["PC1", "PC2", "PC3", "PC4"]].to_numpy()
    pcs = pcs / pcs.std(axis=0)
    groups = qc["super_population"].to_numpy()
    names = sorted(set(groups))
    centroids = np.array([pcs[groups == g].mean(axis=0) for g in names])
    nearest = np.array(names)[np.argmin(((pcs[:, None, :] - centroids[None]) ** 2).sum(axis=2), axis=1)]
    # AMR is admixed (European, African, Native American ancestry): it overlaps by nature.
    clear = groups != "AMR"
    assert (nearest[clear] == groups[clear]).mean() > 0.98
    outputs = {p.name for p in result.out.iterdir()}
    assert {"sample_qc.tsv", "pcs.tsv", "failed_samples.tsv", "failed_variants.tsv", "variant_qc.tsv.gz",
            "related_pairs.tsv", "pca_variants.txt", "qc.json", "report"} <= outputs
    assert {"pcs_pc1_pc2.png", "pcs_pc1_pc2.svg", "report.html"} <= {p.name for p in (result.out / "report").iterdir()}
    html = (result.out / "report" / "report.html").read_text()
    assert not any(s in html for s in info["sample.id"])  # aggregate only


def _concatenate_autosomes(folder, target):
    """One plain VCF from the per-chromosome files (same samples, same header)."""
    with open(target, "w") as out:
        for i, c in enumerate(range(1, 23)):
            with gzip.open(folder / f"1KG_phase3_subset_chr{c}.vcf.gz", "rt") as fh:
                for line in fh:
                    if line.startswith("#") and i > 0:
                        continue
                    out.write(line)


def test_1kg_pcs_agree_with_plink2(kg_qc, shared_data, plink2, tmp_path):
    """plink2 --pca on the same LD-pruned variants and the same unrelated samples (the PCA fit set)."""
    result, qc, _ = kg_qc
    vcf = tmp_path / "autosomes.vcf"
    _concatenate_autosomes(shared_data / "1kg", vcf)
    fit = qc.loc[qc["pc_source"] == "fit", "s"]
    (tmp_path / "keep.txt").write_text("".join(f"{s}\n" for s in fit))
    run = subprocess.run([plink2, "--vcf", str(vcf), "--vcf-half-call", "m", "--set-all-var-ids", "@:#:$r:$a",
                          "--new-id-max-allele-len", "1000", "--extract", str(result.out / "pca_variants.txt"),
                          "--keep", str(tmp_path / "keep.txt"), "--pca", "4", "--threads", "2",
                          "--out", str(tmp_path / "plink")], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:]
    plink = pd.read_csv(tmp_path / "plink.eigenvec", sep="\t").rename(columns={"#IID": "IID", "#FID": "FID"})
    ours = read_pcs(result.out / "pcs.tsv").merge(plink, on="IID", suffixes=("", "_plink2"))
    assert len(ours) == len(fit)
    for c in range(1, 5):
        r = np.corrcoef(ours[f"PC{c}"], ours[f"PC{c}_plink2"])[0, 1]
        assert abs(r) > PC_AGREEMENT, (c, r)


@pytest.fixture(scope="module")
def simulated_qc(hail, tmp_path_factory):
    """A cohort with 10 % of samples in planted pairs and X (males haploid), recorded sex from the
    .sample file with three sexes deliberately swapped."""
    from hubscan.simulate.cohort import CohortSpec, simulate_samples
    from hubscan.simulate.genotypes import write_genotype_files

    root = tmp_path_factory.mktemp("qc-sim")
    # The whole genome: realised kinship of relatives varies less over more chromosomes.
    spec = CohortSpec(n_samples=300, n_variants=16000, chromosomes=tuple(str(c) for c in range(1, 23)) + ("X",),
                      related_fraction=0.2, imputed_fraction=0.0, seed=5)
    samples = simulate_samples(spec)
    files = write_genotype_files(spec, samples, root / "cohort")
    swapped = samples.ids[[3, 50, 120]]
    sex = np.where(np.isin(samples.ids, swapped), 3 - samples.sex, samples.sex)
    pd.DataFrame({"sample_id": samples.ids, "sex": sex}).to_csv(root / "sex.tsv", sep="\t", index=False)
    result = run_qc([str(files.vcf)], root / "qc", QcThresholds(n_pcs=4), sex_file=str(root / "sex.tsv"))
    return samples, swapped, result


def test_planted_pairs_are_first_degree(simulated_qc):
    samples, _, result = simulated_qc
    pairs = pd.read_csv(result.out / "related_pairs.tsv", sep="\t")
    found = {(a, b): d for a, b, d in zip(pairs["i"], pairs["j"], pairs["degree"])}
    planted = {tuple(sorted(samples.ids[p])) for p in samples.pairs}
    assert len(planted) == 30
    for pair in planted:
        assert found.get(pair) == "first degree", pair
    # Beyond the planted pairs, no pair closer than third degree.
    others = pairs[[tuple(sorted((a, b))) not in planted for a, b in zip(pairs["i"], pairs["j"])]]
    assert (others["degree"] == "third degree").all() and len(others) <= 5
    qc = pd.read_csv(result.out / "sample_qc.tsv", sep="\t")
    unrelated = set(qc.loc[qc["in_unrelated_set"], "s"])
    assert all(not (a in unrelated and b in unrelated) for a, b in planted)
    assert qc["PC1"].notna().all() and set(qc["pc_source"]) == {"fit", "projected"}


def test_sex_check_flags_swapped_records(simulated_qc):
    samples, swapped, result = simulated_qc
    qc = pd.read_csv(result.out / "sample_qc.tsv", sep="\t")
    assert set(qc.loc[qc["sex_check"] == "mismatch", "s"]) == set(swapped)
    assert (qc.loc[~qc["s"].isin(swapped), "sex_check"] == "ok").all()
    failed = pd.read_csv(result.out / "failed_samples.tsv", sep="\t")
    assert set(failed.loc[failed["reason"] == "sex_mismatch", "s"]) == set(swapped)
    genetic = dict(zip(qc["s"], qc["genetic_sex"]))
    assert all(genetic[s] == x for s, x in zip(samples.ids, samples.sex))


def _tiny_vcf(path, n_samples=40, n_variants=300, empty_sample=None, seed=3):
    rng = np.random.default_rng(seed)
    ids = [f"T{i:03d}" for i in range(n_samples)]
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=22,length=51304566>",
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *ids])]
    for v in range(n_variants):
        p = rng.uniform(0.1, 0.5)
        g = rng.binomial(2, p, n_samples)
        calls = [["0/0", "0/1", "1/1"][x] for x in g]
        if empty_sample is not None:
            calls[empty_sample] = "./."
        lines.append("\t".join(["22", str(16_000_000 + 50_000 * v), ".", "A", "G", ".", "PASS", ".", "GT", *calls]))
    path.write_text("\n".join(lines) + "\n")
    return ids


def test_sample_with_no_calls_is_reported_not_fatal_and_store_gives_the_same(hail, tmp_path):
    """A sample with no calls is reported, not fatal; QC of the genotype store ingested from the same
    VCF gives the same sample QC and PCs (the store goes to Hail through a PLINK .bed)."""
    import pysam

    from gwas.ingest.run import ingest

    ids = _tiny_vcf(tmp_path / "t.vcf", empty_sample=7)
    thresholds = QcThresholds(n_pcs=2, ld_r2=0.9)
    result = run_qc([str(tmp_path / "t.vcf")], tmp_path / "qc", thresholds)
    failed = pd.read_csv(result.out / "failed_samples.tsv", sep="\t")
    assert failed.to_dict("records") == [{"s": ids[7], "reason": "no_calls"}]
    pcs = read_pcs(result.out / "pcs.tsv")
    assert ids[7] not in set(pcs["IID"]) and len(pcs) == 39

    vcf_gz = pysam.tabix_index(str(tmp_path / "t.vcf"), preset="vcf", force=True)
    ingest([vcf_gz], tmp_path / "store")
    from_store = run_qc([str(tmp_path / "store")], tmp_path / "qc-store", thresholds)
    a = pd.read_csv(result.out / "sample_qc.tsv", sep="\t")
    b = pd.read_csv(from_store.out / "sample_qc.tsv", sep="\t")
    pd.testing.assert_frame_equal(a[["s", "n_called", "n_het", "fail_reasons"]], b[["s", "n_called", "n_het", "fail_reasons"]])
    for c in ("PC1", "PC2"):
        assert np.allclose(np.abs(a[c].fillna(0)), np.abs(b[c].fillna(0)), atol=1e-6)


def test_store_as_plink_reads_back_in_plink2(tmp_path, plink2):
    """The store's .bed, read by plink2 and exported as VCF, gives the source's genotypes (haploid X
    calls of males as homozygous, PLINK's convention)."""
    import pysam

    from gwas.ingest.run import ingest
    from gwas.qc.from_store import store_to_plink
    from hubscan.simulate.cohort import CohortSpec, simulate_samples
    from hubscan.simulate.genotypes import write_genotype_files

    spec = CohortSpec(n_samples=50, n_variants=400, chromosomes=("22", "X"), imputed_fraction=0.0, seed=9)
    files = write_genotype_files(spec, simulate_samples(spec), tmp_path / "cohort")
    ingest([str(files.vcf)], tmp_path / "store", variants_chunk=128)
    bed = store_to_plink(tmp_path / "store", tmp_path / "plink" / "g", block_size=100)
    run = subprocess.run([plink2, "--bfile", str(bed)[:-4], "--export", "vcf", "--out", str(tmp_path / "back")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:]

    def alt_counts(path, double_haploid):
        out = []
        with pysam.VariantFile(str(path)) as vf:
            for rec in vf:
                row = []
                for sample in rec.samples.values():
                    gt = sample["GT"]
                    if any(a is None for a in gt):
                        row.append(-1)
                    else:
                        n = sum(a == 1 for a in gt)
                        row.append(2 * n if double_haploid and len(gt) == 1 else n)
                out.append(row)
        return np.array(out)

    assert (alt_counts(files.vcf, True) == alt_counts(tmp_path / "back.vcf", False)).all()


def test_too_few_variants_for_pca(hail, tmp_path):
    _tiny_vcf(tmp_path / "t.vcf", n_variants=30)
    with pytest.raises(InputError, match="PCA of 50 components needs more than 50 LD-pruned common variants"):
        run_qc([str(tmp_path / "t.vcf")], tmp_path / "qc", QcThresholds(n_pcs=50))
    assert not (tmp_path / "qc" / "qc.json").exists()


def test_unknown_sex_code_names_the_line(tmp_path):
    path = tmp_path / "sex.tsv"
    path.write_text("sample_id\tsex\nA\tM\nB\t2\nC\tNA\nD\tX\n")
    with pytest.raises(InputError, match=r"sex.tsv:5: unknown sex code 'X'"):
        read_recorded_sex(path)
    path.write_text("sample_id\tsex\nA\tM\nB\t2\nC\t0\n")
    assert read_recorded_sex(path) == {"A": 1, "B": 2, "C": None}
    path.write_text("sample_id\tgender\nA\tM\n")
    with pytest.raises(InputError, match="no column 'sex'"):
        read_recorded_sex(path)


def test_bad_inputs_and_settings(tmp_path):
    with pytest.raises(InputError, match="unknown genotype format"):
        run_qc([str(tmp_path / "x.txt")], tmp_path / "qc")
    with pytest.raises(ConfigError, match="female_f"):
        QcThresholds(female_f=0.9, male_f=0.8)
    assert degree(0.25) == "first degree" and degree(0.1) == "second degree" and degree(0.01) == "unrelated"
