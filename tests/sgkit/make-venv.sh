#!/usr/bin/env bash
# sgkit's own virtual environment for tests/sgkit (sgkit 0.10 pins numpy < 2.2, zarr < 3, xarray and
# dask versions that clash with hubscan's): made from PyPI with the versions in constraints.txt,
# at .venv-sgkit in the project root (or $1). Remade only when the constraints change.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${1:-$HERE/../../.venv-sgkit}"
stamp="$VENV/.constraints-installed"
if [ -f "$stamp" ] && [ "$stamp" -nt "$HERE/constraints.txt" ]; then
    exit 0
fi
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -c "$HERE/constraints.txt" sgkit
"$VENV/bin/python" -c "import sgkit, zarr; print('sgkit', sgkit.__version__, 'zarr', zarr.__version__)"
touch "$stamp"
