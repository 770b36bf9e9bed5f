"""spark-submit entry point: ``spark-submit --properties-file spark-conf/local.conf jobs/gwas.py --config run.yaml``
(any `hubscan gwas` option works; blocks run as tasks of the submitted Spark)."""

import os
import sys

# This file's folder is first on sys.path under spark-submit and python: drop it, or this script
# would shadow the `gwas` package it shares a name with.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != os.path.dirname(os.path.abspath(__file__))]

from hubscan.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["gwas", *sys.argv[1:]]))
