"""The `hubscan` command line: help, usage errors, and environment errors, as a user meets them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hubscan.cli import COMMANDS, main

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m hubscan.cli ARGS` in a fresh process, as a user's shell would."""
    return subprocess.run([sys.executable, "-m", "hubscan.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)


def test_help_lists_every_command():
    result = run_cli("--help")
    assert result.returncode == 0
    for name in COMMANDS:
        assert name in result.stdout
    assert "hubscan demo" in result.stdout  # the epilog tells a newcomer where to start


def test_each_command_has_help(capsys):
    for name in COMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
    assert "--out" in capsys.readouterr().out


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("hubscan ")


@pytest.mark.parametrize("args, expected", [
    (["simulate", "--out", "x", "--no-such-option"], "unrecognized arguments: --no-such-option"),
    (["no-such-command"], "invalid choice: 'no-such-command'"),
    (["simulate"], "the following arguments are required: --out"),
])
def test_usage_errors_are_one_line(args, expected):
    result = run_cli(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]


def test_no_command_prints_help_and_fails():
    result = run_cli()
    assert result.returncode == 2
    assert "COMMAND" in result.stderr


def _env_without_java(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    env["PATH"] = str(empty_bin)
    return env


def test_missing_java_is_one_clear_line(tmp_path):
    result = run_cli("demo", "--out", str(tmp_path / "out"), env=_env_without_java(tmp_path))
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Java not found" in lines[0] and "Java 17" in lines[0]


def test_old_java_is_refused(tmp_path):
    # A JAVA_HOME whose java reports version 1.8, the way Java 8 prints it.
    java_home = tmp_path / "jdk8"
    (java_home / "bin").mkdir(parents=True)
    java = java_home / "bin" / "java"
    java.write_text('#!/bin/sh\necho \'openjdk version "1.8.0_392"\' >&2\n')
    java.chmod(0o755)
    env = _env_without_java(tmp_path)
    env["JAVA_HOME"] = str(java_home)
    result = run_cli("demo", "--out", str(tmp_path / "out"), env=env)
    assert result.returncode == 3
    assert "Java 8" in result.stderr and "too old" in result.stderr


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_cli("demo", "--out", str(blocker / "sub"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not writable" in lines[0] and str(blocker / "sub") in lines[0]


def test_output_path_that_is_a_file(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_cli("demo", "--out", str(blocker))
    assert result.returncode == 1
    assert "is not a folder" in result.stderr


@pytest.mark.skipif(not (PROJECT_ROOT / "run.sh").exists(), reason="run.sh not present")
def test_run_sh_refuses_missing_java(tmp_path):
    env = _env_without_java(tmp_path)
    env["PATH"] = f"{tmp_path / 'empty-bin'}:/usr/bin:/bin"
    # /usr/bin may hold java on this machine: point JAVA_HOME at an empty folder instead.
    env["JAVA_HOME"] = str(tmp_path / "no-java-here")
    result = subprocess.run(["bash", str(PROJECT_ROOT / "run.sh"), "demo"], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "run.sh: Java not found: hubscan needs Java 17 (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; "
        "or set JAVA_HOME)"]


def test_readme_lists_every_command():
    readme = (PROJECT_ROOT / "README.md").read_text()
    for name in COMMANDS:
        assert f"| `hubscan {name}` |" in readme, f"README's command table lacks `hubscan {name}`"


def test_every_job_script_starts(tmp_path):
    """`python jobs/<name>.py --help` (as spark-submit runs it): one job per command, none shadowed by
    a sibling script named like a package (jobs/gwas.py vs the gwas package)."""
    import subprocess
    import sys

    from hubscan.cli import COMMANDS

    jobs = sorted(p.stem for p in (PROJECT_ROOT / "jobs").glob("*.py"))
    assert set(jobs) <= set(COMMANDS), set(jobs) - set(COMMANDS)
    for name in jobs:
        result = subprocess.run([sys.executable, str(PROJECT_ROOT / "jobs" / f"{name}.py"), "--help"],
                                cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, (name, result.stderr[-2000:])
        assert f"usage: hubscan {name}" in result.stdout, name


def test_a_run_builds_only_its_own_command():
    """`hubscan ingest ...` imports the ingest module alone (not the scan or QC stacks)."""
    from hubscan import cli

    assert cli._named_command(["--log-level", "DEBUG", "ingest", "x.vcf.gz"]) == "ingest"
    assert cli._named_command(["--log-level=DEBUG", "simulate", "--out", "x"]) == "simulate"
    assert cli._named_command(["--help"]) is None and cli._named_command(["no-such-command"]) is None
    code = ("import sys, hubscan.cli as c; c.build_parser('ingest'); "
            "print(sorted(m for m in sys.modules if m.startswith(('gwas.scan', 'gwas.qc', 'pyspark'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert result.stdout.strip() == "[]", result.stderr


def test_ingest_threads_must_be_positive(tmp_path):
    result = run_cli("ingest", str(tmp_path / "x.vcf.gz"), "--out", str(tmp_path / "s"), "--threads", "0")
    assert result.returncode == 2 and "--threads must be positive" in result.stderr
