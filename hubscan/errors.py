"""Errors that reach the user as one clear line and a non-zero exit.

Raise these (never bare ``ValueError``) for anything a user can fix: the CLI prints
``hubscan: error: <message>`` and exits with the class's ``exit_code``. Messages name
the file, line, record or sample at fault.
"""


class HubscanError(Exception):
    """Base class: a problem the user can fix. ``exit_code`` is the process exit status."""

    exit_code = 1


class InputError(HubscanError):
    """Bad input data: a malformed, missing or inconsistent file (name file and line/record)."""

    exit_code = 1


class ConfigError(HubscanError):
    """Bad options or configuration: unknown keys, wrong types, impossible values."""

    exit_code = 2


class OutputError(HubscanError):
    """The output location cannot be used (unwritable, a file where a folder is expected...)."""

    exit_code = 1


class EnvironmentProblem(HubscanError):
    """The machine lacks something hubscan needs (Java, an external tool)."""

    exit_code = 3
