"""spark-submit entry point: ``spark-submit --properties-file spark-conf/local.conf --jars <hail jar>
jobs/qc.py FILE... --out DIR`` (``hubscan spark-conf --hail-jar`` prints the jar's path)."""

import sys

from hubscan.cli import main

if __name__ == "__main__":
    sys.exit(main(["qc", *sys.argv[1:]]))
