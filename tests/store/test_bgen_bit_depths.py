"""BGEN ingestion at bit depths beyond the reference files (1/2/3/8/16/32, tests/io): the simulator
writes the same cohort at 1, 5, 12, 24 and 28 bits (plink2 reads at most 28); plink2 reads each BGEN into a .pgen that the
PLINK 2 path ingests. Reference: plink2's dosages from the same stored probabilities.
Tolerance: plink2 rounds dosages to 1/16384 and each store rounds to 1/16383, so the two stores
differ by at most 0.5/16384 + 2 x 0.5/16383; missing calls exactly where plink2 has them.
"""

import subprocess

import numpy as np
import pytest

from gwas.ingest.run import ingest
from gwas.store.reader import GenotypeStore

TOL = 0.5 / 16384 + 2 * 0.5 / 16383


# each bit depth read with one allele order (both orders on both paths: the mirrored probabilities
# of `ref-last`); chromosome X carries haploid males (two probabilities per sample, diploid three)
@pytest.mark.parametrize("bits,order", [(1, "ref-first"), (5, "ref-last"), (12, "ref-first"), (24, "ref-last"),
                                        (28, "ref-first"), (8, "ref-last")])  # plink2 reads at most 28 bits
def test_bgen_bits_match_plink2(plink2, tmp_path, bits, order):
    from hubscan.simulate.cohort import CohortSpec, simulate_samples
    from hubscan.simulate.genotypes import write_genotype_files

    spec = CohortSpec(n_samples=60, n_variants=200, chromosomes=("22", "X"), imputed_fraction=0.5, seed=7)
    files = write_genotype_files(spec, simulate_samples(spec), tmp_path / "c", bits=bits)
    ingest([files.bgen], tmp_path / "ours", files.bgen_sample, variants_chunk=64, allele_order=order)
    subprocess.run([plink2, "--bgen", str(files.bgen), order, "--sample", str(files.bgen_sample),
                    "--make-pgen", "--out", str(tmp_path / "p"), "--threads", "1"], check=True, capture_output=True)
    ingest([tmp_path / "p.pgen"], tmp_path / "theirs", variants_chunk=64)
    ours, theirs = GenotypeStore(tmp_path / "ours"), GenotypeStore(tmp_path / "theirs")
    assert list(ours.sample_ids) == list(theirs.sample_ids)
    assert ours.variants()[["position", "ref", "alt"]].equals(theirs.variants()[["position", "ref", "alt"]])
    a, b = ours.dosage(dtype=np.float64), theirs.dosage(dtype=np.float64)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    assert np.nanmax(np.abs(a - b)) <= TOL
