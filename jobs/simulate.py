"""spark-submit entry point: ``spark-submit --properties-file spark-conf/local.conf jobs/simulate.py --out DIR ...``

Same options as ``hubscan simulate``; genotype parts run as tasks on the submitted Spark.
"""

import sys

from hubscan.cli import run_job

if __name__ == "__main__":
    sys.exit(run_job("simulate", __file__))
