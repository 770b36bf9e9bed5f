"""BLAS thread pools while Numba kernels run in parallel.

numpy and scipy each load their own OpenBLAS, each with a pool of one thread per core whose idle
threads spin for a while after every call. When a parallel Numba kernel runs between small BLAS
calls (the per-variant fits of logistic and Poisson regression, p x p products on n samples), those
spinning threads take the cores the kernel needs: measured here, a 50,000-sample logistic fit ran
7x slower with the pools at 2 threads than at 1. :func:`single_threaded_blas` sets every loaded BLAS
pool to one thread for a block of work and restores it afterwards; large matrix products (linear
regression's) keep their threads.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from functools import lru_cache


@lru_cache(maxsize=1)
def _controller():
    import scipy.linalg.cython_blas  # noqa: F401 - the BLAS Numba's kernels call, loaded before the census
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextmanager
def single_threaded_blas():
    """Every loaded BLAS library at one thread inside the ``with`` block (nested use is fine)."""
    with _controller().limit(limits=1, user_api="blas"):
        yield


def map_in_threads(fn, items, parallel: bool = True) -> list:
    """``[fn(x) for x in items]``, on one Python thread per Numba thread when ``parallel`` and there
    is more than one item; each thread runs its Numba kernels single-threaded (Numba's thread count
    is per thread), so the work spreads over items rather than inside each. For many small
    independent fits (a PheWAS: one variant, hundreds of traits) whose kernels release the GIL.
    Every item is computed by one thread, in the same way: results do not depend on the count."""
    import numba

    items = list(items)
    workers = min(numba.get_num_threads(), len(items)) if parallel else 1
    if workers <= 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    def run(x):
        numba.set_num_threads(1)
        return fn(x)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, items))


def thread_slices(n: int, per_thread: int = 1, smallest: int = 1, multiple: int = 1) -> list[slice]:
    """``range(n)`` cut for :func:`map_in_threads`: about ``per_thread`` slices per Numba thread,
    each at least ``smallest`` long and a multiple of ``multiple`` (but the last); one slice when
    ``n`` is too small to share, none when it is 0."""
    import numba

    step = -(-n // (per_thread * numba.get_num_threads()))
    step = -(-max(step, smallest, 1) // multiple) * multiple
    return [slice(a, min(a + step, n)) for a in range(0, n, step)]


@contextmanager
def use_threads(n: int | None = None):
    """Run the ``with`` block on ``n`` threads (default: every core this process may use): Numba's
    parallel kernels and the BLAS pools. Before numba is imported this sets ``NUMBA_NUM_THREADS``
    (Numba's pool is then started at that size); after, ``numba.set_num_threads``. Yields ``n``."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n = cores if n is None else n
    if "numba" not in sys.modules:
        os.environ["NUMBA_NUM_THREADS"] = str(n)
    import numba
    from threadpoolctl import threadpool_limits

    before = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        with threadpool_limits(limits=n, user_api="blas"):
            yield n
    finally:
        numba.set_num_threads(before)
