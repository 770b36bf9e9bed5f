"""spark-submit entry point: ``spark-submit --properties-file spark-conf/local.conf jobs/phewas.py --config run.yaml``
(any `hubscan phewas` option works; blocks run as tasks of the submitted Spark)."""

import os
import sys

# This file's folder is first on sys.path under spark-submit and python: drop it, or this script
# would shadow the `phewas` package it shares a name with.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != os.path.dirname(os.path.abspath(__file__))]

from hubscan.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["phewas", *sys.argv[1:]]))
