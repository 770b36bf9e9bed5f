"""What every benchmark measures, one way: whole-process wall time, CPU time and peak memory of a
command's process tree, the machine's matrix-multiply rate, and its load.

Peak memory sums the resident memory of the process and all its descendants (a Spark run is a
Python driver, a JVM and Python workers), sampled every 0.25 s from /proc (Linux). CPU seconds
(user + system of the process and its waited-for descendants, from ``os.wait4``) are the fairer
comparison when the machine is shared; descendants never waited for (Spark's JVM and Python
workers) are counted from the same /proc samples.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass

import numpy as np


@dataclass
class Measured:
    wall: float       # seconds
    cpu: float        # seconds, user + system
    peak_mib: float   # peak resident memory of the process tree, MiB
    stdout: str
    stderr: str


def tree_rss(pid: int, cpu: dict[int, float] | None = None) -> int:
    """Resident memory of ``pid`` and all its descendants, bytes; with ``cpu``, each process's own
    CPU seconds so far (user + system) recorded in it by pid."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    total, stack = 0, [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * page
            if cpu is not None:
                with open(f"/proc/{p}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                cpu[p] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
        stack.extend(children.get(p, []))
    return total


def run_measured(cmd: list[str], env: dict | None = None, cwd=None, check: bool = True) -> Measured:
    """Run ``cmd`` to completion and measure it; raise SystemExit with its stderr if it fails."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd, text=True)
        peak = [0]
        cpu: dict[int, float] = {}
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss(proc.pid, cpu))
                done.wait(0.25)

        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        watcher.join()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if check and proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{stdout[-2000:]}\n{stderr[-3000:]}")
    # descendants that are never waited for (a Spark run's JVM and Python workers) are missing from
    # wait4's figure: their CPU as last sampled (every 0.25 s) is summed instead when larger
    return Measured(wall, max(usage.ru_utime + usage.ru_stime, sum(cpu.values())), max(peak[0], usage.ru_maxrss * 1024) / 2**20, stdout, stderr)


def matmul_rate(size: int = 2000) -> float:
    """float64 matrix-multiply rate of this machine, flops per second (best of 3, after a warm-up)."""
    a = np.random.default_rng(0).standard_normal((size, size))
    a @ a
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t)
    return 2 * size**3 / best


def load() -> float:
    """1-minute load average (above the core count, other work shared the machine)."""
    return os.getloadavg()[0]


def warm_up() -> None:
    """Child process of a benchmark: compile (and cache) the Numba kernels the scans use and the
    .bed decoder, on a tiny problem, so that no timed run pays for compilation (an installed
    hubscan compiles once, on first use; a changed kernel module starts a new cache)."""
    from gwas.assoc import linear_model, logistic_model
    from gwas.io.plink.bed import decode_dosage_kernel
    from gwas.store.variables import encode_dosage

    decode_dosage_kernel(np.zeros((2, 3), np.uint8), 9, np.empty((2, 9)))
    rng = np.random.default_rng(0)
    g = rng.binomial(2, 0.3, (3, 200)).astype(float)
    cov = rng.standard_normal((200, 2))
    y = (rng.random((200, 2)) < 0.3).astype(float)
    for test in ("wald", "score", "firth", "firth-fallback", "lrt"):
        for block in (g, encode_dosage(g)):  # float dosages, and the store's codes (as scans read them)
            logistic_model(y, cov, test=test).test(block)
    linear = linear_model(rng.standard_normal((200, 2)), cov)
    linear.test(g)
    linear.test_scaled(encode_dosage(g))
    linear.test_bed(np.zeros((3, 50), np.uint8))
