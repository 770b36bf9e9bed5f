"""spark-submit entry point: ``spark-submit --properties-file spark-conf/local.conf --jars <hail jar>
jobs/qc.py FILE... --out DIR`` (``hubscan spark-conf --hail-jar`` prints the jar's path)."""

import sys

from hubscan.cli import run_job

if __name__ == "__main__":
    sys.exit(run_job("qc", __file__))
