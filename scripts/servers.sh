#!/usr/bin/env bash
# Installs the real servers the conformance tests run (Debian packages), once per machine.
# Each test starts its own server on 127.0.0.1 and stops it by its PID.
#   bash scripts/servers.sh [package...]   only the packages named (the set-up installs graphviz so)
set -euo pipefail
PKGS=(nginx libnginx-mod-nchan libnginx-mod-http-lua mariadb-server redis-server redis-sentinel
  lua-nginx-redis etcd-server etcd-client deck uwsgi uwsgi-plugin-python3 python3-django python3-celery python3-gevent graphviz chromium)
if (($#)); then
  PKGS=("$@")
# uwsgi's gevent plugin, where Debian ships it.
elif apt-cache show uwsgi-plugin-gevent-python3 >/dev/null 2>&1; then
  PKGS+=(uwsgi-plugin-gevent-python3)
fi
missing=()
for p in "${PKGS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "[servers] installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO=sudo
  command -v apt-get >/dev/null || { echo "[servers] no apt-get here: install ${missing[*]} with this system's package manager" >&2; exit 1; }
  $SUDO apt-get update -qq
  # policy-rc.d keeps Debian from starting the packaged services: tests start their own on loopback.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod +x /usr/sbin/policy-rc.d
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  $SUDO rm -f /usr/sbin/policy-rc.d
fi
echo "[servers] ready" >&2
