"""spark-submit entry point: ``spark-submit --properties-file spark-conf/local.conf jobs/phewas.py --config run.yaml``
(any `hubscan phewas` option works; blocks run as tasks of the submitted Spark)."""

import sys

from hubscan.cli import run_job

if __name__ == "__main__":
    sys.exit(run_job("phewas", __file__))
