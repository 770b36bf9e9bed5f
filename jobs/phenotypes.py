"""spark-submit entry point: ``spark-submit --properties-file spark-conf/local.conf jobs/phenotypes.py
--hub hub_events.csv --linkage linkage.csv --samples samples.txt --phecode-map MAP --out DIR``
(the records are read and aggregated on the submitted Spark)."""

import sys

from hubscan.cli import run_job

if __name__ == "__main__":
    sys.exit(run_job("phenotypes", __file__))
