"""spark-submit entry point: ``spark-submit --properties-file spark-conf/local.conf jobs/ingest.py FILE... --out STORE``
(parts run as tasks on the submitted Spark)."""

import sys

from hubscan.cli import run_job

if __name__ == "__main__":
    sys.exit(run_job("ingest", __file__))
