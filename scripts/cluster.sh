#!/usr/bin/env bash
# A real Kubernetes control plane on 127.0.0.1, no Docker: etcd, kube-apiserver,
# kube-controller-manager and kube-scheduler as plain processes, and kwok playing the kubelet of
# three fake nodes, so pods are scheduled, become Running/Ready, Jobs complete, Services get
# Endpoints and LoadBalancer Services an ingress address.
#
#   npm run cluster -- up       build the binaries if needed (scripts/cluster-tools.sh), start
#                                what is not running yet, create nodes/storage, wait until Ready
#   npm run cluster -- up --real-node
#                                the same plus a real node (containerd, kubelet, kube-proxy, CoreDNS,
#                                kube-router for NetworkPolicies, volumes, LoadBalancer addresses):
#                                scripts/cluster/node/main.ts.
#                                The kwok nodes are then tainted stagecraft.local/fake:NoSchedule, so
#                                only pods that tolerate it land there (Kong, which cannot run here).
#   npm run cluster -- status   what runs, with PIDs, and the nodes
#   npm run cluster -- down     stop every process `up` started (by PID) and delete the state
#   npm run cluster -- env      print `export KUBECONFIG=...` (eval "$(npm run -s cluster -- env)")
#
# Everything lives in .tools/cluster (git-ignored): pki/, kubeconfig (admin), kubeconfigs/ (one
# identity per component), pids/, logs/, etcd/, mode (kwok | real-node), node/ (the real node's). Ports are fixed so the kubeconfig stays valid
# across restarts; override them when they clash with something else on the machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$STAGECRAFT_ROOT"

STATE="${STAGECRAFT_CLUSTER_DIR:-$STAGECRAFT_TOOLS/cluster}"
PKI="$STATE/pki" PIDS="$STATE/pids" LOGS="$STATE/logs" KCS="$STATE/kubeconfigs"
export KUBECONFIG="$STATE/kubeconfig"
BIN="$STAGECRAFT_TOOLS/bin"
CONFIG_DIR="$STAGECRAFT_ROOT/scripts/cluster"

API_PORT="${STAGECRAFT_CLUSTER_API_PORT:-6443}"
# etcd off its default 2379/2380 so a developer's or a conformance test's etcd does not collide.
ETCD_PORT="${STAGECRAFT_CLUSTER_ETCD_PORT:-12379}"
ETCD_PEER_PORT="${STAGECRAFT_CLUSTER_ETCD_PEER_PORT:-12380}"
KCM_PORT="${STAGECRAFT_CLUSTER_KCM_PORT:-10257}"
SCHED_PORT="${STAGECRAFT_CLUSTER_SCHEDULER_PORT:-10259}"
SERVICE_CIDR="10.96.0.0/16" # the `kubernetes` Service gets its first address, 10.96.0.1
POD_CIDR="10.244.0.1/16"    # kwok hands out pod IPs from here, counting up from 10.244.0.1
NODES=(a b c)               # one fake node per zone, so topologySpreadConstraints have 3 zones
# The real node's address (scripts/cluster/node/layout.ts): the apiserver binds and advertises it
# so pods reach the `kubernetes` Service; it sits on the node's bridge, made by `node prepare`.
NODE_IP=10.250.0.1
NODE_NAME=stagecraft-node
NODE_PROGRAM=(node -r ts-node/register/transpile-only "$STAGECRAFT_ROOT/scripts/cluster/node/main.ts")
PV_COUNT="${STAGECRAFT_CLUSTER_PVS:-40}"
PV_SIZE="100Gi"
# Start order (`down` stops them in reverse).
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
# kwok (fake nodes only) or real-node; fixed for the life of the state dir.
MODE="$(cat "$STATE/mode" 2>/dev/null || echo kwok)"
api_host() { [[ "$MODE" == real-node ]] && echo "$NODE_IP" || echo 127.0.0.1; }
API="https://$(api_host):$API_PORT"

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- processes ------------------------------------------------------------------------------
binary() {
  case "$1" in
    etcd) echo "${STAGECRAFT_ETCD:-$(command -v etcd || true)}" ;;
    *) echo "$BIN/$1" ;;
  esac
}

# The PID recorded for NAME, if that process still runs the binary we started. The check on
# argv[0] keeps `down` from signalling an unrelated process that reused the PID after a reboot.
live_pid() {
  local name="$1" pid
  pid="$(cat "$PIDS/$name.pid" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  [[ "$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n1)" == "$(binary "$name")" ]] || return 1
  echo "$pid"
}

# start NAME ARGS...: run in the background in its own session (a Ctrl-C or a closed terminal
# after `up` must not take the cluster down), output to logs/NAME.log, PID to pids/NAME.pid.
start() {
  local name="$1"; shift
  local pid
  if pid="$(live_pid "$name")"; then
    log "$name: already running (pid $pid)"
    return
  fi
  local bin; bin="$(binary "$name")"
  [[ -x "$bin" ]] || die "$name: no binary at '$bin'"
  # setsid execs the binary in place (the background job is not a group leader), so $! is its PID.
  # 9>&- : the component must not inherit (and so hold forever) the lock taken in main.
  setsid "$bin" "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 9>&- &
  local child=$!
  echo "$child" >"$PIDS/$name.pid"
  # Until setsid has exec'd the binary, /proc/<pid>/cmdline still names setsid and live_pid would
  # call the component dead: under load that window is long enough to fail `up`. Wait it out.
  local i
  for i in $(seq 1 100); do
    live_pid "$name" >/dev/null && break
    kill -0 "$child" 2>/dev/null || break
    sleep 0.05
  done
  log "$name: started (pid $!, log ${LOGS#"$STAGECRAFT_ROOT/"}/$name.log)"
}

# wait_for NAME WHAT SECONDS CMD...: poll CMD until it succeeds; fail early if NAME died.
wait_for() {
  local name="$1" what="$2" secs="$3"; shift 3
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ! live_pid "$name" >/dev/null; then
      tail -n 30 "$LOGS/$name.log" >&2 || true
      die "$name exited while waiting for $what (log above, full log in $LOGS/$name.log; \`npm run cluster -- down\` stops the rest)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$LOGS/$name.log" >&2 || true
      die "$name: $what not reached in ${secs}s (log above; \`npm run cluster -- down\` stops the rest)"
    fi
    sleep 0.5
  done
  log "$name: $what"
}

stop() {
  local name="$1" pid
  if ! pid="$(live_pid "$name")"; then
    rm -f "$PIDS/$name.pid"
    return
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name: still running 10s after SIGTERM, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDS/$name.pid"
  log "$name: stopped (pid $pid)"
}

# --- PKI and kubeconfigs --------------------------------------------------------------------
# new_ca NAME CN: a self-signed EC CA, valid for ten years.
new_ca() {
  [[ -f "$PKI/$1.crt" ]] && return
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$1.key" 2>/dev/null
  openssl req -x509 -new -key "$PKI/$1.key" -subj "/CN=$2" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$PKI/$1.crt" 2>/dev/null
}

# issue NAME CN O EXT [CA]: an EC key and a cert signed by CA (default: ca), valid for two years.
issue() {
  local name="$1" cn="$2" org="$3" ext="$4" ca="${5:-ca}"
  [[ -f "$PKI/$name.crt" ]] && return
  local subj="/CN=$cn"; [[ -n "$org" ]] && subj="/O=$org$subj"
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$name.key" 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" -CAcreateserial \
    -days 730 -sha256 -extfile <(printf '%s\n' "$ext") -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr"
}

pki() {
  mkdir -p "$PKI" && chmod 700 "$PKI"
  [[ -f "$PKI/ca.crt" ]] || log "pki: new CAs and certificates in ${PKI#"$STAGECRAFT_ROOT/"}"
  new_ca ca stagecraft-local-ca
  # The aggregation layer's own CA, as kubeadm's front-proxy-ca: the apiserver proxies to
  # extension APIs (metrics-server, if a stage adds one) with this client cert, and the
  # controller-manager and scheduler read it to trust proxied requests. Without it they log
  # "missing content for CA bundle ... requestheader-client-ca-file" every few seconds.
  new_ca front-proxy-ca stagecraft-front-proxy-ca
  local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
  # The serving cert names every way a client may reach the API: 127.0.0.1 from the host, and
  # the `kubernetes` Service's ClusterIP and DNS names that in-cluster clients would use.
  issue apiserver kube-apiserver "" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:$NODE_IP,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  # One identity per client, each mapped by the bootstrap RBAC roles (system:masters = admin).
  issue admin stagecraft-admin system:masters "$client"
  issue kube-controller-manager system:kube-controller-manager "" "$client"
  issue kube-scheduler system:kube-scheduler "" "$client"
  # kwok acts for every fake node's kubelet and runs stages over any kind (Services, PVs), so it
  # gets cluster-admin, as kwokctl gives it.
  issue kwok kwok system:masters "$client"
  issue front-proxy-client front-proxy-client "" "$client" front-proxy-ca
  # The real node's identities: the kubelet as system:node:NAME (the Node authorizer), kube-proxy
  # as system:kube-proxy (bound to system:node-proxier), the apiserver's client for the kubelet
  # API (logs, exec; bound to system:kubelet-api-admin by the node program), the kubelet's serving cert.
  issue kubelet "system:node:$NODE_NAME" system:nodes "$client"
  issue kube-proxy system:kube-proxy "" "$client"
  issue kube-apiserver-kubelet-client kube-apiserver-kubelet-client "" "$client"
  issue kube-router kube-router "" "$client" # the NetworkPolicy enforcer (RBAC: scripts/cluster/node/addons.ts)
  issue kubelet-serving "$NODE_NAME" "" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:$NODE_IP,DNS:$NODE_NAME"
  # Service-account tokens: the apiserver signs with the private key, the controller-manager's
  # token controller too; both verify with the public key.
  if [[ ! -f "$PKI/sa.key" ]]; then
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  fi
  chmod 600 "$PKI"/*.key
}

# kubeconfig FILE CERT_NAME: a kubeconfig for one identity, certificates embedded.
kubeconfig() {
  local file="$1" who="$2"
  local tmp="$file.tmp"
  cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: stagecraft-local
    cluster:
      server: $API
      certificate-authority-data: $(base64 -w0 <"$PKI/ca.crt")
users:
  - name: $who
    user:
      client-certificate-data: $(base64 -w0 <"$PKI/$who.crt")
      client-key-data: $(base64 -w0 <"$PKI/$who.key")
contexts:
  - name: stagecraft-local
    context: { cluster: stagecraft-local, user: $who }
current-context: stagecraft-local
EOF
  chmod 600 "$tmp" && mv -f "$tmp" "$file"
}

# --- components -----------------------------------------------------------------------------
start_etcd() {
  # Debian's etcd 3.4.23 (apt-get install etcd-server): kube-apiserver 1.33 has no etcd version
  # gate and its v3.5 client speaks the same v3 API; it only turns off watch-progress-based
  # consistent reads for etcd < 3.4.31 and falls back to quorum reads, which is only slower.
  # Plain HTTP on loopback: only local processes reach it, as with kwokctl's binary runtime.
  local url="http://127.0.0.1:$ETCD_PORT" peer="http://127.0.0.1:$ETCD_PEER_PORT"
  start etcd --name stagecraft --data-dir "$STATE/etcd" \
    --listen-client-urls "$url" --advertise-client-urls "$url" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "stagecraft=$peer" --initial-cluster-state new \
    --auto-compaction-mode periodic --auto-compaction-retention 1h \
    --quota-backend-bytes $((2 * 1024 * 1024 * 1024)) --log-level warn
  wait_for etcd "healthy on $url" 30 curl -sf "$url/health"
}

start_apiserver() {
  local net=(--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --endpoint-reconciler-type none)
  if [[ "$MODE" == real-node ]]; then
    # Real pods reach the API through the `kubernetes` Service, whose endpoint is the advertise
    # address: the node IP. The hostname resolves to 127.0.0.1 here, so logs/exec dial the
    # kubelet by its InternalIP, with a client cert the kubelet trusts.
    net=(--bind-address "$NODE_IP" --advertise-address "$NODE_IP" --endpoint-reconciler-type lease
      --kubelet-preferred-address-types InternalIP,Hostname
      --kubelet-client-certificate "$PKI/kube-apiserver-kubelet-client.crt"
      --kubelet-client-key "$PKI/kube-apiserver-kubelet-client.key")
  fi
  # KWOK only: --endpoint-reconciler-type=none: the apiserver would publish its advertise address
  # as the Endpoints of the `kubernetes` Service, and a loopback address is invalid there. No pod
  # runs for real, so nothing in the cluster needs to reach the API through that Service.
  start kube-apiserver \
    "${net[@]}" --secure-port "$API_PORT" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --requestheader-client-ca-file "$PKI/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$PKI/front-proxy-client.crt" --proxy-client-key-file "$PKI/front-proxy-client.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --authorization-mode Node,RBAC \
    --allow-privileged=true \
    --profiling=false
  wait_for kube-apiserver "ready on $API" 120 \
    curl -sf --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$API/readyz"
}

start_controller_manager() {
  local kc="$KCS/kube-controller-manager.kubeconfig"
  # --controllers=*: every controller, including the PV binder, garbage collector, Endpoints and
  # EndpointSlices, Jobs, StatefulSets. Service-account credentials per controller, as kubeadm
  # does, so RBAC is exercised as in a real cluster. One instance: no leader election to wait for.
  start kube-controller-manager \
    --kubeconfig "$kc" --authentication-kubeconfig "$kc" --authorization-kubeconfig "$kc" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" \
    --controllers '*' --use-service-account-credentials=true \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --cluster-name stagecraft-local --leader-elect=false
  wait_for kube-controller-manager "healthy on 127.0.0.1:$KCM_PORT" 60 \
    curl -skf "https://127.0.0.1:$KCM_PORT/healthz"
}

start_scheduler() {
  local kc="$KCS/kube-scheduler.kubeconfig"
  start kube-scheduler \
    --kubeconfig "$kc" --authentication-kubeconfig "$kc" --authorization-kubeconfig "$kc" \
    --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --leader-elect=false
  wait_for kube-scheduler "healthy on 127.0.0.1:$SCHED_PORT" 60 \
    curl -skf "https://127.0.0.1:$SCHED_PORT/healthz"
}

start_kwok() {
  # Out of cluster, managing only the nodes annotated kwok.x-k8s.io/node=fake (all three here).
  # Its Stages (scripts/cluster/kwok.yaml, kwok-lb.yaml) add PV recycling and LoadBalancer ingress to the
  # built-in node and pod stages. No --server-address: kwok opens no port.
  # With a real node, LoadBalancer addresses come from its controller (reachable ones), not kwok.
  local configs=(--config "$CONFIG_DIR/kwok.yaml")
  [[ "$MODE" == real-node ]] || configs+=(--config "$CONFIG_DIR/kwok-lb.yaml")
  start kwok \
    --kubeconfig "$KCS/kwok.kubeconfig" "${configs[@]}" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --manage-nodes-with-label-selector= --manage-single-node= \
    --cidr "$POD_CIDR" --node-ip 10.0.0.1 --node-lease-duration-seconds 40
}

# --- cluster objects ------------------------------------------------------------------------
# nodes_yaml ZONE...: one node per zone, each big enough for every stage on its own.
nodes_yaml() {
  local z i
  for z in "$@"; do
    i=$(($(printf '%d' "'$z") - 96)) # a -> 1: the node's fake InternalIP
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: stagecraft-$z
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: stagecraft-$z
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    node.kubernetes.io/instance-type: kwok-32cpu-128gi
    topology.kubernetes.io/region: local
    topology.kubernetes.io/zone: local-$z
    type: kwok
$([[ "$MODE" == real-node ]] && printf 'spec:\n  taints:\n    - { key: stagecraft.local/fake, value: "true", effect: NoSchedule }')
status:
  addresses:
    - { type: InternalIP, address: 10.0.0.$i }
    - { type: Hostname, address: stagecraft-$z }
  allocatable: { cpu: "32", memory: 128Gi, pods: "110", ephemeral-storage: 500Gi }
  capacity: { cpu: "32", memory: 128Gi, pods: "110", ephemeral-storage: 500Gi }
EOF
  done
}

# pvs_yaml NUMBER...: static volumes for a `no-provisioner` class. hostPath with no node
# affinity: any node may use any volume, so a claim binds wherever the scheduler puts its pod.
# kwok mounts nothing, the paths never exist. Retain, because no deleter exists; kwok recycles
# Released ones (kwok.yaml).
pvs_yaml() {
  local i
  for i in "$@"; do
    cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: stagecraft-pv-$i
  labels: { stagecraft.local/pool: local-cluster }
spec:
  storageClassName: standard
  capacity: { storage: $PV_SIZE }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: { path: /var/lib/stagecraft/pv-$i }
EOF
  done
}

# Creates only what is missing (one list call), so a second `up` takes a second, not one
# round trip per object. Nodes carry their capacity in status, which `apply` would not send.
bootstrap() {
  local kubectl="$BIN/kubectl" have z i nodes=() pvs=()
  have=" $("$kubectl" get nodes,pv -o name | tr '\n' ' ') "
  for z in "${NODES[@]}"; do [[ "$have" == *" node/stagecraft-$z "* ]] || nodes+=("$z"); done
  # With a real node, the node program's StorageClass provisions real directories instead.
  [[ "$MODE" == real-node ]] || for i in $(seq -w 1 "$PV_COUNT"); do [[ "$have" == *" persistentvolume/stagecraft-pv-$i "* ]] || pvs+=("$i"); done
  if ((${#nodes[@]})); then
    nodes_yaml "${nodes[@]}" | "$kubectl" create -f - >/dev/null
    log "nodes: created ${nodes[*]/#/stagecraft-}"
  fi
  [[ "$MODE" == real-node ]] && return
  "$kubectl" apply -f "$CONFIG_DIR/storage.yaml" >/dev/null
  if ((${#pvs[@]})); then
    pvs_yaml "${pvs[@]}" | "$kubectl" create -f - >/dev/null
    log "storage: created ${#pvs[@]} x $PV_SIZE PersistentVolumes"
  fi
  log "storage: StorageClass standard (default), $PV_COUNT x $PV_SIZE PersistentVolumes"
}

# --- commands -------------------------------------------------------------------------------
up() {
  local want=kwok
  [[ "${1:-}" == --real-node || "${STAGECRAFT_REAL_NODE:-}" == 1 ]] && want=real-node
  if [[ -f "$STATE/mode" && "$MODE" != "$want" ]]; then
    die "the cluster in ${STATE#"$STAGECRAFT_ROOT/"} was started as '$MODE', not '$want'. Fix: npm run cluster -- down, then up again"
  fi
  MODE="$want" API="https://$(api_host):$API_PORT" >/dev/null || die "openssl is missing (apt-get install openssl)"
  command -v setsid >/dev/null || die "setsid is missing (apt-get install util-linux)"
  [[ -x "$(binary etcd)" ]] || die "etcd is missing: bash scripts/servers.sh (Debian's etcd-server) or set STAGECRAFT_ETCD"
  # Before anything starts: already up (nothing to do), PID files of dead processes (a crash: drop
  # them, start again), or a port held by another clone's cluster or a stray server (refuse, naming it).
  # With the real node, its processes and ports too (its host leftovers are `node/main.ts prepare`'s).
  local node_flag=()
  [[ "$MODE" == real-node ]] && node_flag=(--real-node)
  node -r ts-node/register/transpile-only "$STAGECRAFT_ROOT/scripts/cluster/upCheck.ts" "$STATE" "${node_flag[@]}" \
    --component etcd "$(binary etcd)" "127.0.0.1:$ETCD_PORT=STAGECRAFT_CLUSTER_ETCD_PORT" "127.0.0.1:$ETCD_PEER_PORT=STAGECRAFT_CLUSTER_ETCD_PEER_PORT" \
    --component kube-apiserver "$(binary kube-apiserver)" "$(api_host):$API_PORT=STAGECRAFT_CLUSTER_API_PORT" \
    --component kube-controller-manager "$(binary kube-controller-manager)" "127.0.0.1:$KCM_PORT=STAGECRAFT_CLUSTER_KCM_PORT" \
    --component kube-scheduler "$(binary kube-scheduler)" "127.0.0.1:$SCHED_PORT=STAGECRAFT_CLUSTER_SCHEDULER_PORT" \
    --component kwok "$(binary kwok)" || exit 1
  if [[ "$MODE" == real-node ]]; then
    bash "$STAGECRAFT_ROOT/scripts/node-packages.sh"
    bash "$STAGECRAFT_ROOT/scripts/cluster-tools.sh" --real-node
  else
    bash "$STAGECRAFT_ROOT/scripts/cluster-tools.sh"
  fi
  mkdir -p "$STATE" "$PIDS" "$LOGS" "$KCS"
  echo "$MODE" >"$STATE/mode"
  pki
  kubeconfig "$KUBECONFIG" admin
  local c
  for c in kube-controller-manager kube-scheduler kwok kubelet kube-proxy kube-router; do kubeconfig "$KCS/$c.kubeconfig" "$c"; done
  # The bridge and node IP exist before the apiserver binds to them.
  [[ "$MODE" == real-node ]] && "${NODE_PROGRAM[@]}" prepare

  local t0=$SECONDS
  start_etcd
  start_apiserver
  start_controller_manager
  start_scheduler
  start_kwok
  bootstrap
  wait_for kwok "nodes Ready" 120 "$BIN/kubectl" wait --for=condition=Ready node --all --timeout=2s
  # Pods are refused in a namespace until its `default` ServiceAccount exists.
  wait_for kube-controller-manager "default ServiceAccount created" 60 \
    "$BIN/kubectl" -n default get serviceaccount default
  [[ "$MODE" == real-node ]] && "${NODE_PROGRAM[@]}" up
  log "up in $((SECONDS - t0))s: $("$BIN/kubectl" version -o json | node -pe 'JSON.parse(require("fs").readFileSync(0)).serverVersion.gitVersion') on $API"
  log "kubeconfig: export KUBECONFIG=$KUBECONFIG"
}

down() {
  # The real node first, while the apiserver still runs: it drains its pods so the kubelet tears
  # their networks down, then stops its processes and undoes its host changes.
  if [[ -d "$STATE/node" || "$MODE" == real-node ]]; then
    "${NODE_PROGRAM[@]}" down || die "real node: cleanup incomplete (above); fix it, then run down again"
  fi
  # The clients first, together (each takes a second or two to shut down), then the apiserver,
  # then etcd, so nothing writes to a store that is already gone.
  local c
  for c in kwok kube-scheduler kube-controller-manager; do stop "$c" & done
  wait
  stop kube-apiserver
  stop etcd
  if [[ -d "$STATE/node" || "$MODE" == real-node ]]; then
    "${NODE_PROGRAM[@]}" release || die "real node: cleanup incomplete (above); fix it, then run down again"
  fi
  rm -rf "$STATE"
  log "down: state ${STATE#"$STAGECRAFT_ROOT/"} removed"
}

status() {
  local c pid running=0
  for c in "${COMPONENTS[@]}"; do
    if pid="$(live_pid "$c")"; then
      printf '%-24s running  pid %s\n' "$c" "$pid"
      running=$((running + 1))
    else
      printf '%-24s stopped\n' "$c"
    fi
  done
  if ((running)) && curl -sf --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$API/readyz" >/dev/null 2>&1; then
    printf '\nAPI %s ready, KUBECONFIG=%s\n\n' "$API" "$KUBECONFIG"
    "$BIN/kubectl" get nodes -L topology.kubernetes.io/zone
  fi
  local node_ok=0
  if [[ "$MODE" == real-node ]]; then
    printf '\nreal node:\n'
    "${NODE_PROGRAM[@]}" status || node_ok=1
  fi
  # Exit status for scripts: 0 only when everything runs.
  ((running == ${#COMPONENTS[@]} && node_ok == 0))
}

# up and down change the state: one at a time per state dir (e.g. two test workers calling `up`
# together). The lock file sits next to the state dir, which `down` deletes.
locked() {
  mkdir -p "$(dirname "$STATE")"
  exec 9>"$STATE.lock"
  flock -w 3600 9 || die "another scripts/cluster.sh is still running on $STATE (lock $STATE.lock)"
  "$@"
}

case "${1:-}" in
  up) locked up "${2:-}" ;;
  down) locked down ;;
  status) status ;;
  env) echo "export KUBECONFIG=$KUBECONFIG" ;;
  *) echo "usage: $0 up [--real-node]|down|status|env" >&2; exit 2 ;;
esac
