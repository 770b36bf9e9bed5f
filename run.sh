#!/usr/bin/env bash
# hubscan's two commands on a fresh machine (Python >= 3.11 and Java 17 needed):
#
#   ./run.sh demo    create .venv, install hubscan with Spark and Hail, run the end-to-end demo
#   ./run.sh test    the same set-up, then the test suite (extra arguments go to pytest)
#
# The virtual environment is made once (in .venv, or $HUBSCAN_VENV) with the tested
# versions in requirements/constraints.txt, and remade when pyproject.toml or the
# constraints change.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${HUBSCAN_VENV:-$HERE/.venv}"

die() { echo "run.sh: $*" >&2; exit 1; }

check_java() {
    local java_bin
    if [ -n "${JAVA_HOME:-}" ]; then java_bin="$JAVA_HOME/bin/java"; else java_bin="$(command -v java || true)"; fi
    [ -n "$java_bin" ] && [ -x "$java_bin" ] || \
        die "Java not found: hubscan needs Java 17 (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; or set JAVA_HOME)"
    local version major
    version="$("$java_bin" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)"
    major="${version%%.*}"
    [ "$major" = "1" ] && major="$(echo "$version" | cut -d. -f2)"
    case "$major" in
        ''|*[!0-9]*) die "could not read the Java version from $java_bin: hubscan needs Java 17" ;;
    esac
    [ "$major" -ge 11 ] || die "Java $version at $java_bin is too old: hubscan needs Java 17 (apt-get install openjdk-17-jre-headless)"
}

find_python() {
    local candidate
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 && \
           "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$candidate"; return 0
        fi
    done
    die "Python 3.11 or newer not found (Debian/Ubuntu: apt-get install python3 python3-venv)"
}

ensure_venv() {
    local stamp="$VENV/.hubscan-installed"
    if [ -f "$stamp" ] && [ "$stamp" -nt "$HERE/pyproject.toml" ] && [ "$stamp" -nt "$HERE/requirements/constraints.txt" ]; then
        return 0
    fi
    local python; python="$(find_python)"
    echo "run.sh: installing hubscan and its dependencies into $VENV (a few minutes the first time)" >&2
    "$python" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -c "$HERE/requirements/constraints.txt" -e "$HERE[test]"
    touch "$stamp"
}

command="${1:-}"
[ $# -gt 0 ] && shift
case "$command" in
    demo)
        check_java; ensure_venv
        exec "$VENV/bin/hubscan" demo --out "${HUBSCAN_DEMO_OUT:-$HERE/demo-output}" "$@" ;;
    test)
        check_java; ensure_venv
        cd "$HERE"
        export PATH="$VENV/bin:$PATH"
        exec "$VENV/bin/python" -m pytest "$@" ;;
    *)
        echo "usage: ./run.sh demo | ./run.sh test [pytest arguments]" >&2; exit 2 ;;
esac
