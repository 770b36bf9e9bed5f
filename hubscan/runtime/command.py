"""Print the Spark settings hubscan uses here, for writing a cluster properties file.

`hubscan spark-conf` prints spark-conf/local.conf with this machine's additions (driver
memory, Hail jar); `--hail-jar` prints only the path of Hail's jar in this environment.
"""

import argparse
import tempfile

HELP = "print the Spark properties hubscan uses on this machine (or Hail's jar path)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hail-jar", action="store_true", help="print only the path of Hail's Spark jar")


def run(args: argparse.Namespace) -> int:
    from hubscan.runtime.spark import conf_dir, embedded_properties, hail_classpath, read_properties

    if args.hail_jar:
        print(hail_classpath())
        return 0
    props = read_properties(conf_dir() / "local.conf")
    with tempfile.TemporaryDirectory() as run_dir:
        extra = embedded_properties(run_dir)
    for key in ("spark.driver.memory", "spark.jars", "spark.driver.extraClassPath", "spark.executor.extraClassPath",
                "spark.serializer", "spark.kryo.registrator"):
        props[key] = extra[key]
    width = max(map(len, props))
    for key, value in props.items():
        print(f"{key:<{width}}  {value}")
    return 0
