"""The Spark runtime: configuration from spark-conf/, scratch under the run folder, Hail on the same context."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hubscan.errors import ConfigError
from hubscan.runtime.spark import conf_dir, read_properties, run_paths

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_read_properties_both_syntaxes(tmp_path):
    f = tmp_path / "x.conf"
    f.write_text("# comment\n\nspark.master   local[3]\nspark.a=b c\n! also a comment\nspark.b  x y  z\n")
    assert read_properties(f) == {"spark.master": "local[3]", "spark.a": "b c", "spark.b": "x y  z"}


def test_read_properties_names_bad_line(tmp_path):
    f = tmp_path / "bad.conf"
    f.write_text("spark.master local\nlonely-key\n")
    with pytest.raises(ConfigError, match=r"bad.conf:2"):
        read_properties(f)


def test_read_properties_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_properties(tmp_path / "nope.conf")


def test_local_conf_is_safe_for_a_shared_machine():
    props = read_properties(conf_dir() / "local.conf")
    assert props["spark.master"] == "local[*]"
    assert props["spark.driver.bindAddress"] == "127.0.0.1"
    assert props["spark.ui.enabled"] == "false"
    assert props["spark.ui.showConsoleProgress"] == "false"
    assert props["spark.sql.session.timeZone"] == "UTC"


@pytest.mark.parametrize("template", ["standalone", "yarn", "kubernetes"])
def test_cluster_templates_parse_and_carry_hail_settings(template):
    props = read_properties(conf_dir() / f"{template}.conf.template")
    assert props["spark.kryo.registrator"] == "is.hail.kryo.HailKryoRegistrator"
    assert "hail-all-spark.jar" in props["spark.jars"]


def test_session_scratch_lives_under_run_folder(spark, spark_run_dir):
    conf = spark.sparkContext.getConf()
    paths = run_paths(spark_run_dir)
    assert conf.get("spark.local.dir") == str(paths["scratch"])
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert "hail-all-spark.jar" in conf.get("spark.jars")
    assert spark.range(1000).selectExpr("sum(id)").collect()[0][0] == 499500


def test_hail_shares_the_spark_context(hail, spark):
    # Hail's Spark backend wraps the very SparkContext hubscan started (same JVM object).
    hail_context = hail.current_backend()._spark.sparkContext
    assert hail_context._jsc.sc().applicationId() == spark.sparkContext._jsc.sc().applicationId()
    assert hail.spark_context() is not None
    mt = hail.balding_nichols_model(2, 20, 50, n_partitions=2)
    assert mt.count() == (50, 20)


def test_nothing_is_written_to_the_current_directory(tmp_path):
    """An embedded session with Hail and SQL leaves the working directory empty and only logs behind."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    run_dir = tmp_path / "run"
    script = textwrap.dedent(f"""
        from hubscan.runtime.spark import spark_session, stop_spark
        from hubscan.runtime.hail import init_hail
        spark = spark_session({str(run_dir)!r}, overrides={{"spark.master": "local[1]", "spark.driver.memory": "1g"}})
        spark.range(100).createOrReplaceTempView("t")
        assert spark.sql("select count(*) from t").collect()[0][0] == 100
        hl = init_hail({str(run_dir)!r})
        assert hl.utils.range_table(10).count() == 10
        stop_spark({str(run_dir)!r})
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert list(cwd.iterdir()) == []
    assert sorted(p.name for p in run_dir.iterdir()) == ["_logs"]
    assert (run_dir / "_logs" / "hail.log").is_file()
    assert "INFO" not in result.stderr  # quiet: Spark's log level is WARN
