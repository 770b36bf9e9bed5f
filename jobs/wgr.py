"""spark-submit entry point: ``spark-submit --properties-file spark-conf/local.conf jobs/wgr.py --config step1.yaml``
(any `hubscan wgr` option works; blocks run as tasks of the submitted Spark)."""

import sys

from hubscan.cli import run_job

if __name__ == "__main__":
    sys.exit(run_job("wgr", __file__))
