"""Work cut for threads: slices that cover every index once, in order, with the requested sizes."""

import numba
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubscan.runtime.threads import map_in_threads, thread_slices


@pytest.fixture(autouse=True)
def _restore_thread_count():
    before = numba.get_num_threads()
    yield
    numba.set_num_threads(before)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 5000), per_thread=st.integers(1, 8), smallest=st.integers(1, 64),
       multiple=st.sampled_from([1, 4, 16]), threads=st.integers(1, numba.config.NUMBA_NUM_THREADS))
def test_thread_slices_cover_range_once(n, per_thread, smallest, multiple, threads):
    numba.set_num_threads(threads)
    parts = thread_slices(n, per_thread, smallest, multiple)
    covered = [i for s in parts for i in range(n)[s]]
    assert covered == list(range(n))
    lengths = [s.stop - s.start for s in parts]
    assert all(x > 0 for x in lengths)
    assert all(x % multiple == 0 and x >= smallest for x in lengths[:-1])
    assert len(parts) <= max(1, per_thread * threads)


def test_thread_slices_share_evenly_and_keep_small_work_whole():
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    if numba.get_num_threads() == 2:
        assert thread_slices(100, smallest=16) == [slice(0, 50), slice(50, 100)]
        assert thread_slices(100, 4, 16, 16) == [slice(0, 16), slice(16, 32), slice(32, 48), slice(48, 64),
                                                 slice(64, 80), slice(80, 96), slice(96, 100)]
    assert thread_slices(20, smallest=16 * numba.config.NUMBA_NUM_THREADS) == [slice(0, 20)]
    assert thread_slices(0) == []
    assert sorted(map_in_threads(lambda s: list(range(30)[s]), thread_slices(30, 3))) == \
        sorted(list(range(30)[s]) for s in thread_slices(30, 3))
