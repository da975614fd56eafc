#!/usr/bin/env bash
# Run by the image build (backend/Dockerfile, stage app) as the image's user: each role's command
# starts from the installed files. uWSGI (gevent) serves /healthz and /openapi.json, tormq serves
# /healthz, Celery loads the app, the RPC server's CLI and migrations' `manage.py check` run.
# The stores are not there (no network in a build), so settings.json names none that is dialled.
# Ports are on the build's loopback; with `podman build --network host` that is the host's.
set -euo pipefail
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
web=${CHECK_WEB_PORT:-18931} push=${CHECK_PUSH_PORT:-18932} zmq=${CHECK_ZMQ_PORT:-18933}

cat >"$work/settings.json" <<JSON
{"service": "web", "layer": "app", "database": null,
 "cache": {"host": "127.0.0.1", "port": 1, "db": 0, "prefix": "check:", "pool": 2, "passwordEnv": "REDIS_PASSWORD"},
 "celery": {"brokerDb": 1, "queues": ["default"]}, "calls": {}}
JSON
cat >"$work/uwsgi.ini" <<INI
[uwsgi]
strict = true
http-socket = 127.0.0.1:$web
module = app.wsgi:application
need-app = true
single-interpreter = true
lazy-apps = true
master = true
processes = 2
gevent = 10
gevent-early-monkey-patch = true
die-on-term = true
INI
export STAGECRAFT_SETTINGS="$work/settings.json"

# GET url -> prints the body; fails after 30 s without a 200.
get() {
  python - "$1" <<'PY'
import sys, time, urllib.request
deadline = time.monotonic() + 30
while True:
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
            print(r.read(200).decode(errors="replace"))
            break
    except OSError as e:
        if time.monotonic() > deadline:
            sys.exit(f"{sys.argv[1]}: no answer within 30 s ({e})")
        time.sleep(0.3)
PY
}

echo "check: uwsgi $(uwsgi --version), celery $(celery --version | cut -d' ' -f1), run as uid $(id -u)"
uwsgi --ini "$work/uwsgi.ini" >"$work/uwsgi.log" 2>&1 & pids+=($!)
get "http://127.0.0.1:$web/healthz" || { cat "$work/uwsgi.log"; exit 1; }
get "http://127.0.0.1:$web/openapi.json" | grep -q '"openapi"' || { echo "no OpenAPI document"; exit 1; }
grep -q "gevent" "$work/uwsgi.log" || { echo "uwsgi did not start its gevent loop"; cat "$work/uwsgi.log"; exit 1; }
echo "check: web (uWSGI + gevent) serves /healthz and /openapi.json"

python -m app.tormq --port "$push" --zmq-port "$zmq" --path /push >"$work/tormq.log" 2>&1 & pids+=($!)
get "http://127.0.0.1:$push/healthz" || { cat "$work/tormq.log"; exit 1; }
echo "check: tormq serves /healthz"

celery -A app.celery report | grep -q "broker_url" || { echo "celery could not load app.celery"; exit 1; }
python -m app.rpc serve --help >/dev/null
python manage.py check --fail-level ERROR >/dev/null
echo "check: celery loads app.celery; the RPC server and manage.py start"
