#!/usr/bin/env bash
# Installs the Debian packages the real node of the local cluster needs, once per machine:
#   containerd + runc            the container runtime the kubelet talks to (CRI)
#   containernetworking-plugins  bridge, host-local, portmap, loopback CNI plugins (/usr/lib/cni)
#   iptables, ipset, conntrack   what kube-proxy (iptables mode) and its --cleanup use
#   podman, buildah, mmdebstrap  the base image and the project's images (images/*/Dockerfile)
# Nothing is started or enabled: policy-rc.d keeps Debian from starting containerd's own service;
# the launcher starts its own containerd with its own config and socket.
set -euo pipefail
PKGS=(containerd runc containernetworking-plugins iptables ipset conntrack podman buildah mmdebstrap uidmap)
missing=()
for p in "${PKGS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "[node-packages] installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO=sudo
  $SUDO apt-get update -qq
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod +x /usr/sbin/policy-rc.d
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  $SUDO rm -f /usr/sbin/policy-rc.d
fi
echo "[node-packages] ready" >&2
