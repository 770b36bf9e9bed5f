"""Logging set-up: one line per message on stderr, no carriage returns (CI-friendly).

Logs carry counts and timings only; never a sample or patient identifier.
"""

import logging
import sys

LOGGER_NAMES = ("hubscan", "gwas", "phenotypes")


def configure_logging(level: str = "INFO") -> None:
    """Route the hubscan, gwas and phenotypes loggers to stderr at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s", "%H:%M:%S"))
    for name in LOGGER_NAMES:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    # Py4J chatters at INFO on every gateway call.
    logging.getLogger("py4j").setLevel(logging.WARNING)
