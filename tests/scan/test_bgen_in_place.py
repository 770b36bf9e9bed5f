"""`hubscan gwas --bgen FILE` and `--pfile PREFIX` (BGEN and PLINK 2 files read in place, each block
converted by ingest's conversion) against scans of the stores `hubscan ingest` makes of the same
files: the same samples, variant fields and codes, and bit-identical results (the kernels read the
same codes, by construction). Files: plink2 `--export bgen-1.2 bits=8` and `--make-pgen` of
test_bed_in_place's cohort (403 samples x 400 variants on 1, 2, X, MT, missing calls)."""

import subprocess

import numpy as np
import pandas as pd
import pytest

from gwas.store.converted_source import ConvertedGenotypes
from gwas.store.reader import GenotypeStore
from gwas.store.source import open_genotypes
from hubscan.cli import main
from tests.scan.test_bed_in_place import _args, _read, cohort  # noqa: F401 (cohort: the fixture)

FIELDS = ["variant_contig", "variant_position", "variant_id", "variant_allele", "variant_alt_frequency",
          "variant_call_rate", "variant_info"]


@pytest.fixture(scope="module")
def files(cohort, plink2):  # noqa: F811 (the imported fixture)
    for args in (["--export", "bgen-1.2", "bits=8", "--out", "g"], ["--make-pgen", "--out", "p"]):
        args[-1] = str(cohort / args[-1])
        subprocess.run([plink2, "--bfile", str(cohort / "d"), *args, "--threads", "1"], check=True, capture_output=True)
    for name, source in (("store-bgen", "g.bgen"), ("store-pgen", "p.pgen")):
        assert main(["ingest", str(cohort / source), "--out", str(cohort / name)]) == 0
    return cohort


@pytest.mark.parametrize("source,store", [("g.bgen", "store-bgen"), ("p.pgen", "store-pgen")])
def test_file_reads_as_its_store(files, source, store):
    ours, theirs = open_genotypes(files / source), GenotypeStore(files / store)
    assert isinstance(ours, ConvertedGenotypes) and ours.n_variants == theirs.n_variants == 400
    assert ours.sample_ids.tolist() == theirs.sample_ids.tolist() and ours.contig_ids == theirs.contig_ids
    for name in FIELDS:
        a, b = ours.variant_field(name), theirs.variant_field(name)
        assert (np.array_equal(a, b, equal_nan=True) if b.dtype.kind == "f" else a.tolist() == b.tolist()), name
    rows, cols = np.array([2, 3, 250, 399]), np.array([400, 0, 17])
    assert np.array_equal(ours.dosage_codes(rows, cols), theirs.dosage_codes(rows, cols))
    assert np.array_equal(ours.dosage_codes(slice(100, 300)), theirs.dosage_codes(slice(100, 300)))


@pytest.mark.parametrize("flag,source,store,filters", [
    ("--bgen", "g.bgen", "store-bgen", ["--id-delim", "_"]),   # plink2's BGEN sample ids are FID_IID
    ("--bgen", "g.bgen", "store-bgen", ["--id-delim", "_", "--min-maf", "0.1", "--region", "2", "--chr", "2,X", "--mac", "20"]),
    ("--pfile", "p", "store-pgen", ["--keep", "keep.txt", "--extract", "extract.txt"]),
])
def test_in_place_equals_the_ingested_store(files, flag, source, store, filters, tmp_path):
    extra = [str(files / f) if f.endswith(".txt") else f for f in filters]
    assert main(["gwas", "--genotype-store", str(files / store), "--out", str(tmp_path / "s"),
                 "--block-size", "150", *_args(files, *extra)]) == 0
    assert main(["gwas", flag, str(files / source), "--out", str(tmp_path / "f"), "--block-size", "150",
                 *_args(files, *extra)]) == 0
    ours, theirs = _read(tmp_path / "f"), _read(tmp_path / "s")
    assert len(ours) > 40 and set(ours.trait) == {"q", "b"}
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
