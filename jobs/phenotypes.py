"""spark-submit entry point: ``spark-submit --properties-file spark-conf/local.conf jobs/phenotypes.py
--hub hub_events.csv --linkage linkage.csv --samples samples.txt --phecode-map MAP --out DIR``
(the records are read and aggregated on the submitted Spark)."""

import os
import sys

# This file's folder is first on sys.path under spark-submit and python: drop it, or this script
# would shadow the `phenotypes` package it shares a name with.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != os.path.dirname(os.path.abspath(__file__))]

from hubscan.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["phenotypes", *sys.argv[1:]]))
