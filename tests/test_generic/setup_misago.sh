#!/usr/bin/env bash
# Create or update .venv-misago, the virtualenv of the real Misago forum the tests start
# (tests/test_generic/misago_site.py). Idempotent: when the venv was built from the same
# requirements and base Python it exits at once (a stamp file holds their hash).
#   MISAGO_VENV   where to put it (default: <repo>/.venv-misago)
#   PYTHON        base interpreter (default: the one .venv was made from, else python3)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${MISAGO_VENV:-$root/.venv-misago}
requirements=$here/misago_requirements.txt
stamp=$venv/.spokeswatch-requirements.sha256

if [ -z "${PYTHON:-}" ]; then
    if [ -x "$root/.venv/bin/python" ]; then
        PYTHON=$("$root/.venv/bin/python" -c 'import sys; print(sys._base_executable)')
    else
        PYTHON=python3
    fi
fi
version=$("$PYTHON" -c 'import sys; print(sys.version)')
want=$( { cat "$requirements"; echo "$version"; } | sha256sum | cut -d' ' -f1)

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    exit 0
fi

# a venv made by another Python version is remade from scratch; otherwise pip updates it in place
if [ ! -x "$venv/bin/python" ] || [ "$("$venv/bin/python" -c 'import sys; print(sys.version)')" != "$version" ]; then
    echo "setup_misago: creating $venv with $PYTHON" >&2
    "$PYTHON" -m venv --clear "$venv"
fi
rm -f "$stamp"
echo "setup_misago: installing $(grep -v '^#' "$requirements" | xargs) into $venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
"$venv/bin/python" -m pip check >/dev/null
echo "$want" > "$stamp"
