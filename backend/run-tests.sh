#!/usr/bin/env bash
# The backend's one command: a venv under backend/.venv from the hashed locks (reinstalled only
# when a lock changes), then lint (ruff), format check, type-check (mypy) and the tests (pytest,
# whose summary line ends the output). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

PY=$(command -v python3.11 || command -v python3)
"$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "backend: Python 3.11 is required (found $("$PY" -V))" >&2; exit 1; }

stamp=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [[ "$(cat .venv/.lock-sha 2>/dev/null)" != "$stamp" ]]; then
  echo "[backend] installing the locked dependencies into backend/.venv" >&2
  rm -rf .venv
  "$PY" -m venv .venv
  .venv/bin/pip install --quiet --require-hashes --no-deps -r requirements.txt -r requirements-dev.txt
  echo "$stamp" > .venv/.lock-sha
fi

echo "[backend] ruff" >&2
.venv/bin/ruff check .
.venv/bin/ruff format --check . >/dev/null || { .venv/bin/ruff format --check .; exit 1; }
echo "[backend] mypy" >&2
.venv/bin/mypy .
echo "[backend] pytest" >&2
exec .venv/bin/pytest "$@"
