"""Every case of the bad-input corpus (cases.py) through the ``hubscan`` command line, in this
process: the exit code, exactly one line on stderr (``hubscan: error: ...``, no traceback) naming
the file, line or record, and nothing written: no new file anywhere in the case's folder (no
completion marker, no partial output, no temporary)."""

import hashlib
import re
from pathlib import Path

import pytest

from hubscan.cli import main
from tests.bad_input.cases import CASES


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() or p.is_symlink()}


def test_the_corpus_is_large_and_ids_are_unique():
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_fails_cleanly(case, valid, tmp_path, capsys):
    argv = case.build(tmp_path, valid)
    before = _files(tmp_path)
    valid_before = _files(valid["root"])
    capsys.readouterr()
    code = main(["--log-level", "ERROR", *argv])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == case.exit, err
    assert len(lines) == 1 and lines[0].startswith("hubscan: error: "), err
    pattern = case.message.replace("{tmp}", re.escape(str(tmp_path)))
    assert re.search(pattern, lines[0]), (pattern, lines[0])
    assert _files(tmp_path) == before, "the failed run wrote files"
    assert _files(valid["root"]) == valid_before, "the failed run changed the shared inputs"
