#!/usr/bin/env bash
# Regenerates the hashed locks (requirements.txt, requirements-dev.txt) from the .in files with
# pip-tools. Resolved on Debian bookworm's own CPython (3.11.2, the image's Python) when present:
# some pins depend on the patch version (redis needs async-timeout below 3.11.3).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
PY=$( [[ -x /usr/bin/python3.11 ]] && echo /usr/bin/python3.11 || command -v python3.11 )
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
"$PY" -m venv "$tools"
"$tools/bin/pip" install --quiet pip-tools
for f in requirements requirements-dev; do
  "$tools/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-find-links --output-file "$f.txt" "$f.in"
done
