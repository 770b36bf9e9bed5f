"""The checks a job makes on a cluster master (hubscan.runtime.cluster); the standalone test
(tests/cluster) runs them against a real master."""

import pytest

from hubscan.errors import ConfigError
from hubscan.runtime.cluster import is_cluster, memory_mib, require_visible_on_executors, size_problem

WORKERS = [{"state": "ALIVE", "cores": 2, "memory": 3000}, {"state": "ALIVE", "cores": 4, "memory": 1024},
           {"state": "DEAD", "cores": 64, "memory": 999999}]


@pytest.mark.parametrize("text, mib", [("1g", 1024), ("1500m", 1500), ("512", 512), ("2G", 2048), ("1t", 1048576),
                                       ("4096k", 4), ("3gb", 3072)])
def test_memory_sizes_read_as_spark_reads_them(text, mib):
    assert memory_mib(text) == mib


def test_a_memory_size_spark_cannot_read_is_named():
    with pytest.raises(ConfigError, match="'lots'"):
        memory_mib("lots")


def test_an_executor_fits_only_a_live_worker_with_both_cores_and_memory():
    assert size_problem(2, 3000, WORKERS) is None
    assert size_problem(4, 1024, WORKERS) is None
    problem = size_problem(4, 2048, WORKERS)  # cores on one worker, memory on another: no fit
    assert "spark.executor.cores=4 and spark.executor.memory=2048m" in problem
    assert "largest worker: 4 cores, 1024 MiB" in problem
    assert size_problem(1, 1, [WORKERS[2]]) == "the master has no live worker"


def test_local_masters_are_not_clusters():
    assert not is_cluster("local[*]") and not is_cluster("local")
    assert is_cluster("spark://h:7077") and is_cluster("yarn") and is_cluster("local-cluster[2,1,1024]")


def test_no_executor_check_on_a_local_master(spark, tmp_path):
    # local masters share the driver's file system: nothing to probe, even for a missing path
    require_visible_on_executors(spark, [tmp_path / "not-there"])
