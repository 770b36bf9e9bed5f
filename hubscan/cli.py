"""The ``hubscan`` command: one subcommand per job, each a thin layer over library functions.

Every subcommand module exposes ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``; heavy imports (Spark, Hail, Numba) happen inside ``run`` so that
``--help`` stays instant. ``jobs/<name>.py`` calls :func:`main` with the same arguments
under spark-submit.
"""

import argparse
import importlib
import os
import sys

from hubscan import __version__
from hubscan.errors import HubscanError
from hubscan.log import configure_logging

#: subcommand -> module implementing it
COMMANDS = {
    "demo": "hubscan.demo",
    "ingest": "gwas.ingest.command",
    "qc": "gwas.qc.command",
    "phenotypes": "phenotypes.command",
    "publish": "gwas.publish.command",
    "gwas": "gwas.scan.gwas_command",
    "phewas": "gwas.scan.phewas_command",
    "wgr": "gwas.wgr.command",
    "simulate": "hubscan.simulate.command",
    "spark-conf": "hubscan.runtime.command",
}

DESCRIPTION = """\
hubscan: genomic-clinical association for health-data hubs.

Derives phenotypes from health records, joins them with VCF/BGEN genotypes, and runs
GWAS and PheWAS scans on a local embedded Spark or a cluster.
"""

EPILOG = """\
start here:
  hubscan demo --out demo-output        the whole path on a small simulated cohort
  hubscan simulate --out cohort         a synthetic hub cohort (genotypes, records, truth)

Run `hubscan COMMAND --help` for a command's options.
"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exits 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or with ``only`` (a name in :data:`COMMANDS`) one holding just that
    subcommand, so a run imports its own command module and not every other one's."""
    parser = _Parser(prog="hubscan", description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"hubscan {__version__}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="how much to log on stderr (default INFO)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module_name in COMMANDS.items():
        if only is not None and name != only:
            continue
        module = importlib.import_module(module_name)
        cmd = sub.add_parser(name, help=module.HELP, description=module.__doc__,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(cmd)
        cmd.set_defaults(run=module.run)
    return parser


def _named_command(argv: list[str]) -> str | None:
    """The subcommand ``argv`` names (after the global options), or None (help, version, unknown)."""
    i = 0
    while i < len(argv):
        if argv[i] == "--log-level":
            i += 2
        elif argv[i].startswith("--log-level="):
            i += 1
        else:
            return argv[i] if argv[i] in COMMANDS else None
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_named_command(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    configure_logging(args.log_level)
    try:
        return args.run(args) or 0
    except HubscanError as exc:
        print(f"hubscan: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("hubscan: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())


def run_job(command: str, script: str) -> int:
    """Entry point of ``jobs/<command>.py`` under spark-submit or python: drop the script's folder
    from ``sys.path`` (Python puts it first, and ``jobs/gwas.py`` would shadow the ``gwas``
    package), then run ``hubscan <command>`` with the script's arguments."""
    folder = os.path.dirname(os.path.abspath(script))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != folder]
    return main([command, *sys.argv[1:]])
