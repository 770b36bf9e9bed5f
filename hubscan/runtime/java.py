"""Find Java and check its version before anything starts a JVM.

Spark 3.5 and Hail 0.2 run on Java 11 and 17 (Hail warns on 17 but works); older Java
cannot start them. ``JAVA_HOME`` wins over ``PATH``, as Spark's launcher does.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

from hubscan.errors import EnvironmentProblem

MIN_JAVA = 11
INSTALL_HINT = "install a Java 17 runtime (e.g. `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME"


def find_java() -> Path | None:
    """The java executable Spark would use, or None."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return candidate if candidate.exists() else None
    found = shutil.which("java")
    return Path(found) if found else None


def java_major_version(java: Path) -> int:
    """Major version of ``java`` (8 for '1.8.0_x', 17 for '17.0.15')."""
    out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        raise EnvironmentProblem(f"could not read the version of {java}; {INSTALL_HINT}")
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


def require_java() -> int:
    """Return Java's major version, or raise EnvironmentProblem with one clear line."""
    java = find_java()
    if java is None:
        where = "JAVA_HOME does not contain bin/java" if os.environ.get("JAVA_HOME") else "no `java` on PATH"
        raise EnvironmentProblem(f"Java not found ({where}); hubscan needs Java 17: {INSTALL_HINT}")
    major = java_major_version(java)
    if major < MIN_JAVA:
        raise EnvironmentProblem(f"Java {major} at {java} is too old; hubscan needs Java 17: {INSTALL_HINT}")
    return major
