"""Every job on a real Spark standalone cluster, as a user runs it: a master and two workers started
from the installed pyspark on 127.0.0.1, `spark-conf/standalone.conf.template` filled in, each
`jobs/<job>.py` submitted with spark-submit from a folder of its own with relative paths.

Checked: the master records every application as finished, the event logs show tasks run by
executors (not the driver), every output equals a local run of the same command (genotype store,
results and published files byte for byte; QC tables at 1e-9, see below), one worker killed in
the middle of the GWAS leaves a job that finishes with the same bytes, and a size no worker can
hold stops the job with one line. The cluster is stopped at the end whatever happens.

Marked ``cluster`` (``pytest -m cluster``); about 1.5 minutes of Spark start-ups per job.
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(3600)]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PYSPARK_HOME = None  # set by the fixture (the installed pyspark's folder)
EXECUTOR_MEMORY = "1g"
WORKER_MEMORY = "1200m"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    # executors import this checkout's hubscan (as a node with hubscan installed would)
    env["PYTHONPATH"] = str(PROJECT_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYSPARK_GATEWAY_PORT", None)
    env.pop("PYSPARK_GATEWAY_SECRET", None)
    return env


def _master_json(web: str) -> dict:
    with urllib.request.urlopen(f"{web}/json/", timeout=10) as r:
        return json.load(r)


class Cluster:
    """A standalone master and workers, each a process group of its own (killed by group)."""

    def __init__(self, root: Path):
        import pyspark

        self.root = root
        self.spark_home = Path(pyspark.__file__).parent
        self.port, self.web_port = _free_port(), _free_port()
        self.url, self.web = f"spark://127.0.0.1:{self.port}", f"http://127.0.0.1:{self.web_port}"
        self.procs: dict[str, subprocess.Popen] = {}

    def _start(self, name: str, args: list[str], extra_env: dict[str, str] | None = None) -> None:
        env = {**_env(), "SPARK_HOME": str(self.spark_home), **(extra_env or {})}
        log = open(self.root / f"{name}.log", "wb")
        self.procs[name] = subprocess.Popen([str(self.spark_home / "bin" / "spark-class"), *args], env=env,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start(self) -> None:
        self._start("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                               "--port", str(self.port), "--webui-port", str(self.web_port)])
        self._wait(lambda m: True, "the master's web UI")
        for i in (1, 2):
            self.start_worker(i)
        self._wait(lambda m: m["aliveworkers"] == 2, "two live workers")

    def start_worker(self, i: int) -> None:
        work = self.root / f"worker{i}"
        work.mkdir(exist_ok=True)
        self._start(f"worker{i}", ["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1",
                                   "--memory", WORKER_MEMORY, "--webui-port", str(_free_port()),
                                   "--work-dir", str(work), self.url],
                    {"SPARK_LOCAL_DIRS": str(work / "scratch")})

    def _wait(self, ready, what: str, seconds: float = 180) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if ready(_master_json(self.web)):
                    return
            except OSError:
                pass
            time.sleep(1)
        raise AssertionError(f"standalone cluster: no {what} after {seconds:.0f} s (logs in {self.root})")

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the worker and the executor it launched
        except ProcessLookupError:
            pass
        proc.wait()

    def stop(self) -> None:
        for name in sorted(self.procs, key=lambda n: n == "master"):  # workers first
            self.kill(name)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java: a standalone cluster needs Java 17")
    c = Cluster(tmp_path_factory.mktemp("standalone"))
    try:
        c.start()
        yield c
    finally:
        c.stop()


def fill_template(cluster: Cluster, scratch: Path) -> str:
    """spark-conf/standalone.conf.template as a user fills it in: the <...> values, and an executor
    size that fits the workers (1 core, 1 GiB)."""
    text = (PROJECT_ROOT / "spark-conf" / "standalone.conf.template").read_text()
    venv = Path(sys.executable).parent.parent
    values = {"spark://<master-host>:7077": cluster.url, "http://<master-host>:8080": cluster.web,
              "<driver-host>": "127.0.0.1", "<venv>/bin/python": sys.executable, "<venv>": str(venv),
              "<hubscan>": str(PROJECT_ROOT), "<local-scratch-dir>": str(scratch)}
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    text = re.sub(r"(?m)^(spark\.executor\.cores\s+)\d+$", r"\g<1>1", text)
    text = re.sub(r"(?m)^(spark\.(executor|driver)\.memory\s+)\S+$", rf"\g<1>{EXECUTOR_MEMORY}", text)
    settings = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert not [line for line in settings if "<" in line], "a placeholder the test does not know"
    return text


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """A tiny simulated cohort (300 samples x 800 variants on chromosomes 1-3)."""
    from hubscan.cli import main

    root = tmp_path_factory.mktemp("cohort")
    assert main(["simulate", "--out", str(root), "--samples", "300", "--variants", "800",
                 "--chromosomes", "1-3", "--seed", "3"]) == 0
    return root


def _setup_run_dir(root: Path, cohort: Path) -> Path:
    """A folder where a user runs the jobs: the cohort beside it, reached by relative paths."""
    root.mkdir(parents=True)
    (root / "cohort").symlink_to(cohort)
    from hubscan.demo import demo_definitions

    demo_definitions(root / "definitions")
    return root


def job_args(cohort: Path) -> dict[str, list[str]]:
    """The arguments of every job, relative to the run folder."""
    causal = (cohort / "truth" / "causal_variants.tsv").read_text().splitlines()[1:]
    ids = sorted({line.split("\t")[2] for line in causal if line.strip()})[:4]
    scan = ["--genotype-store", "store", "--phenotypes", "phen", "--covariate", "phen/covariates.tsv",
            "--genome-build", "GRCh37"]
    return {
        "ingest": ["cohort/genotypes.bgen", "--sample-file", "cohort/genotypes.sample", "--ref-first", "--out", "store",
                   "--variants-chunk", "200", "--samples-chunk", "100"],
        "qc": ["store", "--sex-file", "cohort/genotypes.sample", "--out", "qc", "--pcs", "3"],
        "phenotypes": ["--omop", "cohort/omop", "--omop-patient-id", "person_source_value", "--linkage",
                       "cohort/linkage.csv", "--genotype-store", "store", "--definitions", "definitions/traits.yaml",
                       "--covariates", "sex,age,record_years", "--pcs", "qc/pcs.tsv", "--out", "phen"],
        "gwas": [*scan, "--trait", "ldl", "--trait", "hba1c", "--trait", "type_2_diabetes", "--min-cases", "20",
                 "--min-maf", "0.05", "--block-size", "40", "--out", "gwas"],
        "phewas": [*scan, *[a for v in ids for a in ("--variant-id", v)], "--min-cases", "10", "--out", "phewas"],
        "publish": ["gwas", "--out", "release", "--date", "2026-01-01", "--no-plots", "--min-trait-cases", "10"],
    }


def submit(cluster: Cluster, conf: Path, run_dir: Path, job: str, args: list[str], wait=True, extra=()):
    events = run_dir / "events"
    events.mkdir(exist_ok=True)
    cmd = ["spark-submit", "--properties-file", str(conf), "--name", f"hubscan-{job}",
           "--conf", "spark.eventLog.enabled=true", "--conf", f"spark.eventLog.dir=file://{events}", *extra,
           str(PROJECT_ROOT / "jobs" / f"{job}.py"), *args]
    proc = subprocess.Popen(cmd, cwd=run_dir, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not wait:
        return proc
    out, err = proc.communicate(timeout=1500)
    return proc.returncode, out, err  # the Python driver's stderr reaches spark-submit's stdout


def _executor_tasks(events: Path, app_id: str) -> tuple[dict[str, int], bool]:
    """Tasks finished per executor id in an application's event log, and whether an executor was lost."""
    counts: dict[str, int] = {}
    removed = False
    for line in (events / app_id).read_text().splitlines():
        event = json.loads(line)
        if event["Event"] == "SparkListenerTaskEnd" and event["Task End Reason"]["Reason"] == "Success":
            executor = event["Task Info"]["Executor ID"]
            counts[executor] = counts.get(executor, 0) + 1
        removed |= event["Event"] == "SparkListenerExecutorRemoved"
    return counts, removed


def _same_files(a: Path, b: Path, skip=("_parts", "_SUCCESS", "_logs", "_spark", "_results.json")) -> list[str]:
    """Relative paths of files that differ (or exist on one side only) between two trees."""
    def files(root):
        return {str(p.relative_to(root)) for p in root.rglob("*")
                if p.is_file() and not any(part in skip for part in p.relative_to(root).parts)}
    fa, fb = files(a), files(b)
    differ = sorted(fa ^ fb)
    differ += sorted(f for f in fa & fb if not filecmp.cmp(a / f, b / f, shallow=False))
    return differ


def test_every_job_on_a_standalone_cluster_matches_a_local_run(cluster, cohort, tmp_path, spark, hail, monkeypatch):
    import pandas as pd

    from gwas.results import open_results
    from hubscan.cli import main

    args = job_args(cohort)
    conf = tmp_path / "standalone.conf"
    conf.write_text(fill_template(cluster, tmp_path / "driver-scratch"))
    on_cluster = _setup_run_dir(tmp_path / "on-cluster", cohort)
    local = _setup_run_dir(tmp_path / "local", cohort)

    apps = {}
    for job, job_argv in args.items():
        if job == "gwas":
            proc = submit(cluster, conf, on_cluster, job, job_argv, wait=False)
            parts = on_cluster / "gwas" / "_parts"
            deadline = time.monotonic() + 900
            while proc.poll() is None and time.monotonic() < deadline:
                done = len(list(parts.glob("*.done"))) if parts.is_dir() else 0  # blocks finished
                if done >= 1:
                    break
                time.sleep(0.2)
            assert proc.poll() is None, "the gwas job ended before a worker could be killed"
            cluster.kill("worker2")  # mid-job: Spark re-runs its tasks on the other worker
            out, err = proc.communicate(timeout=1500)
            code = proc.returncode
        else:
            code, out, err = submit(cluster, conf, on_cluster, job, job_argv)
        text = out + err
        assert code == 0, f"{job} on the cluster failed:\n{text[-4000:]}"
        # quiet by default: no Spark INFO lines, no Java-version warning from Hail
        assert not re.search(r"\bINFO\s+(SparkContext|Executor|TaskSetManager|DAGScheduler)", text), text[:3000]
        assert "Java 11" not in text, text[-3000:]
        if job != "publish":
            apps[job] = sorted((on_cluster / "events").iterdir(), key=lambda p: p.stat().st_mtime)[-1].name

    # the same commands, locally (this session's local[2] Spark and Hail), from the local folder
    monkeypatch.chdir(local)
    for job, job_argv in args.items():
        assert main([job, *job_argv]) == 0, job

    # the master's records: one finished application per Spark job
    master = _master_json(cluster.web)
    finished = {a["name"]: a for a in master["completedapps"]}
    for job, app_id in apps.items():
        assert finished[f"hubscan-{job}"]["state"] == "FINISHED" and finished[f"hubscan-{job}"]["id"] == app_id
        counts, removed = _executor_tasks(on_cluster / "events", app_id)
        assert counts and "driver" not in counts, (job, counts)
        if job == "gwas":
            assert removed, "the killed worker's executor was not removed"
    assert len(_executor_tasks(on_cluster / "events", apps["ingest"])[0]) == 2  # both workers took parts

    # outputs: byte for byte where the code is deterministic
    assert _same_files(local / "store", on_cluster / "store") == []
    for job in ("gwas", "phewas"):
        assert _same_files(local / job, on_cluster / job) == [], job
        assert open_results(local / job).metadata["traits"] == open_results(on_cluster / job).metadata["traits"]
    assert _same_files(local / "release", on_cluster / "release", skip=("publish.json", "checksums.md5",
                                                                        "report.html")) == []
    assert _same_files(local / "phen", on_cluster / "phen", skip=("report.json", "_logs", "_spark")) == []
    # QC on Hail: integer tables exactly; its PCA and kinship sum over partitions that differ between
    # two executors and local[2], so floating-point columns at 1e-9 relative
    for name in ("sample_qc.tsv", "related_pairs.tsv", "pcs.tsv", "failed_variants.tsv", "failed_samples.tsv"):
        a, b = pd.read_csv(local / "qc" / name, sep="\t"), pd.read_csv(on_cluster / "qc" / name, sep="\t")
        pd.testing.assert_frame_equal(a, b, rtol=1e-9, check_exact=False, obj=name)


def test_an_executor_size_no_worker_can_hold_stops_with_one_line(cluster, cohort, tmp_path):
    conf = tmp_path / "standalone.conf"
    text = fill_template(cluster, tmp_path / "scratch")
    conf.write_text(re.sub(r"(?m)^spark\.executor\.memory\s+\S+$", "spark.executor.memory 16g", text))
    run_dir = _setup_run_dir(tmp_path / "run", cohort)
    started = time.monotonic()
    code, out, err = submit(cluster, conf, run_dir, "ingest", job_args(cohort)["ingest"])
    assert code == 2, (out + err)[-3000:]
    assert time.monotonic() - started < 300
    line = (out + err).strip().splitlines()[-1]
    assert line.startswith("hubscan: error: Spark master spark://127.0.0.1:")
    assert "spark.executor.memory=16384m" in line and "largest worker: 1 cores, 1200 MiB" in line


PROBE = """
from pyspark.sql import SparkSession
from hubscan.errors import InputError
from hubscan.runtime.cluster import require_visible_on_executors

spark = SparkSession.builder.getOrCreate()
require_visible_on_executors(spark, [{seen!r}])
try:
    require_visible_on_executors(spark, [{seen!r}, "only-on-the-driver.txt"])
except InputError as exc:
    print("refused:", exc)
spark.stop()
"""


def test_a_path_the_executors_cannot_see_is_refused_naming_it(cluster, tmp_path):
    # Executors run in their worker's folder: a file relative to the driver's folder exists only
    # there, as a driver-local disk would on a real cluster.
    conf = tmp_path / "standalone.conf"
    conf.write_text(fill_template(cluster, tmp_path / "scratch"))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "only-on-the-driver.txt").write_text("x")
    (run_dir / "probe.py").write_text(PROBE.format(seen=str(run_dir)))
    proc = subprocess.run(["spark-submit", "--properties-file", str(conf), "probe.py"], cwd=run_dir, env=_env(),
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    refused = [line for line in proc.stdout.splitlines() if line.startswith("refused:")]
    assert len(refused) == 1 and refused[0].startswith("refused: only-on-the-driver.txt is not visible on the "
                                                       "executors' host"), proc.stdout[-2000:]
