"""`hubscan gwas --bfile PREFIX` (a PLINK 1 fileset read in place, no ingest) against a scan of the
store `hubscan ingest` makes of the same .bed, and against plink2 --glm --bfile.

Store comparison: the same rows and bit-identical statistics, on threads and as Spark tasks. The
in-place reader hands the kernels the very uint16 codes the store holds
(tests/store/test_bed_source.py), so the code path guarantees equality; the test asserts it with
every sample and variant filter (--keep, --remove, --extract, --exclude, --chr, --mac, --min-maf),
a quantitative and a binary trait (firth-fallback), missing calls and haploid X calls.
plink2: test_plink2_habits's data and comparison (same samples, variants, n; beta/SE/p to plink2's
printed precision)."""

import numpy as np
import pandas as pd
import pytest

from gwas.results import open_results
from gwas.scan.config import load_config
from gwas.scan.run import run_scan
from hubscan.cli import main
from tests.scan.test_plink2_habits import agree, data, run_plink2  # noqa: F401 (data: the fixture)
from tests.store.test_bed_source import write_fileset


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """403 samples x 400 variants on 1, 2, X, MT with 2 % missing calls; traits q and b (30 %
    cases); keep/remove/extract/exclude lists; the ingested store."""
    root = tmp_path_factory.mktemp("bed-scan")
    g = write_fileset(root, n=403, m=400, seed=11)
    rng = np.random.default_rng(12)
    dose = np.where(g == 3, 0, g).astype(float)
    iids = [f"I{i}" for i in range(403)]
    q = 0.3 * dose[40] + rng.standard_normal(403)
    q[rng.random(403) < 0.05] = np.nan
    b = (rng.random(403) < 0.2 + 0.1 * dose[120]).astype(float)
    pd.DataFrame({"#FID": [f"F{i}" for i in range(403)], "IID": iids, "q": q, "b": b, "age": rng.normal(50, 9, 403)}
                 ).to_csv(root / "pheno.txt", sep="\t", index=False, na_rep="NA", float_format="%.17g")
    (root / "keep.txt").write_text("".join(f"{i}\n" for i in iids[:380]))
    (root / "remove.txt").write_text("".join(f"F{k} {iids[k]}\n" for k in range(0, 403, 7)))
    (root / "extract.txt").write_text("".join(f"v{v}\n" for v in range(400) if v % 5 and v % 17))
    (root / "exclude.txt").write_text("".join(f"v{v}\n" for v in range(0, 400, 9)))
    assert main(["ingest", str(root / "d.bed"), "--out", str(root / "store")]) == 0
    return root


def _args(root, *extra):
    return ["--phenotypes", str(root / "pheno.txt"), "--trait", "q", "--trait", "b", "--covariate",
            str(root / "pheno.txt"), "--covariate-names", "age", "--min-cases", "20", "--threads", "2", *extra]


def _read(out):
    return open_results(out).read().sort_values(["trait", "variant_index"]).reset_index(drop=True)


@pytest.mark.parametrize("filters", [
    [],
    ["--keep", "keep.txt", "--remove", "remove.txt", "--extract", "extract.txt", "--exclude", "exclude.txt",
     "--chr", "1,X", "--mac", "15"],
    ["--min-maf", "0.1", "--region", "2", "--region", "MT"],
])
def test_in_place_equals_the_ingested_store(cohort, filters, tmp_path):
    """The same rows and bit-identical statistics whichever source: --bfile PREFIX, a .bed path as
    --genotype-store, or the store."""
    extra = [str(cohort / f) if f.endswith(".txt") else f for f in filters]
    assert main(["gwas", "--genotype-store", str(cohort / "store"), "--out", str(tmp_path / "s"),
                 *_args(cohort, *extra)]) == 0
    assert main(["gwas", "--bfile", str(cohort / "d"), "--out", str(tmp_path / "b"), *_args(cohort, *extra)]) == 0
    theirs, ours = _read(tmp_path / "s"), _read(tmp_path / "b")
    assert len(ours) > 50 and set(ours.trait) == {"q", "b"} and (ours.test == "firth").any()
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    if filters:
        assert main(["gwas", "--genotype-store", str(cohort / "d.bed"), "--out", str(tmp_path / "p"),
                     *_args(cohort, *extra)]) == 0
        pd.testing.assert_frame_equal(_read(tmp_path / "p"), theirs, check_exact=True)
    meta = open_results(tmp_path / "b").metadata
    record = meta["inputs"][str(cohort / "d.bed")]["plink_in_place"]
    assert record["bed"]["bytes"] == (cohort / "d.bed").stat().st_size and len(record["bim"]["sha256"]) == 64


def test_spark_tasks_equal_threads(cohort, spark, tmp_path):
    """Blocks of the .bed read in Spark tasks (the executors open the fileset): the threads' rows."""
    common = {"genotypes": str(cohort / "d.bed"), "phenotypes": str(cohort / "pheno.txt"), "traits": ["q", "b"],
              "covariates": [str(cohort / "pheno.txt")], "covariate_names": ["age"], "min_cases": 20,
              "block_size": 150}
    run_scan(load_config(None, {**common, "out": str(tmp_path / "threads")}))
    run_scan(load_config(None, {**common, "out": str(tmp_path / "spark")}), spark)
    pd.testing.assert_frame_equal(_read(tmp_path / "spark"), _read(tmp_path / "threads"), check_exact=True)


def test_in_place_matches_plink2(data, plink2):  # noqa: F811 (the imported fixture)
    """plink2 --glm --bfile and hubscan gwas --bfile on the same files, with sample and variant filters."""
    common = ["--keep", str(data / "keep.txt"), "--extract", str(data / "extract.txt"), "--mac", "12"]
    theirs = run_plink2(plink2, data, "p-bfile", "--covar", str(data / "covar.txt"), "--covar-name", "c1,c2",
                        *common, "--chr", "1,3")
    out = data / "h-bfile"
    assert main(["gwas", "--bfile", str(data / "d"), "--out", str(out), "--threads", "2", "--phenotypes",
                 str(data / "pheno.txt"), "--covariate", str(data / "covar.txt"), "--covariate-names", "c1,c2",
                 *common, "--chr", "1,3"]) == 0
    ours = open_results(out).read(traits=["q"]).sort_values("variant_index").reset_index(drop=True)
    assert 100 < len(theirs) < 600
    agree(ours, theirs)


def test_bfile_errors(cohort, tmp_path, capsys):
    """--bfile with --genotype-store is a usage error; a prefix without its .bim names the file."""
    argv = ["gwas", "--phenotypes", str(cohort / "pheno.txt"), "--out", str(tmp_path / "x")]
    assert main([*argv, "--bfile", str(cohort / "d"), "--genotype-store", str(cohort / "store")]) == 2
    assert "--genotype-store and --bfile each name the genotypes" in capsys.readouterr().err
    (tmp_path / "lone.bed").write_bytes((cohort / "d.bed").read_bytes())
    assert main([*argv, "--bfile", str(tmp_path / "lone")]) == 1
    assert "lone.bim" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
