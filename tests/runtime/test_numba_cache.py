"""Numba's cache folder is keyed by the source of every module that defines kernels."""

import os
import subprocess
import sys
from pathlib import Path

from hubscan.runtime.numba_cache import kernel_fingerprint

PROJECT = Path(__file__).resolve().parents[2]


def test_fingerprint_follows_any_kernel_module(tmp_path):
    for package in ("gwas", "phenotypes", "hubscan"):
        (tmp_path / package).mkdir()
    (tmp_path / "gwas" / "a.py").write_text("import numba\n@numba.njit(cache=True)\ndef f(x):\n    return x\n")
    (tmp_path / "gwas" / "b.py").write_text("from gwas.a import f\nimport numba\n")
    (tmp_path / "phenotypes" / "plain.py").write_text("x = 1\n")
    first = kernel_fingerprint(tmp_path)
    assert first == kernel_fingerprint(tmp_path) and len(first) == 16
    (tmp_path / "phenotypes" / "plain.py").write_text("x = 2\n")  # no numba: not part of the key
    assert kernel_fingerprint(tmp_path) == first
    (tmp_path / "gwas" / "a.py").write_text("import numba\n@numba.njit(cache=True)\ndef f(x):\n    return x + 1\n")
    assert kernel_fingerprint(tmp_path) != first  # b.py's cached code inlines a.py: a new cache for both


def test_cache_folder_from_environment_and_inherited_by_children(tmp_path):
    code = ("import gwas, gwas.kernels.glm, numba, os, subprocess, sys; print(numba.config.CACHE_DIR); "
            "print(subprocess.run([sys.executable, '-c', 'import gwas, numba; print(numba.config.CACHE_DIR)'], "
            "capture_output=True, text=True, check=True).stdout.strip())")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), PYTHONPATH=str(PROJECT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout.split()
    assert out[0] == out[1] == str(tmp_path / kernel_fingerprint())
