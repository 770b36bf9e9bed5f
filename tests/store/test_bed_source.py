"""A PLINK 1 fileset read in place (gwas.store.bed_source) against the store `hubscan ingest` makes
of the same files, the decoding kernels against plain NumPy, and bad filesets.

Reference: the ingested store (gwas.ingest.plink, an independent decoding path: int8 calls, then
ploidy, then dosage encoding). Data: 203 samples (the last .bed byte half padding) of every sex
(male, female, unknown) x 400 variants on 1, 2, X and MT (haploid males on X, everyone on MT),
2 % missing calls, missing ids and alleles. Tolerance: none; the codes, frequencies and call rates
are exact integers or ratios of exact integers, so every value must be equal."""

import numpy as np
import pytest

from gwas.kernels.bed_codes import (DIPLOID, HAPLOID_ALL, HAPLOID_MALES, bed_allele_sums, bed_allele_sums_reference,
                                    bed_scaled_codes, bed_scaled_codes_reference)
from gwas.qc.from_store import BED_MAGIC, pack_bed
from gwas.store import bed_source
from gwas.store.bed_source import BedGenotypes
from gwas.store.source import bed_prefix, open_genotypes
from hubscan.errors import InputError

N, M = 203, 400
FIELDS = ["variant_contig", "variant_position", "variant_id", "variant_allele", "variant_alt_frequency",
          "variant_call_rate", "variant_info"]


def write_fileset(root, n=N, m=M, seed=7, chroms=("1", "2", "X", "MT")):
    rng = np.random.default_rng(seed)
    g = rng.binomial(2, rng.uniform(0.02, 0.5, m)[:, None], size=(m, n)).astype(np.int8)
    g[rng.random((m, n)) < 0.02] = 3  # missing
    sex = np.where(np.arange(n) % 5 == 0, 0, 1 + np.arange(n) % 2)
    (root / "d.fam").write_text("".join(f"F{i} I{i} 0 0 {sex[i]} -9\n" for i in range(n)))
    chrom = np.repeat(chroms, -(-m // len(chroms)))[:m]
    (root / "d.bim").write_text("".join(
        f"{c}\t{'.' if v % 17 == 0 else f'v{v}'}\t0\t{1000 + v * 100}\t{'0' if v % 29 == 0 else 'A'}\tG\n"
        for v, c in enumerate(chrom)))
    (root / "d.bed").write_bytes(BED_MAGIC + pack_bed(g))
    return g


@pytest.fixture(scope="module")
def fileset(tmp_path_factory):
    from gwas.ingest.run import ingest
    from gwas.store.reader import GenotypeStore

    root = tmp_path_factory.mktemp("bed-in-place")
    write_fileset(root)
    ingest([str(root / "d.bed")], root / "store", variants_chunk=128, samples_chunk=64)
    return root, GenotypeStore(root / "store"), open_genotypes(root / "d")


@pytest.mark.parametrize("python", [False, True])
def test_kernels_match_numpy(python):
    """Random bytes (padding bits included), every ploidy mode, rows and samples in any order."""
    assert (bed_source.DIPLOID, bed_source.HAPLOID_MALES, bed_source.HAPLOID_ALL) == (DIPLOID, HAPLOID_MALES, HAPLOID_ALL)
    rng = np.random.default_rng(1)
    n = 37
    raw = rng.integers(0, 256, size=(50, -(-n // 4)), dtype=np.uint8)
    modes = rng.choice([DIPLOID, HAPLOID_MALES, HAPLOID_ALL], 50).astype(np.int8)
    male = rng.random(n) < 0.5
    rows, cols = rng.permutation(50)[:30], rng.permutation(n)[:25]
    codes = bed_scaled_codes.py_func if python else bed_scaled_codes
    sums = bed_allele_sums.py_func if python else bed_allele_sums
    out = np.empty((30, 25), dtype=np.uint16)
    codes(raw, rows, cols, modes[rows], male[cols], out)
    assert np.array_equal(out, bed_scaled_codes_reference(raw, rows, cols, modes[rows], male[cols]))
    every = np.arange(n)  # all samples in file order: decoded a byte at a time
    out = np.empty((30, n), dtype=np.uint16)
    codes(raw, rows, every, modes[rows], male, out)
    assert np.array_equal(out, bed_scaled_codes_reference(raw, rows, every, modes[rows], male))
    got = np.empty((50, 3), dtype=np.int64)
    sums(raw, n, modes, male, got)
    assert np.array_equal(got, bed_allele_sums_reference(raw, n, modes, male))


def test_fileset_reads_as_its_store(fileset):
    """Samples, contigs, every variant field the scans read, and the dosage codes of any rows and
    samples: those of the store ingested from the same files, exactly."""
    _, store, bed = fileset
    assert isinstance(bed, BedGenotypes) and bed.n_variants == M and bed.n_samples == N
    assert bed.sample_ids.tolist() == store.sample_ids.tolist() and bed.contig_ids == store.contig_ids
    for name in FIELDS:
        ours, theirs = bed.variant_field(name), store.variant_field(name)
        if theirs.dtype.kind == "f":
            assert np.array_equal(ours, theirs, equal_nan=True), name
        else:
            assert ours.tolist() == theirs.tolist(), name
    assert np.array_equal(bed.dosage_codes(), store.dosage_codes())
    rows, cols = np.array([0, 5, 150, 299, 399]), np.array([202, 3, 0, 100])
    assert np.array_equal(bed.dosage_codes(rows, cols), store.dosage_codes(rows, cols))
    assert np.array_equal(bed.dosage_codes(slice(200, 300)), store.dosage_codes(slice(200, 300)))
    index = np.array([3, 17, 290, 350])
    ours, theirs = bed.block_variants(index), store.block_variants(index)
    assert ours.keys() == theirs.keys() and all(ours[k].tolist() == theirs[k].tolist() for k in ours)
    # the filters give the store's selections
    for kw in ({"min_maf": 0.1}, {"min_call_rate": 0.985}, {"regions": ["X:10000-30000"]}, {"ids": ["v3", "v5"]}):
        assert np.array_equal(bed.select_variants(**kw), store.select_variants(**kw)), kw


def test_prefix_or_bed_path_opens_the_fileset_once(fileset):
    root, store, bed = fileset
    assert bed_prefix(root / "d.bed") == str(root / "d") and bed_prefix(root / "d") == str(root / "d")
    assert bed_prefix(root / "store") is None
    assert open_genotypes(str(root / "d.bed")) is bed  # kept open per process while unchanged


def test_bad_filesets(tmp_path):
    write_fileset(tmp_path, n=9, m=6, chroms=("1",))
    (tmp_path / "d.bim").rename(tmp_path / "e.bim")
    with pytest.raises(InputError, match=r"d\.bim"):
        BedGenotypes(tmp_path / "d")
    (tmp_path / "e.bim").rename(tmp_path / "d.bim")
    bim = (tmp_path / "d.bim").read_text()
    (tmp_path / "d.bim").write_text(bim + "1\tv9\t0\t9000\tA\tG\n")
    with pytest.raises(InputError, match="7 variants .* need"):
        BedGenotypes(tmp_path / "d")
    (tmp_path / "d.bim").write_text(bim.replace("\t0\t1200\t", "\t0\t"))
    with pytest.raises(InputError, match=r"d\.bim:3: 5 columns"):
        BedGenotypes(tmp_path / "d")
    (tmp_path / "d.bim").write_text(bim.replace("\t1200\t", "\t12x0\t"))
    with pytest.raises(InputError, match=r"d\.bim:3: position"):
        BedGenotypes(tmp_path / "d")
    (tmp_path / "d.bim").write_text(bim.replace("\t1200\tA\t", "\t1200\tA,C\t"))
    with pytest.raises(InputError, match=r"d\.bim:3: .*several alleles"):
        BedGenotypes(tmp_path / "d")


def test_opening_a_fileset_loads_no_numba(fileset):
    """Planning a scan (ids, fields, filters without frequencies) imports no Numba: a mistake is
    reported before any compilation (as for a store)."""
    import subprocess
    import sys

    root = fileset[0]
    probe = ("import sys\nfrom gwas.store.source import open_genotypes\n"
             f"g = open_genotypes({str(root / 'd')!r})\n"
             "g.select_variants(regions=['X'], ids=['v3']); g.block_variants(g.select_variants(regions=['1']))\n"
             "print('numba' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
