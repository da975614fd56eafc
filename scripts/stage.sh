#!/usr/bin/env bash
# Runs one stage's stack with the real Pulumi engine.
#   npm run stage -- <stack> [up|preview|destroy|render] [extra pulumi args]
# A stack whose target is `render` (the four stage stacks by default) renders its manifests:
# a fresh private state each time, raw provider output organised into rendered/<stack>/<tier>/.
# Any other target runs against its cluster with the project's backend ($PULUMI_BACKEND_URL).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$STAGECRAFT_ROOT"

stack="${1:?usage: npm run stage -- <stack> [up|preview|destroy|render] [pulumi args]}"
action="${2:-up}"
shift $(($# >= 2 ? 2 : 1))
file="stacks/Pulumi.$stack.yaml"
[[ -f "$file" ]] || { echo "no stack file $file (stacks: $(ls stacks | sed -n 's/^Pulumi\.\(.*\)\.yaml$/\1/p' | tr '\n' ' '))" >&2; exit 2; }

bash scripts/toolchain.sh
# Every run of the engine goes through the policy pack (policy/): a mandatory violation fails it.
POLICY=(--policy-pack "$STAGECRAFT_ROOT/policy")
# Fail fast, before the engine, with the same messages a preview would give.
node cli/bin.js validate "$file"

kind="$(node -e 'const y=require("yaml");const c=y.parse(require("fs").readFileSync(process.argv[1],"utf8")).config||{};console.log((c["stagecraft:target"]||{}).kind||"")' "$file")"
if [[ "$kind" == "render" && "$action" == "up" ]]; then action=render; fi
# A live stack, before the engine touches anything: the cluster answers, the stage fits its
# schedulable nodes, and the local real node holds every image its pods run (scripts/preflight).
if [[ "$kind" == "kubeconfig" && ("$action" == "up" || "$action" == "preview") ]]; then
  node -r ts-node/register/transpile-only scripts/preflight/main.ts "$file"
fi

if [[ "$action" == "render" ]]; then
  [[ "$kind" == "render" ]] || { echo "stack $stack: target.kind is '$kind'; render needs 'render'" >&2; exit 2; }
  # Render state is disposable: start empty so every object is written, and nothing stale remains.
  work="$STAGECRAFT_ROOT/.pulumi-state/render/$stack"
  rm -rf "$work" && mkdir -p "$work/backend"
  export PULUMI_BACKEND_URL="file://$work/backend"
  pulumi stack select --create "$stack" --non-interactive >/dev/null
  pulumi up --yes --non-interactive --skip-preview --stack "$stack" "${POLICY[@]}" "$@"
  node cli/bin.js render-tree "$work/raw" "rendered/$stack"
  exit 0
fi

pulumi stack select --create "$stack" --non-interactive >/dev/null
case "$action" in
  up) pulumi up --yes --non-interactive --stack "$stack" "${POLICY[@]}" "$@" ;;
  preview)
    # The pack judges what the stage should be; what the preview would DO to data (replace, delete)
    # is in its plan, which no pack is shown: policy/guard.ts reads the plan and the current state.
    # The plan stays (secrets encrypted, like the state) for `pulumi up --plan=<it>`, as the CLI says.
    plan="$STAGECRAFT_ROOT/.pulumi-state/plans/$stack.json"
    state="$(mktemp)"
    trap 'rm -f "$state"' EXIT
    mkdir -p "$(dirname "$plan")"
    pulumi preview --non-interactive --stack "$stack" "${POLICY[@]}" --save-plan "$plan" "$@"
    pulumi stack export --stack "$stack" --file "$state"
    node -r ts-node/register/transpile-only policy/guard.ts "$plan" "$state"
    ;;
  destroy) pulumi destroy --yes --non-interactive --stack "$stack" "$@" ;;
  *) echo "unknown action $action (up|preview|destroy|render)" >&2; exit 2 ;;
esac
