#!/usr/bin/env bash
# Builds the local cluster's binaries from Go modules (pinned, through the module proxy) into
# .tools/bin, the same way scripts/toolchain.sh builds the Pulumi engine: one wrapper module per
# upstream, a stamp of go.mod + go.sum + build flags, rebuilt only when one of those changes.
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl  <- scripts/toolchain/kube
#   kwok                                                             <- scripts/toolchain/kwok
# With --real-node (or STAGECRAFT_REAL_NODE=1), also what the real node runs:
#   kubelet, kube-proxy (same module and version as the control plane) <- scripts/toolchain/kube
#   coredns                                                          <- scripts/toolchain/coredns
#   kube-router (NetworkPolicy enforcer, local test cluster only)    <- scripts/toolchain/kube-router
# etcd comes from Debian (apt-get install etcd-server); see ETCD below for why that is enough.
# Called by scripts/cluster.sh; safe to run on its own and to re-run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$STAGECRAFT_ROOT"

BIN="$STAGECRAFT_TOOLS/bin"
STAMPS="$STAGECRAFT_TOOLS/stamps"
mkdir -p "$BIN" "$STAMPS"

LOG="$STAGECRAFT_TOOLS/logs/cluster-tools.log"
mkdir -p "$(dirname "$LOG")"
log() { printf '[cluster-tools] %s\n' "$*" >&2; }
command -v go >/dev/null || { log "missing go: install Go 1.24+ with access to a Go module proxy"; exit 1; }

# Same contract as build() in scripts/toolchain.sh, but several binaries of one wrapper module go
# through ONE `go build` so the packages they share (client-go, apiserver, ...) compile once; on
# 2 cores that is minutes saved. Each binary still gets its own stamp, so status stays per tool.
# build_many WRAPPER_DIR "name=pkg ..." FLAGS...
build_many() {
  local dir="$1" specs="$2"; shift 2
  local stamp; stamp="$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-16)-$(echo "$*" | sha256sum | cut -c1-16)"
  local names=() pkgs=() spec
  for spec in $specs; do
    local name="${spec%%=*}"
    if [[ -x "$BIN/$name" && "$(cat "$STAMPS/$name" 2>/dev/null)" == "$stamp" ]]; then
      log "$name: cached"
    else
      names+=("$name") pkgs+=("${spec#*=}")
    fi
  done
  ((${#names[@]})) || return 0
  local out; out="$(mktemp -d "$BIN/.build.XXXXXX")"
  # Go's output goes to the log; the terminal gets progress lines (scripts/lib/progress.ts).
  (cd "$dir" && node -r ts-node/register/transpile-only "$STAGECRAFT_ROOT/scripts/lib/progress.ts" --prefix cluster-tools \
    --step "$STEP" --tool "${names[*]}" --expect "$EXPECT" --log "$LOG" \
    -- env CGO_ENABLED=0 go build -trimpath "$@" -o "$out/" "${pkgs[@]}") || { rm -rf "$out"; exit 1; }
  for name in "${names[@]}"; do
    mv -f "$out/$name" "$BIN/$name"
    echo "$stamp" >"$STAMPS/$name"
  done
  rmdir "$out"
}

# --- Kubernetes control plane + kubectl ------------------------------------------------------
KUBE_DIR=scripts/toolchain/kube
KUBE_VERSION="$(awk '$1 == "k8s.io/kubernetes" {print $2; exit}' "$KUBE_DIR/go.mod")" # v1.33.13
KUBE_MINOR="$(echo "$KUBE_VERSION" | cut -d. -f2)"
# What hack/lib/version.sh stamps into a release. Without it the binaries report v0.0.0-master
# and pulumi-kubernetes refuses the cluster ("minimum supported cluster version is v1.13. found
# v0.0"). gitCommit/buildDate are not known from a module zip; they are left at their defaults
# so the flags (and so the stamp) stay the same from build to build.
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$KUBE_MINOR -X $pkg.gitTreeState=clean"
done
# Release build tags (hack/lib/golang.sh): selinux, notest (no test-only code paths), grpcnotrace.
# STEP and EXPECT feed the progress lines. EXPECT is the seconds a first build took on the reference
# machine (2 cores, empty Go caches, after scripts/toolchain.sh's builds; one run, on a machine
# shared with other jobs).
REAL_NODE=0
[[ "${1:-}" == --real-node || "${STAGECRAFT_REAL_NODE:-}" == 1 ]] && REAL_NODE=1
# Steps shown in the progress lines: the control plane and KWOK, plus the node's three with --real-node.
STEPS=$((REAL_NODE ? 5 : 2))
STEP=1/$STEPS EXPECT=520 build_many "$KUBE_DIR" "
  kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver
  kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager
  kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler
  kubectl=k8s.io/kubernetes/cmd/kubectl" \
  -tags selinux,notest,grpcnotrace -ldflags "$kube_ldflags"

if ((REAL_NODE)); then
  # A second go build in the same module with the same flags: the packages the control plane
  # already compiled come from Go's build cache, only the node's own are compiled.
  STEP=2/$STEPS EXPECT=60 build_many "$KUBE_DIR" "
    kubelet=k8s.io/kubernetes/cmd/kubelet
    kube-proxy=k8s.io/kubernetes/cmd/kube-proxy" \
    -tags selinux,notest,grpcnotrace -ldflags "$kube_ldflags"
fi

# --- KWOK -------------------------------------------------------------------------------------
KWOK_DIR=scripts/toolchain/kwok
KWOK_VERSION="$(awk '$1 == "sigs.k8s.io/kwok" {print $2; exit}' "$KWOK_DIR/go.mod")"
STEP=$((REAL_NODE ? 3 : 2))/$STEPS EXPECT=235 build_many "$KWOK_DIR" "kwok=sigs.k8s.io/kwok/cmd/kwok" \
  -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"

# --- CoreDNS (real node only) -----------------------------------------------------------------
if ((REAL_NODE)); then
  COREDNS_DIR=scripts/toolchain/coredns
  COREDNS_VERSION="$(awk '$1 == "github.com/coredns/coredns" {print $2; exit}' "$COREDNS_DIR/go.mod")"
  STEP=4/$STEPS EXPECT=180 build_many "$COREDNS_DIR" "coredns=github.com/coredns/coredns" -ldflags "-s -w"
  KROUTER_DIR=scripts/toolchain/kube-router
  KROUTER_VERSION="$(awk '$1 == "github.com/cloudnativelabs/kube-router/v2" {print $2; exit}' "$KROUTER_DIR/go.mod")"
  STEP=5/$STEPS EXPECT=185 build_many "$KROUTER_DIR" "kube-router=github.com/cloudnativelabs/kube-router/v2/cmd/kube-router" \
    -ldflags "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KROUTER_VERSION"
  log "ready: kubelet, kube-proxy $KUBE_VERSION, coredns $COREDNS_VERSION, kube-router $KROUTER_VERSION"
fi

log "ready: kube $KUBE_VERSION (apiserver, controller-manager, scheduler, kubectl), kwok $KWOK_VERSION"
