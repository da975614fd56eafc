#!/usr/bin/env bash
# The README's first command: the main job, on this machine.
#   npm run local            set up the tools, bring the local cluster up with its real node,
#                            build + import the images, `pulumi up` the live stack `local` (stage mvc
#                            as committed; `npx stagecraft promote --stack local --to split` moves it),
#                            then print how to reach it.
#   npm run local -- down    `npm run cluster -- down` (the stack's state is refreshed on the next up).
# Needs root (the real node changes the host: scripts/cluster/node, undone by `down`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$STAGECRAFT_ROOT"

if [[ "${1:-up}" == down ]]; then exec bash scripts/cluster.sh down; fi
stack=local
say() { printf '\n== %s (%ss so far)\n' "$*" "$SECONDS"; }

say "tools (Pulumi engine, provider; kube binaries, kubelet, CoreDNS on the first run)"
bash scripts/toolchain.sh
say "local cluster with a real node"
bash scripts/cluster.sh up --real-node
say "images (built once, cached by content; imported into the node)"
node -r ts-node/register/transpile-only scripts/images/main.ts build
say "pulumi up: stack $stack"
# --refresh: after a `down` the state still lists objects of the cluster that is gone; the refresh
# drops them, so this up recreates them instead of failing to update what no longer exists.
bash scripts/stage.sh "$stack" up --refresh

kubectl="$STAGECRAFT_TOOLS/bin/kubectl --kubeconfig $STAGECRAFT_TOOLS/cluster/kubeconfig"
ns="$(node -e 'const y=require("yaml");const c=y.parse(require("fs").readFileSync(process.argv[1],"utf8")).config;console.log(c["stagecraft:target"].namespace||"stagecraft")' "stacks/Pulumi.$stack.yaml")"
say "up: stack $stack in namespace $ns"
$kubectl -n "$ns" get svc --field-selector spec.type=LoadBalancer \
  -o jsonpath='{range .items[*]}  {.metadata.name}: http://{.status.loadBalancer.ingress[0].ip}:{.spec.ports[0].port}/{"\n"}{end}'
cat <<EOF
  (kong-proxy, if listed, fronts pods on KWOK nodes: Kong cannot run here, so it answers nothing)
  kubectl: export KUBECONFIG=$STAGECRAFT_TOOLS/cluster/kubeconfig PATH=$STAGECRAFT_TOOLS/bin:\$PATH; kubectl -n $ns get pods
  check it: STAGECRAFT_REAL_STAGE=1 npx jest -c '{"preset":"ts-jest","testEnvironment":"node","rootDir":"."}' test/engine/realStage.test.ts
  down:     npm run local -- down
EOF
