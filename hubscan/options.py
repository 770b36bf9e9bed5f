"""Command-line options defined once and shared by every subcommand."""

import argparse
from pathlib import Path


def add_output(parser: argparse.ArgumentParser, help: str = "output folder (created if missing)") -> None:
    parser.add_argument("--out", "-o", type=Path, required=True, metavar="DIR", help=help)


def add_seed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=1, help="random seed; same inputs and seed give the same outputs (default 1)")


def add_spark(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Spark")
    group.add_argument("--spark-conf", type=Path, metavar="FILE",
                       help="Spark properties file (default spark-conf/local.conf; ignored under spark-submit)")
    group.add_argument("--spark-master", metavar="URL",
                       help="override spark.master, e.g. local[2] or local-cluster[2,1,1024]")


def spark_overrides(args: argparse.Namespace) -> dict[str, str]:
    """The ``--spark-*`` options as Spark properties."""
    return {"spark.master": args.spark_master} if getattr(args, "spark_master", None) else {}


def make_paths_absolute(args: argparse.Namespace, *names: str) -> None:
    """Turn the path options ``names`` of ``args`` (a value or a list of values; None left alone) into
    absolute paths against this process's folder, before they reach Spark or Hail: those resolve a
    relative path against the JVM's folder (not a notebook's after ``os.chdir``), and executors run
    in folders of their own."""
    import os

    def absolute(value):
        return value if value is None or "://" in str(value) else type(value)(os.path.abspath(value)) \
            if isinstance(value, Path) else os.path.abspath(value)

    for name in names:
        if not hasattr(args, name):
            continue
        value = getattr(args, name)
        setattr(args, name, [absolute(v) for v in value] if isinstance(value, list) else absolute(value))
