"""GWAS scans end to end: the results store equals the in-memory API, Spark tasks equal the serial
loop byte for byte, spark-submit and local-cluster give the same files, a killed run resumes to the
same bytes, and bad input is refused before any work."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gwas
from gwas.results import open_results
from gwas.scan import run_scan
from gwas.scan.config import validate
from gwas.store.reader import GenotypeStore
from hubscan.errors import ConfigError, InputError
from tests.scan.conftest import write_plink_table

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BLOCK = 100     # 15 blocks of the 1,500 variants
TRAITS = ["ldl", "bmi", "type_2_diabetes", "prostate_cancer"]
#: the scan runs the same kernels on blocks instead of all variants at once: only the summation
#: order (BLAS, and loops the compiler vectorises by the CPU's SIMD width) may differ
RTOL = 1e-9


def logistic_rtol(dosage: np.ndarray, standard_error: np.ndarray) -> np.ndarray:
    """Per-variant relative tolerance of a logistic fit's beta, SE and -log10 p between two
    summation orders: RTOL plus the rounding bound n eps kappa of the genotype's information
    V = g'Wg - g'WC (C'WC)^-1 C'Wg, a difference of sums whose cancellation factor kappa =
    g'Wg / V is at most sum(g^2) SE^2 / 4 (weights W <= 1/4, SE^2 = 1 / V). It is about 1 for a
    common variant and up to 2e7 for a near-monomorphic one (allele count < 2 of 800), whose
    one-step score beta U / V (|beta| 20-400, SE 150-215) then moves by ~5e-8 relative between
    CPUs (measured: native against NUMBA_CPU_NAME=generic and OPENBLAS_CORETYPE=SandyBridge,
    0.5 % of this bound at most)."""
    n = dosage.shape[1]
    kappa = 0.25 * np.nansum(dosage ** 2, axis=1) * np.nan_to_num(standard_error) ** 2
    return RTOL + n * np.finfo(np.float64).eps * kappa


def _config(c, out, **extra):
    raw = {"genotypes": str(c["store"]), "phenotypes": str(c["pheno"]), "covariates": [str(c["cov"])],
           "out": str(out), "min_cases": 10, "block_size": BLOCK, **extra}
    return validate(raw)


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.glob("trait=*/*.parquet"))}


@pytest.fixture(scope="module")
def serial(scan_cohort, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "gwas"
    run_scan(_config(scan_cohort, out))
    return out


def test_results_equal_the_in_memory_api(scan_cohort, serial):
    res = open_results(serial)
    info = {t["name"]: t for t in res.metadata["traits"]}
    assert info["prostate_cancer"]["covariates_dropped"] == ["sex"]      # men only: sex is constant
    assert info["ldl"]["covariates"] == ["sex", "age"] and res.metadata["n_variants"] == 1500

    store = GenotypeStore(scan_cohort["store"])
    ids = store.sample_ids.tolist()
    pheno = scan_cohort["pheno_frame"].set_index("IID").loc[ids]
    cov = scan_cohort["cov_frame"].set_index("IID").loc[ids][["sex", "age"]].to_numpy()
    dosage = store.dosage(dtype=np.float64)  # what a scan reads: codes / 16383 in float64
    expected = {
        "ldl": gwas.linear_regression(dosage, pheno[["ldl", "bmi"]].to_numpy(), cov),
        "type_2_diabetes": gwas.logistic_regression(dosage, pheno["type_2_diabetes"].to_numpy(), cov,
                                                    test="firth-fallback"),
        "prostate_cancer": gwas.logistic_regression(dosage, pheno["prostate_cancer"].to_numpy(), cov[:, 1:],
                                                    test="firth-fallback"),
    }
    for trait, col, ref in [("ldl", 0, expected["ldl"]), ("bmi", 1, expected["ldl"]),
                            ("type_2_diabetes", 0, expected["type_2_diabetes"]),
                            ("prostate_cancer", 0, expected["prostate_cancer"])]:
        got = res.read(traits=[trait]).sort_values("variant_index")
        assert got.variant_index.tolist() == list(range(1500))
        rtol = RTOL if ref is expected["ldl"] else logistic_rtol(dosage, ref.standard_error[:, col])
        for field in ("beta", "standard_error", "neg_log10_p", "allele_frequency"):
            want = getattr(ref, field)[:, col]
            assert np.array_equal(np.isnan(got[field]), np.isnan(want)), f"{trait} {field}"
            ok = ~np.isnan(want)
            assert (np.abs(got[field].to_numpy()[ok] - want[ok]) <= (rtol * np.abs(want))[ok]).all(), \
                f"{trait} {field}"
        for field in ("n", "n_cases", "error_code", "firth_used"):
            np.testing.assert_array_equal(got[field], getattr(ref, field)[:, col], err_msg=f"{trait} {field}")
    t2d = res.read(traits=["type_2_diabetes"])
    assert set(t2d.test) == {"score", "firth"} and (t2d.test == "firth").sum() == t2d.firth_used.sum() > 0
    variants = store.variants()
    ldl = res.read(traits=["ldl"]).sort_values("variant_index")
    assert ldl.position.tolist() == variants.position.tolist() and ldl.alt.tolist() == variants.alt.tolist()


def test_spark_tasks_write_the_same_bytes(scan_cohort, serial, spark, tmp_path):
    out = tmp_path / "spark"
    result = run_scan(_config(scan_cohort, out), spark)
    assert result.tasks_run == 15 and (out / "_SUCCESS").is_file()
    assert _files(out) == _files(serial) and len(_files(out)) == 60


def _env():
    venv_bin = Path(sys.executable).parent
    return dict(os.environ, PATH=f"{venv_bin}:{os.environ['PATH']}", PYSPARK_PYTHON=sys.executable)


def test_spark_submit_yaml_and_local_cluster(scan_cohort, serial, tmp_path):
    """spark-submit with spark-conf/local.conf and a YAML run configuration (paths relative to it),
    and Spark's local-cluster master with flags alone: the same files as the serial run."""
    c = scan_cohort
    (tmp_path / "run.yaml").write_text(
        f"genotypes: {os.path.relpath(c['store'], tmp_path)}\nphenotypes: {os.path.relpath(c['pheno'], tmp_path)}\n"
        f"covariates: [{os.path.relpath(c['cov'], tmp_path)}]\nmin_cases: 10\nblock_size: {BLOCK}\nout: submitted\n")
    spark_submit = Path(sys.executable).parent / "spark-submit"
    submitted = subprocess.run(
        [str(spark_submit), "--properties-file", "spark-conf/local.conf", "--master", "local[2]",
         "--driver-memory", "2g", "jobs/gwas.py", "--config", str(tmp_path / "run.yaml")],
        cwd=PROJECT_ROOT, env=_env(), capture_output=True, text=True, timeout=600)
    assert submitted.returncode == 0, submitted.stderr[-3000:]
    assert _files(tmp_path / "submitted") == _files(serial)
    cluster = subprocess.run(
        [sys.executable, "-m", "hubscan.cli", "gwas", "--genotype-store", str(c["store"]), "--phenotypes",
         str(c["pheno"]), "--covariate", str(c["cov"]), "--min-cases", "10", "--block-size", str(BLOCK),
         "--out", str(tmp_path / "cluster"), "--spark-master", "local-cluster[2,1,1024]"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=600)
    assert cluster.returncode == 0, cluster.stderr[-3000:]
    assert "1500 variants x 4 traits" in cluster.stdout
    assert _files(tmp_path / "cluster") == _files(serial)


def test_killed_run_resumes_to_the_same_bytes(scan_cohort, serial, tmp_path):
    c, out = scan_cohort, tmp_path / "killed"
    argv = ["gwas", "--genotype-store", str(c["store"]), "--phenotypes", str(c["pheno"]), "--covariate",
            str(c["cov"]), "--min-cases", "10", "--block-size", str(BLOCK), "--out", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "hubscan.cli", *argv, "--spark-master", "local[2]"],
                            cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list((out / "_parts").glob("block-*.done")):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = list((out / "_parts").glob("block-*.done"))
    assert 0 < len(done) < 15 and not (out / "_SUCCESS").exists()
    from hubscan.cli import main

    assert main(argv) == 0
    assert _files(out) == _files(serial)
    assert not list(out.glob("trait=*/.*tmp*"))


def test_bad_input_refused_before_any_work(scan_cohort, tmp_path):
    c, out = scan_cohort, tmp_path / "never"
    with pytest.raises(ConfigError, match="trait\\(s\\) not in .*: nope"):
        run_scan(_config(c, out, traits=["ldl", "nope"]))
    other = write_plink_table(tmp_path / "other.tsv", pd.DataFrame({"IID": ["X1", "X2"], "ldl": [1.0, 2.0]}))
    with pytest.raises(InputError, match="no sample is shared"):
        run_scan(_config(c, out, phenotypes=str(other)))
    cov = c["cov_frame"].assign(const=1.0)
    with pytest.raises(ConfigError, match="covariate 'const' has no variance"):
        run_scan(_config(c, out, covariates=[str(write_plink_table(tmp_path / "c1.tsv", cov))]))
    cov = c["cov_frame"].assign(age_months=lambda f: 12 * f.age + 3)
    with pytest.raises(ConfigError, match="covariate 'age_months' is perfectly collinear"):
        run_scan(_config(c, out, covariates=[str(write_plink_table(tmp_path / "c2.tsv", cov))]))
    with pytest.raises(ConfigError, match="covariate\\(s\\) weight not in"):
        run_scan(_config(c, out, covariate_names=["sex", "weight"]))
    with pytest.raises(InputError, match="variant id\\(s\\) not in the genotype store: rs0"):
        run_scan(_config(c, out, variant_ids=["rs0"]))
    with pytest.raises(ConfigError, match="no trait can be tested"):
        run_scan(_config(c, out, traits=["type_2_diabetes"], min_cases=1000))
    assert not out.exists()


def test_configuration_errors(scan_cohort, tmp_path):
    from gwas.scan.config import load_config

    bad = tmp_path / "bad.yaml"
    for text, message in [("genotypes: s\nphenotypes: p\nout: o\nmin_case: 5\n", "unknown key\\(s\\) min_case"),
                          ("genotypes: s\nphenotypes: p\nout: o\nmin_cases: ten\n", "min_cases must be int"),
                          ("genotypes: s\nphenotypes: p\nout: o\nbinary_test: t\n", "binary_test must be one of"),
                          ("phenotypes: p\nout: o\n", "genotypes is required"),
                          ("- a\n- b\n", "must be a mapping"), ("a: [\n", "not valid YAML")]:
        bad.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_config(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "none.yaml")


def test_skipped_traits_and_rerun_with_other_options(scan_cohort, serial, tmp_path):
    res = run_scan(_config(scan_cohort, tmp_path / "s", min_cases=60, regions=["21"]))
    info = {t["name"]: t for t in open_results(tmp_path / "s").metadata["traits"]}
    assert info["prostate_cancer"]["status"] == "skipped" and "< min_cases 60" in info["prostate_cancer"]["reason"]
    expected_skipped = [t for t in ("type_2_diabetes", "prostate_cancer")
                        if scan_cohort["pheno_frame"][t].value_counts().min() < 60]
    assert res.n_traits_skipped == len(expected_skipped) >= 1
    assert [t for t in info if info[t]["status"] == "skipped"] == expected_skipped
    assert not (tmp_path / "s" / "trait=prostate_cancer").exists()
    assert set(open_results(tmp_path / "s").read().contig) == {"21"}
    with pytest.raises(ConfigError, match="different configuration"):
        run_scan(_config(scan_cohort, serial, min_cases=11))


def test_phewas_over_a_phenotypes_folder(scan_cohort, tmp_path):
    """A `hubscan phenotypes`-style folder (traits.parquet + catalogue.tsv): catalogue fields reach
    _results.json, a sex-restricted trait drops sex, rare traits are skipped with the reason."""
    from phenotypes.matrix.catalogue import Catalogue
    from phenotypes.matrix.io import ParquetMatrixWriter

    c = scan_cohort
    frame = c["pheno_frame"]
    rng = np.random.default_rng(9)
    rare = (rng.random(len(frame)) < 0.01).astype(float)
    names = ["type_2_diabetes", "prostate_cancer", "rare_code", "ldl"]
    values = np.column_stack([frame.type_2_diabetes, frame.prostate_cancer, rare, frame.ldl])
    types = ["binary", "binary", "binary", "quantitative"]
    folder = tmp_path / "phenotypes"
    folder.mkdir()
    with ParquetMatrixWriter(folder / "traits.parquet", names, types) as w:
        w.write(frame.IID.to_numpy(), values)
    cat = Catalogue()
    for j, (name, kind) in enumerate(zip(names, types)):
        col = values[:, j]
        counts = {"cases": int((col == 1).sum()), "controls": int((col == 0).sum()), "excluded": 0,
                  "excluded_sex": int(np.isnan(col).sum()), "missing": 0}
        cat.add(name, kind, "custom", f"definition of {name}", counts, col)
    cat.write(folder / "catalogue.tsv")
    store = GenotypeStore(c["store"])
    ids = [str(v) for v in store.variant_field("variant_id")[:3]]
    result = run_scan(validate({"job": "phewas", "genotypes": str(c["store"]), "phenotypes": str(folder),
                                "covariates": [str(c["cov"])], "variant_ids": ids, "min_cases": 10,
                                "out": str(tmp_path / "phewas")}))
    res = open_results(tmp_path / "phewas")
    info = {t["name"]: t for t in res.metadata["traits"]}
    assert res.metadata["job"] == "phewas" and result.n_variants == 3
    assert info["rare_code"]["status"] == "skipped" and "< min_cases 10" in info["rare_code"]["reason"]
    assert info["prostate_cancer"]["covariates_dropped"] == ["sex"]
    assert info["ldl"]["definition"] == "definition of ldl" and info["ldl"]["source"] == "custom"
    rows = res.read()
    assert sorted(set(rows.trait)) == ["ldl", "prostate_cancer", "type_2_diabetes"] and len(rows) == 9
    assert sorted(set(rows.variant_id)) == sorted(ids)


def test_traits_spread_over_tasks_give_the_same_bytes(scan_cohort, serial, spark, tmp_path):
    """One trait per task (block x trait chunk), on Spark: the same results as the whole-block run
    (binary traits byte for byte; quantitative traits batched together in one matrix product
    differ only in BLAS summation order: betas within 1e-7 standard errors and -log10 p to 1e-7 —
    nearly monomorphic imputed variants (AF 0.999, residual genotype variance ~1e-4 of the raw)
    are ill-conditioned and move in the 8th digit; every other row agrees to ~1e-15)."""
    out = tmp_path / "chunked"
    result = run_scan(_config(scan_cohort, out, trait_chunk=1), spark)
    assert result.tasks_run == 60
    chunked, whole = _files(out), _files(serial)
    assert chunked.keys() == whole.keys()
    assert all(chunked[k] == whole[k] for k in whole if "diabetes" in k or "prostate" in k)
    a = open_results(out).read().sort_values(["trait", "variant_index"]).reset_index(drop=True)
    b = open_results(serial).read().sort_values(["trait", "variant_index"]).reset_index(drop=True)
    ok = a.beta.notna()
    assert (ok == b.beta.notna()).all()
    assert (np.abs(a.beta[ok] - b.beta[ok]) <= 1e-7 * b.standard_error[ok]).all()
    np.testing.assert_allclose(a.neg_log10_p[ok], b.neg_log10_p[ok], rtol=1e-7)
    assert (a.n == b.n).all() and (a.error_code == b.error_code).all()


def _cli(argv, cwd, **env):
    return subprocess.run([sys.executable, "-m", "hubscan.cli", *argv], cwd=cwd, env=dict(_env(), **env),
                          capture_output=True, text=True, timeout=600)


def test_cli_runs_in_process_by_default_without_a_jvm(scan_cohort, serial, tmp_path):
    """`hubscan gwas` without Spark options needs no Java at all (JAVA_HOME points nowhere) and writes
    the same bytes as run_scan in this process, which test_spark_tasks_write_the_same_bytes shows are
    Spark's bytes; `--threads 1` too. With --spark-master the same command needs Java (exit 3)."""
    c = scan_cohort
    argv = ["gwas", "--genotype-store", str(c["store"]), "--phenotypes", str(c["pheno"]), "--covariate",
            str(c["cov"]), "--min-cases", "10", "--block-size", str(BLOCK)]
    no_java = {"JAVA_HOME": str(tmp_path / "no-java")}
    for name, extra in [("threads", []), ("one-thread", ["--threads", "1"])]:
        done = _cli([*argv, "--out", str(tmp_path / name), *extra], tmp_path, **no_java)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "blocks run in this process" in done.stderr and "1500 variants x 4 traits" in done.stdout
        assert _files(tmp_path / name) == _files(serial)
        assert (tmp_path / name / "_results.json").read_bytes().count(b"pyspark") == 1  # version, from metadata
    spark = _cli([*argv, "--out", str(tmp_path / "spark"), "--spark-master", "local[2]"], tmp_path, **no_java)
    assert spark.returncode == 3 and "Java not found" in spark.stderr


def test_mistakes_reported_before_numba_or_spark_start(scan_cohort, tmp_path):
    """A wrong trait, an unknown file, no shared sample: exit 2/1 with the reason, even with
    --spark-master and no Java, and neither numba nor pyspark imported (checked in the process)."""
    c = scan_cohort
    other = write_plink_table(tmp_path / "other.tsv", pd.DataFrame({"IID": ["X1", "X2"], "ldl": [1.0, 2.0]}))
    base = ["gwas", "--genotype-store", str(c["store"]), "--covariate", str(c["cov"]), "--out", str(tmp_path / "o")]
    probe = ("import sys\nfrom hubscan.cli import main\ncode = main(sys.argv[1:])\n"
             "print('loaded:', sorted(m for m in ('numba', 'pyspark', 'hail', 'pandas') if m in sys.modules))\n"
             "sys.exit(code)\n")
    for extra, code, message in [
            (["--phenotypes", str(c["pheno"]), "--trait", "nope"], 2, "trait\\(s\\) not in .*: nope"),
            (["--phenotypes", str(tmp_path / "none.tsv")], 1, "phenotype file .*none.tsv does not exist"),
            (["--phenotypes", str(other)], 1, "no sample is shared"),
            (["--phenotypes", str(c["pheno"]), "--threads", "0"], 2, "--threads must be at least 1"),
            (["--phenotypes", str(c["pheno"]), "--engine", "threads", "--spark-master", "local[2]"], 2,
             "--engine threads contradicts --spark-master")]:
        done = subprocess.run([sys.executable, "-c", probe, *base, *extra, "--spark-master", "local[2]"][:None if
                              "--engine" not in extra else -2], cwd=tmp_path, capture_output=True, text=True,
                              env=dict(_env(), JAVA_HOME=str(tmp_path / "no-java")), timeout=300)
        assert done.returncode == code, (extra, done.stderr[-2000:])
        assert len(done.stderr.strip().splitlines()) == 1
        import re

        assert re.search(message, done.stderr), done.stderr
        assert "loaded: []" in done.stdout
    assert not (tmp_path / "o").exists()


def test_second_run_starts_warm_from_numba_cache(scan_cohort, tmp_path):
    """A fresh Numba cache: the first `hubscan gwas` compiles and saves its kernels, the second loads
    them and compiles nothing: a cached kernel that had to be compiled again would be saved again
    (NUMBA_DEBUG_CACHE prints each save and load)."""
    c = scan_cohort
    argv = ["gwas", "--genotype-store", str(c["store"]), "--phenotypes", str(c["pheno"]), "--trait", "ldl",
            "--covariate", str(c["cov"]), "--region", "21"]
    logs = []
    for run in ("first", "second"):
        done = _cli([*argv, "--out", str(tmp_path / run)], tmp_path, NUMBA_CACHE_DIR=str(tmp_path / "cache"),
                    NUMBA_DEBUG_CACHE="1")
        assert done.returncode == 0, done.stderr[-3000:]
        logs.append(done.stdout + done.stderr)
    assert logs[0].count("data saved") > 0
    assert logs[1].count("data saved") == 0 and logs[1].count("data loaded") > 0
    assert _files(tmp_path / "first") == _files(tmp_path / "second")
