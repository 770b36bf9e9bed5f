"""Checks a job makes when its Spark runs on a cluster (``spark.master`` not ``local...``).

* :func:`check_executors`: the executor size asked for (``spark.executor.cores``/``memory``)
  fits a worker, or one clear line instead of Spark's endless "Initial job has not accepted any
  resources". On a standalone master the size is compared with the workers the master reports
  (its web UI JSON, ``spark.hubscan.master.webUrl``, default port 8080 on the master's host);
  whatever the manager, the job waits at most ``spark.hubscan.executor.waitSeconds`` (default
  120 s) for a first executor.
* :func:`require_visible_on_executors`: files and folders the job hands to its tasks exist on the
  executors' hosts (a shared file system), or one line naming the path and the host.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import urllib.request
from urllib.parse import urlparse

from hubscan.errors import ConfigError, EnvironmentProblem, InputError

log = logging.getLogger(__name__)

#: seconds a job waits for its first executor when nothing else tells it the size cannot fit
DEFAULT_WAIT_SECONDS = 120
STANDALONE_UI_PORT = 8080
_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]?)b?\s*$", re.IGNORECASE)


def is_cluster(master: str) -> bool:
    """True unless ``master`` runs executors inside the driver (``local``, ``local[n]``...)."""
    return not master.startswith("local") or master.startswith("local-cluster")


def memory_mib(text: str) -> int:
    """A JVM memory size (``1g``, ``1500m``, ``512``: MiB when unitless, as Spark reads
    ``spark.executor.memory``) in MiB."""
    m = _SIZE.match(text)
    if not m:
        raise ConfigError(f"spark.executor.memory {text!r} is not a size such as 4g or 1500m")
    value, unit = int(m.group(1)), m.group(2).lower()
    return {"k": value // 1024, "": value, "m": value, "g": value * 1024, "t": value * 1024 ** 2}[unit]


def size_problem(cores: int, memory: int, workers: list[dict]) -> str | None:
    """Why no worker of a standalone master can run one executor of ``cores`` and ``memory`` MiB
    (``workers``: the master's JSON ``workers`` records), or None when one can."""
    alive = [w for w in workers if w.get("state") == "ALIVE"]
    if not alive:
        return "the master has no live worker"
    if any(w["cores"] >= cores and w["memory"] >= memory for w in alive):
        return None
    largest = max(alive, key=lambda w: (w["cores"], w["memory"]))
    return (f"no worker can hold one executor of spark.executor.cores={cores} and spark.executor.memory="
            f"{memory}m (largest worker: {largest['cores']} cores, {largest['memory']} MiB); lower them in the "
            f"properties file")


def master_workers(master: str, web_url: str | None = None, timeout: float = 5.0) -> list[dict] | None:
    """The workers a standalone master reports on its web UI (``/json/``), or None when the UI
    cannot be reached (disabled, another port, a firewall)."""
    if web_url is None:
        web_url = f"http://{urlparse(master).hostname}:{STANDALONE_UI_PORT}"
    try:
        with urllib.request.urlopen(web_url.rstrip("/") + "/json/", timeout=timeout) as response:
            return json.load(response).get("workers", [])
    except (OSError, ValueError):
        log.debug("standalone master web UI %s not reachable; executor size not checked", web_url)
        return None


def check_executors(spark) -> None:
    """On a cluster master, make sure the requested executors can start; raise ConfigError naming
    the setting that cannot be met. Does nothing for local masters."""
    sc = spark.sparkContext
    conf = sc.getConf()
    if not is_cluster(sc.master) or sc.master.startswith("local-cluster"):
        return
    cores = int(conf.get("spark.executor.cores", "1"))
    memory = memory_mib(conf.get("spark.executor.memory", "1g"))
    if sc.master.startswith("spark://"):
        workers = master_workers(sc.master.split(",")[0], conf.get("spark.hubscan.master.webUrl", None))
        if workers is not None:
            problem = size_problem(cores, memory, workers)
            if problem:
                raise ConfigError(f"Spark master {sc.master}: {problem}")
    wait = float(conf.get("spark.hubscan.executor.waitSeconds", str(DEFAULT_WAIT_SECONDS)))
    deadline = time.monotonic() + wait
    while _executor_count(sc) == 0:
        if time.monotonic() > deadline:
            raise EnvironmentProblem(
                f"Spark master {sc.master} started no executor within {wait:.0f} s for spark.executor.cores={cores}, "
                f"spark.executor.memory={memory}m: check that workers are running and have that much free")
        time.sleep(0.5)


def _executor_count(sc) -> int:
    """Executors registered with the driver (the driver's own block manager not counted)."""
    return max(0, sc._jsc.sc().getExecutorMemoryStatus().size() - 1)


def _probe(paths: list[str]):
    import socket

    return socket.gethostname(), [p for p in paths if not os.path.exists(p)]


def require_visible_on_executors(spark, paths) -> None:
    """Raise InputError naming the first of ``paths`` (absolute files or folders the driver sees)
    that an executor's host does not: inputs and outputs of a cluster job must be on a file
    system every worker mounts. Does nothing for local masters."""
    sc = spark.sparkContext
    if not is_cluster(sc.master):
        return
    paths = [str(p) for p in paths]
    n = max(2, sc.defaultParallelism)
    for host, missing in sc.parallelize(range(n), n).map(lambda _: _probe(paths)).collect():
        if missing:
            raise InputError(f"{missing[0]} is not visible on the executors' host {host}: a cluster job's "
                             f"inputs and outputs must be on a file system every worker mounts")
