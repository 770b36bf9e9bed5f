"""spark-submit entry point: ``spark-submit jobs/ingest.py FILE... --out STORE --spark``."""

import sys

from hubscan.cli import main

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))
