"""spark-submit (or plain python) entry point: ``jobs/publish.py RESULTS --out DIR [options]``.
Publishing needs no Spark; the job exists so hubs run every step the same way."""

import sys

from hubscan.cli import run_job

if __name__ == "__main__":
    sys.exit(run_job("publish", __file__))
