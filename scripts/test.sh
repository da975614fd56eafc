#!/usr/bin/env bash
# The project's test command (`npm test`, run by .ci/run): installs what it needs, then lint,
# type-check, and one jest run over the three suites — unit (pure functions, mocks), conformance
# (real Debian servers accept every generated config) and engine (the real Pulumi engine renders
# every stage; a real local cluster). The Python backend's suite (backend/run-tests.sh) runs just
# before jest; its failure fails the run. Ends with one plain line: "jest: N passed, N failed".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$STAGECRAFT_ROOT"

# step TITLE: "== [n/7] TITLE (m:ss so far)", so a long first run shows where it is.
n=0
step() { n=$((n + 1)); printf '\n== [%s/7] %s (%s so far)\n' "$n" "$*" "$((SECONDS / 60))m$(printf %02d $((SECONDS % 60)))s"; }
step "toolchain (Pulumi CLI, language host, Kubernetes provider)"
bash scripts/toolchain.sh
step "real servers for conformance tests (Debian packages)"
bash scripts/servers.sh
if [[ -f scripts/cluster-tools.sh ]]; then
  step "local cluster tools (kube-apiserver, controller-manager, scheduler, kwok)"
  bash scripts/cluster-tools.sh
fi

step "type-check"
tsc --noEmit -p .
step "lint"
eslint .
prettier --check . >/dev/null || { prettier --check . ; exit 1; }

step "backend (Python 3.11: hashed locks, ruff, mypy, pytest)"
backend_status=0
bash backend/run-tests.sh || backend_status=$?

step "jest: unit, conformance, engine"
mkdir -p artifacts
status=0
jest --ci --maxWorkers=2 --json --outputFile=artifacts/jest.json "$@" || status=$?
node -e '
const r = require("./artifacts/jest.json");
console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed`);
'
((status != 0)) || status=$backend_status
exit $status
