#!/usr/bin/env bash
# Builds the real Pulumi engine from Go modules (pinned, through the module proxy) into .tools/,
# registers the Kubernetes provider with the CLI, and installs the npm dependencies.
# Cached: a tool is rebuilt only when its wrapper module or build flags change. Safe to re-run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$STAGECRAFT_ROOT"

BIN="$STAGECRAFT_TOOLS/bin"
STAMPS="$STAGECRAFT_TOOLS/stamps"
mkdir -p "$BIN" "$STAMPS" "$STAGECRAFT_TOOLS/src"

log() { printf '[toolchain] %s\n' "$*" >&2; }
need() { command -v "$1" >/dev/null || { log "missing $1: install it first ($2)"; exit 1; }; }
need go "Go from https://go.dev, with access to a Go module proxy"
need node "Node.js 20+"
need npm "npm"

# The one place versions come from: package.json for npm, the wrapper go.mod files for Go.
npm_version() { node -p "require('./package.json').dependencies['$1']"; }
PULUMI_VERSION="$(npm_version @pulumi/pulumi)"
K8S_VERSION="$(npm_version @pulumi/kubernetes)"
# gomod_version FILE MODULE: the version a go.mod requires (block or single-line form).
gomod_version() { awk -v m="$2" '$1 == m {print $2; exit} $1 == "require" && $2 == m {print $3; exit}' "$1"; }
K8S_PSEUDO="$(gomod_version scripts/toolchain/k8sprovider/go.mod github.com/pulumi/pulumi-kubernetes/provider/v4)"
LANGHOST_SDK="$(gomod_version scripts/toolchain/langhost/go.mod github.com/pulumi/pulumi/sdk/v3)"
KUBESCORE_VERSION="$(gomod_version scripts/toolchain/kubescore/go.mod github.com/zegl/kube-score)"

# build NAME WRAPPER_DIR PACKAGE FLAGS...: go build in the wrapper module unless the stamp matches.
build() {
  local name="$1" dir="$2" pkg="$3"; shift 3
  local stamp; stamp="$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-16)-$(echo "$*" | sha256sum | cut -c1-16)"
  if [[ -x "$BIN/$name" && "$(cat "$STAMPS/$name" 2>/dev/null)" == "$stamp" ]]; then
    log "$name: cached"
    return
  fi
  log "$name: building $pkg (first build takes minutes; Go's module and build caches make later ones fast)"
  local t0=$SECONDS
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath "$@" -o "$BIN/$name" "$pkg")
  echo "$stamp" >"$STAMPS/$name"
  log "$name: built in $((SECONDS - t0))s"
}

# 1. npm dependencies (exact, from the lock file).
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# 2. Pulumi CLI.
build pulumi scripts/toolchain/pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
  -tags osusergo,grpcnotrace -ldflags "-w -s -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"

# 3. Node.js language host (see scripts/toolchain/langhost/go.mod for why it comes from sdk/v3 $LANGHOST_SDK).
build pulumi-language-nodejs scripts/toolchain/langhost github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs \
  -ldflags "-w -s -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$LANGHOST_SDK"

# 4. Kubernetes provider: a writable copy of the module with its two generated embed files.
SRC="$STAGECRAFT_TOOLS/src/k8s-provider"
if [[ "$(cat "$SRC/.stagecraft-version" 2>/dev/null)" != "$K8S_PSEUDO $K8S_VERSION" ]]; then
  log "pulumi-resource-kubernetes: preparing source $K8S_PSEUDO"
  dir="$(cd scripts/toolchain/k8sprovider && go mod download -json "github.com/pulumi/pulumi-kubernetes/provider/v4@$K8S_PSEUDO" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Dir))')"
  rm -rf "$SRC" && cp -r "$dir" "$SRC" && chmod -R u+w "$SRC"
  # What the upstream generate.go does: the schema with its version set, and the mapping, compacted.
  node scripts/toolchain/k8sprovider/embed.js "$SRC/cmd/pulumi-resource-kubernetes" "$K8S_VERSION"
  echo "$K8S_PSEUDO $K8S_VERSION" >"$SRC/.stagecraft-version"
  rm -f "$STAMPS/pulumi-resource-kubernetes"
fi
build pulumi-resource-kubernetes scripts/toolchain/k8sprovider github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes \
  -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_VERSION"

# 5. Register the provider under the exact version the npm SDK asks for.
PLUGIN_DIR="$PULUMI_HOME/plugins/resource-kubernetes-v$K8S_VERSION"
if ! cmp -s "$BIN/pulumi-resource-kubernetes" "$PLUGIN_DIR/pulumi-resource-kubernetes"; then
  log "registering resource plugin kubernetes $K8S_VERSION"
  pulumi plugin install resource kubernetes "$K8S_VERSION" --file "$BIN/pulumi-resource-kubernetes" --reinstall >/dev/null
fi

# 6. The policy pack's analyzer plugin (why a shim, not the language host: its header comment),
# registered like the provider: from the plugin cache the CLI runs it without an "ambient plugin"
# warning on every preview, which it prints for one found on PATH.
SHIM=scripts/toolchain/policy/pulumi-analyzer-policy-stagecraft-nodejs
POLICY_VERSION="$(node -p "require('./policy/package.json').version")"
SHIM_DIR="$PULUMI_HOME/plugins/analyzer-policy-stagecraft-nodejs-v$POLICY_VERSION"
if ! cmp -s "$SHIM" "$SHIM_DIR/pulumi-analyzer-policy-stagecraft-nodejs"; then
  log "registering analyzer plugin policy-stagecraft-nodejs $POLICY_VERSION"
  pulumi plugin install analyzer policy-stagecraft-nodejs "$POLICY_VERSION" --file "$SHIM" --reinstall >/dev/null
fi

# 7. kube-score, the outside referee the engine tests run over every rendered stage.
build kube-score scripts/toolchain/kubescore github.com/zegl/kube-score/cmd/kube-score \
  -ldflags "-s -w -X main.version=$KUBESCORE_VERSION"

log "ready: $(pulumi version) with kubernetes $K8S_VERSION, language host from sdk $LANGHOST_SDK"
