#!/usr/bin/env bash
# Makes the real Pulumi engine available in .tools/: the `pulumi` CLI of the pinned version if one
# is installed (then nothing is built), otherwise the CLI, the Node.js language host and the
# Kubernetes provider built from Go modules (pinned, through the module proxy); registers the
# provider with the CLI; installs the npm dependencies and the system packages the CLI needs.
# Cached: a tool is rebuilt only when its wrapper module or build flags change. Safe to re-run.
# Go's own output goes to .tools/logs/toolchain.log; the terminal gets one line per step and a
# progress line every 30 s of a build (scripts/lib/progress.ts).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$STAGECRAFT_ROOT"

BIN="$STAGECRAFT_TOOLS/bin"
STAMPS="$STAGECRAFT_TOOLS/stamps"
LOG="$STAGECRAFT_TOOLS/logs/toolchain.log"
mkdir -p "$BIN" "$STAMPS" "$STAGECRAFT_TOOLS/src" "$(dirname "$LOG")"

STEPS=8
n=0
log() { printf '[toolchain] %s\n' "$*" >&2; }
# step TITLE: the next numbered step.
step() { n=$((n + 1)); printf '[toolchain %s/%s] %s\n' "$n" "$STEPS" "$*" >&2; }
need() { command -v "$1" >/dev/null || { log "missing $1: install it first ($2)"; exit 1; }; }
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

# Seconds each first build took on the reference machine (2 cores, empty Go caches, module
# downloads included; one fresh clone's .ci/run on a machine shared with other jobs), for
# the progress lines; later builds reuse Go's caches and take seconds.
declare -A FIRST_RUN=([pulumi]=235 [pulumi-language-nodejs]=15 [pulumi-resource-kubernetes]=455 [kube-score]=30)

# build NAME WRAPPER_DIR PACKAGE FLAGS...: go build in the wrapper module unless the stamp matches.
build() {
  local name="$1" dir="$2" pkg="$3"; shift 3
  local stamp; stamp="$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-16)-$(echo "$*" | sha256sum | cut -c1-16)"
  if [[ -x "$BIN/$name" && ! -L "$BIN/$name" && "$(cat "$STAMPS/$name" 2>/dev/null)" == "$stamp" ]]; then
    log "$name: cached (built from ${pkg/#./$dir})"
    return
  fi
  need go "Go 1.24+ from https://go.dev, with access to a Go module proxy; or install pulumi v$PULUMI_VERSION and its kubernetes $K8S_VERSION plugin"
  rm -f "$BIN/$name"
  (cd "$dir" && node -r ts-node/register/transpile-only "$STAGECRAFT_ROOT/scripts/lib/progress.ts" --prefix toolchain \
    --step "$n/$STEPS" --tool "$name" --expect "${FIRST_RUN[$name]:-0}" --log "$LOG" \
    -- env CGO_ENABLED=0 go build -trimpath "$@" -o "$BIN/$name" "$pkg")
  echo "$stamp" >"$STAMPS/$name"
}

# installed_pulumi: the first `pulumi` on PATH outside .tools/bin that is the pinned version.
installed_pulumi() {
  [[ -z "${STAGECRAFT_BUILD_TOOLS:-}" ]] || return 0
  local d IFS=:
  for d in $PATH; do
    [[ -n "$d" && "$d" != "$BIN" && -x "$d/pulumi" ]] || continue
    if [[ "$("$d/pulumi" version 2>/dev/null)" == "v$PULUMI_VERSION" ]]; then
      echo "$d/pulumi"
      return 0
    fi
  done
}

step "npm dependencies"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

step "system packages the CLI needs (Graphviz for stagecraft compare)"
command -v dot >/dev/null || bash scripts/servers.sh graphviz ||
  log "warning: no Graphviz, so \`stagecraft compare\` cannot draw its diagrams: install graphviz"

step "pulumi CLI v$PULUMI_VERSION"
EXT="$(installed_pulumi)"
if [[ -n "$EXT" ]]; then
  # An installed CLI of the pinned version: use it (and the language host it ships with); build nothing.
  ln -sfn "$EXT" "$BIN/pulumi"
  rm -f "$STAMPS/pulumi"
  log "pulumi: using the installed $EXT"
else
  [[ -L "$BIN/pulumi" ]] && rm -f "$BIN/pulumi" # it pointed at an install that is gone or another version
  build pulumi scripts/toolchain/pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    -tags osusergo,grpcnotrace -ldflags "-w -s -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
fi

# fresh_source NAME SRC KEY WRAPPER_DIR MODULE@VERSION: whether SRC, the changed copy of the module that
# NAME is built from, must be made again (it was made under another KEY, or never). If so, SRC and
# NAME's build stamp are removed and MODULE_DIR names the module's source in Go's module cache (downloaded
# if need be), for the caller to copy and change.
fresh_source() {
  [[ "$(cat "$2/.stagecraft-version" 2>/dev/null)" != "$3" ]] || return 1
  need go "Go 1.24+ from https://go.dev, with access to a Go module proxy"
  log "$1: preparing source ($5)"
  rm -rf "$2" "$STAMPS/$1"
  MODULE_DIR="$(cd "$4" && go mod download -json "$5" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Dir))')"
}

# build_langhost: the host's package copied out of sdk/v3 $LANGHOST_SDK (see scripts/toolchain/langhost/go.mod
# for why from there) into a module of its own beside the wrapper's go.mod, changed, and built.
build_langhost() {
  local src="$STAGECRAFT_TOOLS/src/langhost"
  # The key names the module and the change made to it, so changing either rebuilds it.
  local key
  key="$LANGHOST_SDK $(cat scripts/toolchain/langhost/go.mod scripts/toolchain/langhost/go.sum scripts/toolchain/langhost/directMonitor.js | sha256sum | cut -c1-16)"
  if fresh_source pulumi-language-nodejs "$src" "$key" scripts/toolchain/langhost "github.com/pulumi/pulumi/sdk/v3@$LANGHOST_SDK"; then
    mkdir -p "$src"
    find "$MODULE_DIR/nodejs/cmd/pulumi-language-nodejs" -maxdepth 1 -name '*.go' ! -name '*_test.go' -exec cp {} "$src/" \;
    cp scripts/toolchain/langhost/go.mod scripts/toolchain/langhost/go.sum "$src/"
    chmod -R u+w "$src"
    # The program talks to the engine itself, not through the host's proxy: see the file.
    node scripts/toolchain/langhost/directMonitor.js "$src"
    echo "$key" >"$src/.stagecraft-version"
  fi
  build pulumi-language-nodejs "$src" . -ldflags "-w -s -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$LANGHOST_SDK"
}

step "Node.js language host"
EXT_DIR="$([[ -n "$EXT" ]] && dirname "$(readlink -f "$EXT")" || true)"
if [[ -n "$EXT" && -x "$EXT_DIR/pulumi-language-nodejs" ]]; then
  # The CLI finds the host beside itself; one in .tools/bin would come first on PATH and win.
  rm -f "$BIN/pulumi-language-nodejs" "$STAMPS/pulumi-language-nodejs"
  log "pulumi-language-nodejs: the one installed with pulumi ($EXT_DIR)"
else
  build_langhost
fi

# build_provider: a writable copy of the provider's module with its two generated embed files, built.
build_provider() {
  local src="$STAGECRAFT_TOOLS/src/k8s-provider"
  # The key names the module and the changes made to it (scripts/toolchain/k8sprovider/previewReplace.js,
  # awaitObserved.js), so changing either rebuilds it.
  local key
  key="$K8S_PSEUDO $K8S_VERSION $(cat scripts/toolchain/k8sprovider/previewReplace.js scripts/toolchain/k8sprovider/awaitObserved.js | sha256sum | cut -c1-16)"
  if fresh_source pulumi-resource-kubernetes "$src" "$key" scripts/toolchain/k8sprovider "github.com/pulumi/pulumi-kubernetes/provider/v4@$K8S_PSEUDO"; then
    cp -r "$MODULE_DIR" "$src" && chmod -R u+w "$src"
    # What the upstream generate.go does: the schema with its version set, and the mapping, compacted.
    node scripts/toolchain/k8sprovider/embed.js "$src/cmd/pulumi-resource-kubernetes" "$K8S_VERSION"
    # A Service turning headless must be previewable (a StatefulSet's governing Service): see the file.
    node scripts/toolchain/k8sprovider/previewReplace.js "$src"
    # A Deployment or StatefulSet update is done only once its controller has observed it: see the file.
    node scripts/toolchain/k8sprovider/awaitObserved.js "$src"
    echo "$key" >"$src/.stagecraft-version"
  fi
  build pulumi-resource-kubernetes scripts/toolchain/k8sprovider github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes \
    -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_VERSION"
}

step "Kubernetes provider $K8S_VERSION"
PLUGIN_DIR="$PULUMI_HOME/plugins/resource-kubernetes-v$K8S_VERSION"
USER_PLUGIN="$HOME/.pulumi/plugins/resource-kubernetes-v$K8S_VERSION/pulumi-resource-kubernetes"
PROVIDER="$BIN/pulumi-resource-kubernetes"
# With an installed CLI, a provider it already has (or can download) saves the longest build.
# Once this project has built its own, that one stays in use.
if [[ -n "$EXT" && ! -f "$STAMPS/pulumi-resource-kubernetes" ]]; then
  if [[ -x "$PLUGIN_DIR/pulumi-resource-kubernetes" ]]; then
    PROVIDER=""
    log "pulumi-resource-kubernetes: registered already ($PLUGIN_DIR)"
  elif [[ -x "$USER_PLUGIN" ]]; then
    PROVIDER="$USER_PLUGIN"
    log "pulumi-resource-kubernetes: the one installed for your pulumi ($USER_PLUGIN)"
  elif timeout 120 pulumi plugin install resource kubernetes "$K8S_VERSION" >>"$LOG" 2>&1; then
    PROVIDER=""
    log "pulumi-resource-kubernetes: downloaded by pulumi plugin install"
  else
    log "pulumi-resource-kubernetes: no plugin $K8S_VERSION to download (see $LOG); building it"
    build_provider
  fi
else
  build_provider
fi

step "register the provider under the version the npm SDK asks for"
if [[ -n "$PROVIDER" ]] && ! cmp -s "$PROVIDER" "$PLUGIN_DIR/pulumi-resource-kubernetes"; then
  pulumi plugin install resource kubernetes "$K8S_VERSION" --file "$PROVIDER" --reinstall >>"$LOG" 2>&1 ||
    { log "registering $PROVIDER failed; see $LOG"; exit 1; }
fi

step "the policy pack's analyzer plugin"
# Why a shim, not the language host: its header comment. Registered like the provider: from the
# plugin cache the CLI runs it without an "ambient plugin" warning on every preview.
SHIM=scripts/toolchain/policy/pulumi-analyzer-policy-stagecraft-nodejs
POLICY_VERSION="$(node -p "require('./policy/package.json').version")"
SHIM_DIR="$PULUMI_HOME/plugins/analyzer-policy-stagecraft-nodejs-v$POLICY_VERSION"
if ! cmp -s "$SHIM" "$SHIM_DIR/pulumi-analyzer-policy-stagecraft-nodejs"; then
  log "registering analyzer plugin policy-stagecraft-nodejs $POLICY_VERSION"
  pulumi plugin install analyzer policy-stagecraft-nodejs "$POLICY_VERSION" --file "$SHIM" --reinstall >>"$LOG" 2>&1 ||
    { log "registering the policy analyzer failed; see $LOG"; exit 1; }
fi

step "kube-score, the outside referee the engine tests run over every rendered stage"
need go "Go 1.24+ from https://go.dev, with access to a Go module proxy"
build kube-score scripts/toolchain/kubescore github.com/zegl/kube-score/cmd/kube-score \
  -ldflags "-s -w -X main.version=$KUBESCORE_VERSION"

host="language host from sdk $LANGHOST_SDK"
[[ -x "$BIN/pulumi-language-nodejs" ]] || host="language host installed with pulumi"
log "ready: pulumi $(pulumi version) ($(readlink -f "$(command -v pulumi)")), kubernetes $K8S_VERSION, $host"
