"""File-system conventions: outputs appear whole or not at all.

Write to a temporary sibling ``.<name>.tmp-<pid>``, then ``os.replace`` it into place; a crash
leaves only such a sibling, which is never read as a result and which the next
:func:`atomic_dir` of the same output removes once its process is gone.
"""

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hubscan.errors import ConfigError, InputError, OutputError

log = logging.getLogger(__name__)


def check_output_dir(path: str | os.PathLike) -> Path:
    """Refuse, before any work, an output folder that cannot be written: a file in its place or in
    its parents, or a place this process may not write. Leaves nothing behind (a missing folder is
    created and removed again to prove it can be)."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OutputError(f"output folder {out} exists and is not a folder")
    first = out
    while not first.parent.exists() and first.parent != first:
        first = first.parent
    try:
        if out.is_dir():
            with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
                pass
        elif not first.parent.is_dir():
            raise OutputError(f"output folder {out} is not writable: {first.parent} is not a folder")
        else:
            os.mkdir(first)
            os.rmdir(first)
    except OSError as exc:
        raise OutputError(f"output folder {out} is not writable: {exc.strerror or exc}") from None
    return out


def prepare_output_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and parents) and prove it is writable, or raise OutputError."""
    out = check_output_dir(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise OutputError(f"output folder {out} is not writable: {exc.strerror or exc}") from None
    return out


def load_yaml(path: str | os.PathLike, what: str = "YAML file"):
    """Parse a YAML file; a syntax error becomes one ConfigError line ``file:line: problem``."""
    import yaml

    p = require_file(path, what)
    try:
        return yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{p}:{mark.line + 1}" if mark is not None else str(p)
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not a text file ({exc.reason})") from None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temporaries(final: str | os.PathLike) -> list[Path]:
    """Remove the ``.<name>.tmp-<pid>`` siblings of ``final`` whose process no longer runs (a killed
    run's leftovers); returns what was removed. Temporaries of live processes are left alone."""
    final = Path(final)
    removed = []
    if not final.parent.is_dir():
        return removed
    prefix = f".{final.name}.tmp-"
    for entry in final.parent.iterdir():
        if not entry.name.startswith(prefix) or not entry.name[len(prefix):].isdigit():
            continue
        pid = int(entry.name[len(prefix):])
        if pid == os.getpid() or _pid_alive(pid):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def require_file(path: str | os.PathLike, what: str = "input file") -> Path:
    """Return ``path`` as a Path if it is an existing file, else raise InputError naming it."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} {p} does not exist")
    if not p.is_file():
        raise InputError(f"{what} {p} is not a file")
    return p


@contextlib.contextmanager
def atomic_file(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; on success rename it to ``final``.

    On an exception the temporary file is removed and ``final`` is untouched.
    """
    final = Path(final)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``final``; on success it replaces ``final`` whole."""
    final = check_output_dir(final)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    stale = remove_stale_temporaries(final)
    if stale:
        log.info("removed %d temporary folder(s) left by killed runs beside %s", len(stale), final)
    try:
        tmp.mkdir(parents=True)
    except OSError as exc:
        raise OutputError(f"output folder {final} cannot be written: {exc.strerror or exc}") from None
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
