#!/usr/bin/env bash
# One entry point for a fresh clone: builds .venv from requirements.lock on first use (and again
# whenever the lock or pyproject.toml changes), then runs the command.
#   ./dev.sh serve [--port 8080]   run the relay (SQLite + sandbox engine)
#   ./dev.sh test [pytest args]    ruff, mypy, import contracts, then the whole test suite
#   ./dev.sh <tool> [args]         any tool from the venv (mjrelay, python, pytest, ...)
set -euo pipefail
cd "$(dirname "$0")"

venv=.venv
python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python=$candidate; break; fi
  done
fi
stamp="$venv/.installed-$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "dev.sh: installing dependencies into $venv (first run only)..." >&2
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r requirements.lock
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e .
  rm -f "$venv"/.installed-*
  touch "$stamp"
fi

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  serve) exec "$venv/bin/mjrelay" serve "$@" ;;
  test)
    "$venv/bin/ruff" check .
    "$venv/bin/mypy"
    "$venv/bin/lint-imports"  # the import contracts in pyproject.toml [tool.importlinter]
    exec "$venv/bin/pytest" "$@"
    ;;
  "") sed -n '2,7p' "$0" >&2; exit 2 ;;
  *) exec "$venv/bin/$command" "$@" ;;
esac
