"""Resumable jobs: init / partition / finalise with one completion marker per part.

A job splits its work into named parts (a chromosome, a variant block, a byte range).
Each part writes its output atomically and then a marker ``<root>/_parts/<name>.done``
(JSON with whatever the part reports, e.g. row counts and checksums). A rerun with the
same configuration skips parts whose marker exists; a rerun with a different
configuration is refused rather than mixing outputs. ``finalise`` writes ``_SUCCESS``
only after the caller has verified every part, so a half-finished output is never
mistaken for a whole one.
"""

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hubscan.errors import ConfigError
from hubscan.files import atomic_file

SUCCESS_MARKER = "_SUCCESS"


def fingerprint(config: dict[str, Any]) -> str:
    """A stable hash of a JSON-serialisable configuration."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


class PartTracker:
    """Completion markers for the parts of one job writing under ``root``."""

    def __init__(self, root: str | os.PathLike, job: str, config: dict[str, Any]):
        self.root = Path(root)
        self.job = job
        self.config = config
        self.fingerprint = fingerprint(config)
        self.parts_dir = self.root / "_parts"

    # -- init -------------------------------------------------------------------------
    def init(self) -> None:
        """Start or resume: record the configuration, refuse a different one."""
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        manifest = self.parts_dir / "job.json"
        if manifest.exists():
            previous = json.loads(manifest.read_text())
            if previous.get("fingerprint") != self.fingerprint or previous.get("job") != self.job:
                raise ConfigError(
                    f"{self.root} holds a partial or complete '{previous.get('job')}' run with a different "
                    "configuration; choose another output folder or delete it"
                )
            return
        with atomic_file(manifest) as tmp:
            tmp.write_text(json.dumps({"job": self.job, "fingerprint": self.fingerprint, "config": self.config},
                                      sort_keys=True, indent=1, default=str))

    # -- partition --------------------------------------------------------------------
    def marker(self, name: str) -> Path:
        return self.parts_dir / f"{name}.done"

    def is_done(self, name: str) -> bool:
        return self.marker(name).exists()

    def pending(self, names: Iterable[str]) -> list[str]:
        return [n for n in names if not self.is_done(n)]

    def mark_done(self, name: str, info: dict[str, Any] | None = None) -> None:
        with atomic_file(self.marker(name)) as tmp:
            tmp.write_text(json.dumps(info or {}, sort_keys=True, default=str))

    def info(self, name: str) -> dict[str, Any]:
        return json.loads(self.marker(name).read_text())

    # -- finalise ---------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        return (self.root / SUCCESS_MARKER).exists()

    def finalise(self, summary: dict[str, Any] | None = None) -> None:
        """Mark the whole output complete (call only after verifying every part)."""
        with atomic_file(self.root / SUCCESS_MARKER) as tmp:
            tmp.write_text(json.dumps({"job": self.job, "fingerprint": self.fingerprint, **(summary or {})},
                                      sort_keys=True, indent=1, default=str))
