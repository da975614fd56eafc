#!/usr/bin/env bash
# Fetches, on the host, every wheel the image installs (image builds cannot reach PyPI here):
# the runtime lock's exact files, checked against its hashes, for the image's Python (Debian
# bookworm's CPython 3.11, x86_64 glibc).
#   bash backend/fetch-wheels.sh [DIR]     (default backend/wheels; `npx stagecraft images build`
#                                           passes its cache, .tools/images/wheels/<lock hash>)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="${1:-$here/wheels}"
PY=$(command -v python3.11 || command -v python3)
mkdir -p "$dest"
"$PY" -m pip download --quiet --require-hashes --no-deps -r "$here/requirements.txt" -d "$dest" \
  --only-binary=:all: --implementation cp --python-version 3.11 --abi cp311 --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64
echo "[backend] $(ls "$dest" | wc -l) wheels in $dest" >&2
