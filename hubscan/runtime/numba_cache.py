"""Numba's on-disk cache, keyed by the source of every hubscan module that compiles kernels.

Numba checks a cached kernel against its own file only: when ``gwas/kernels/glm.py`` changes, a
cached ``firth_block`` (in ``firth.py``, which inlines glm's pass) is still loaded with the old code
inlined — wrong results or a crash after an upgrade, or with a stable ``NUMBA_CACHE_DIR`` shared by
Spark executors. :func:`configure` points Numba's cache at a subfolder named by a hash of all those
sources, so any change to any kernel module starts a fresh cache. Base folder: ``NUMBA_CACHE_DIR``
when set, else ``$XDG_CACHE_HOME/hubscan/numba`` (default ``~/.cache/hubscan/numba``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

#: packages (under the project root) whose modules may define Numba kernels
PACKAGES = ("gwas", "phenotypes", "hubscan")


def kernel_fingerprint(root: Path | None = None) -> str:
    """16 hex digits of SHA-256 over the path and bytes of every module of :data:`PACKAGES` that
    imports numba, in sorted order."""
    root = root or Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            data = path.read_bytes()
            if b"numba" in data:
                digest.update(str(path.relative_to(root)).encode() + b"\0" + data)
    return digest.hexdigest()[:16]


def configure() -> Path:
    """Point Numba's cache at ``<base>/<kernel_fingerprint()>`` and return that folder. Must run
    before kernels are defined (Numba reads the folder when a ``cache=True`` function is
    decorated): through the environment when numba is not imported yet (so ``import gwas`` stays
    light, and child processes inherit it), else through ``numba.config``. A base that already ends
    in the fingerprint (a child's inherited setting) is kept."""
    import sys

    fingerprint = kernel_fingerprint()
    base = os.environ.get("NUMBA_CACHE_DIR")
    if not base:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hubscan" / "numba"
    folder = Path(base) if Path(base).name == fingerprint else Path(base) / fingerprint
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    if "numba" in sys.modules:
        sys.modules["numba"].config.CACHE_DIR = str(folder)
    return folder
