"""The one place that builds a SparkSession.

Two ways in, one configuration:

* **Embedded** (``hubscan ...``, notebooks, tests): the JVM is started here from
  ``spark-conf/local.conf`` plus values that depend on this machine and run: driver memory
  sized to the machine, scratch, Java tmp and logs under the run folder (never the current
  directory), the Hail jar and Kryo settings so that Hail can start later on the same
  SparkContext (:func:`hubscan.runtime.hail.init_hail`).
* **spark-submit** (``spark-submit --properties-file spark-conf/local.conf jobs/x.py``):
  the JVM exists already with the submitted properties; only per-run values Spark reads
  when the context starts (scratch and warehouse folders) are added.

Precedence, lowest first: properties file, machine/run values, ``overrides``.
"""

import logging
import os
import re
import sys
from pathlib import Path

from hubscan.errors import ConfigError, InputError
from hubscan.runtime.java import require_java

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONF_DIR = PROJECT_ROOT / "spark-conf"
#: Share of physical memory given to the embedded driver JVM (executors live inside it).
DRIVER_MEMORY_FRACTION = 0.5


def conf_dir() -> Path:
    """``$HUBSCAN_SPARK_CONF_DIR`` or the project's ``spark-conf/``."""
    return Path(os.environ.get("HUBSCAN_SPARK_CONF_DIR", DEFAULT_CONF_DIR))


def read_properties(path: str | os.PathLike) -> dict[str, str]:
    """Parse a Spark properties file (``key value`` or ``key=value`` per line, ``#`` comments)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Spark properties file {path} does not exist")
    props: dict[str, str] = {}
    for lineno, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        if "=" in line.split(None, 1)[0]:
            key, _, value = line.partition("=")
        else:
            parts = line.split(None, 1)
            if len(parts) != 2:
                raise ConfigError(f"{path}:{lineno}: expected 'key value', got {raw!r}")
            key, value = parts
        props[key.strip()] = value.strip()
    return props


def machine_memory_bytes() -> int:
    """Physical memory of this machine (cgroup limit if lower)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    cgroup = Path("/sys/fs/cgroup/memory.max")
    if cgroup.is_file():
        text = cgroup.read_text().strip()
        if text.isdigit():
            total = min(total, int(text))
    return total


def hail_classpath() -> str:
    """Path of Hail's Spark jar (shipped inside the hail wheel)."""
    from hail.backend.backend import local_jar_information  # import cost ~1 s, only here

    return local_jar_information().hail_jar


def run_paths(run_dir: str | os.PathLike) -> dict[str, Path]:
    """Where a run keeps Spark/Hail scratch and logs (all under ``run_dir``)."""
    run_dir = Path(run_dir).resolve()
    return {
        "scratch": run_dir / "_spark" / "local",
        "java_tmp": run_dir / "_spark" / "tmp",
        "warehouse": run_dir / "_spark" / "warehouse",
        "hail_tmp": run_dir / "_spark" / "hail-tmp",
        "logs": run_dir / "_logs",
    }


def embedded_properties(run_dir: str | os.PathLike, with_hail: bool = True) -> dict[str, str]:
    """Machine- and run-dependent properties for an embedded JVM."""
    paths = run_paths(run_dir)
    for p in paths.values():
        p.mkdir(parents=True, exist_ok=True)
    memory_mb = max(1024, int(machine_memory_bytes() * DRIVER_MEMORY_FRACTION) // 2**20)
    java_opts = [
        f"-Djava.io.tmpdir={paths['java_tmp']}",
        f"-Dderby.system.home={paths['java_tmp']}",
        f"-Dlog4j2.configurationFile={conf_dir() / 'log4j2.properties'}",
    ]
    props = {
        "spark.driver.memory": f"{memory_mb}m",
        "spark.driver.extraJavaOptions": " ".join(java_opts),
        "spark.executor.extraJavaOptions": f"-Djava.io.tmpdir={paths['java_tmp']}",
    }
    if with_hail:
        jar = hail_classpath()
        props.update({
            "spark.jars": jar,
            "spark.driver.extraClassPath": jar,
            "spark.executor.extraClassPath": jar,
            "spark.serializer": "org.apache.spark.serializer.KryoSerializer",
            "spark.kryo.registrator": "is.hail.kryo.HailKryoRegistrator",
        })
    return props


def per_run_properties(run_dir: str | os.PathLike) -> dict[str, str]:
    """Properties Spark reads when the context starts, so they work under spark-submit too."""
    paths = run_paths(run_dir)
    for p in paths.values():
        p.mkdir(parents=True, exist_ok=True)
    env = {
        # Executors (separate processes on a cluster or local-cluster) run this same Python
        # and reuse compiled Numba kernels.
        "spark.executorEnv.PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
        "spark.executorEnv.NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", str(paths["scratch"] / "numba")),
    }
    return {
        "spark.local.dir": str(paths["scratch"]),
        "spark.sql.warehouse.dir": str(paths["warehouse"]),
        **env,
    }


def under_spark_submit() -> bool:
    """True when this Python was launched by spark-submit (the JVM exists already)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def spark_session(run_dir: str | os.PathLike, properties_file: str | os.PathLike | None = None,
                  overrides: dict[str, str] | None = None, with_hail: bool = True):
    """Return the SparkSession for a run writing under ``run_dir``.

    Reuses an active session (a notebook's, a test fixture's or spark-submit's). Otherwise
    checks Java, then starts one from ``properties_file`` (default ``spark-conf/local.conf``).
    ``overrides`` win over everything (e.g. ``{"spark.master": "local-cluster[2,1,1024]"}``).
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

    props: dict[str, str] = {}
    if under_spark_submit():
        # the submitted properties file wins (a cluster template's scratch, Numba cache, Python)
        SparkContext._ensure_initialized()
        submitted = dict(SparkConf().getAll())
        props.update({k: v for k, v in per_run_properties(run_dir).items() if k not in submitted})
    else:
        require_java()
        props.update(read_properties(properties_file or conf_dir() / "local.conf"))
        for key, value in embedded_properties(run_dir, with_hail=with_hail).items():
            if key == "spark.driver.memory" and key in props:
                continue  # an explicit memory setting in the file wins over sizing
            props[key] = value
        props.update(per_run_properties(run_dir))
        if "local-cluster" in (overrides or {}).get("spark.master", props.get("spark.master", "")):
            # local-cluster launches executors through $SPARK_HOME/bin; pip's pyspark is one.
            import pyspark

            os.environ.setdefault("SPARK_HOME", str(Path(pyspark.__file__).parent))
    props.update(overrides or {})

    conf = SparkConf(loadDefaults=False).setAll(list(props.items()))
    if with_hail and not under_spark_submit():
        # Start the JVM, then take Hail's own Spark settings under ours so hl.init(sc=...) works.
        SparkContext._ensure_initialized(conf=conf)
        from hail.utils.java import scala_object

        backend = scala_object(getattr(SparkContext._jvm, "is").hail.backend.spark, "SparkBackend")
        hail_conf = SparkConf(_jconf=backend.pySparkConf()).getAll()
        conf = SparkConf(loadDefaults=False).setAll(hail_conf).setAll(list(props.items()))
    spark = SparkSession.builder.config(conf=conf).getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    if under_spark_submit():
        from hubscan.runtime.cluster import check_executors

        check_executors(spark)  # a size no worker can hold: one line, not an endless wait
    log.info("Spark %s started: master %s, %s cores, driver memory %s", spark.version, spark.sparkContext.master,
             spark.sparkContext.defaultParallelism, spark.conf.get("spark.driver.memory", "default"))
    return spark


def stop_spark(run_dir: str | os.PathLike | None = None) -> None:
    """Stop the active session and remove the run's scratch (logs are kept)."""
    import shutil

    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    if run_dir is not None:
        paths = run_paths(run_dir)
        for key in ("scratch", "java_tmp", "warehouse", "hail_tmp"):
            shutil.rmtree(paths[key], ignore_errors=True)
        spark_root = paths["scratch"].parent
        if spark_root.exists() and not any(spark_root.iterdir()):
            spark_root.rmdir()


def spark_for_run(run_dir: str | os.PathLike, properties_file: str | os.PathLike | None = None,
                  overrides: dict[str, str] | None = None, with_hail: bool = False):
    """Context manager for commands: the run's SparkSession, stopped (and its scratch under
    ``run_dir/_spark`` removed) at the end if this call started it, as it does in a ``hubscan``
    command or a spark-submit job (whose JVM spark-submit started, but whose session the job owns:
    stopping it before Python exits lets executors end quietly); a notebook's or test's session is
    left running for its owner."""
    import contextlib

    from pyspark.sql import SparkSession

    @contextlib.contextmanager
    def session():
        started_here = SparkSession.getActiveSession() is None
        spark = spark_session(run_dir, properties_file, overrides, with_hail=with_hail)
        try:
            yield spark
        finally:
            if started_here:
                stop_spark(run_dir)

    return session()


def task_error(exc: Exception) -> Exception:
    """A failed Spark job's error as the user should see it: a task's hubscan ``InputError``
    (carried inside the Py4J error with the worker's traceback) as itself, anything else unchanged."""
    m = re.search(r"hubscan\.errors\.InputError: (.*)", str(exc))
    return InputError(m.group(1).strip()) if m else exc


def run_marked_tasks(spark, items: list, task, shared, tracker, sizes: dict[str, int], label: str,
                     description: str) -> None:
    """``task(shared, item)`` for each of ``items`` as one Spark task each, ``shared`` broadcast
    once. Each item's name is ``item[0]`` and its task writes a completion marker through
    ``tracker`` (:class:`hubscan.parts.PartTracker`); progress (``label``, ``sizes[name]`` units per
    item) comes from those markers, polled every 2 s while the job runs."""
    import threading

    from hubscan.progress import Progress

    sc = spark.sparkContext
    broadcast = sc.broadcast(shared)
    sc.setJobDescription(description)
    rdd = sc.parallelize(items, len(items)).map(lambda item: task(broadcast.value, item))
    progress = Progress(label, total=sum(sizes.values()))
    stop = threading.Event()

    def watch():
        seen: set[str] = set()
        while not stop.wait(2.0):
            for name in sizes:
                if name not in seen and tracker.is_done(name):
                    seen.add(name)
                    progress.advance(sizes[name])

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        rdd.collect()
    except Exception as exc:  # Py4JJavaError carrying the worker's traceback
        raise task_error(exc) from None
    finally:
        stop.set()
        watcher.join()
        broadcast.unpersist()
    progress.done = progress.total
    progress.finish()
