"""`python -m app.rpc serve --port N`: serve this service's aggregate roots over RPC and register
in etcd as `<prefix><POD_IP>:<port>`; SIGTERM revokes the lease, drains, and exits."""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.rpc")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve RPC and register in etcd")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--host", default="0.0.0.0")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log = logging.getLogger("app.rpc")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import close_old_connections

    from app.rpc.client import etcd_for
    from app.rpc.config import load_rpc
    from app.rpc.handlers import handlers_for
    from app.rpc.server import Registration, RpcServer

    rpc = load_rpc()
    if rpc.registration is None:
        log.error("rpc.json of %s has no registration: it is not an RPC service", rpc.service)
        return 2
    if rpc.registration.port != args.port:
        log.error("--port %d differs from rpc.json registration.port %d", args.port, rpc.registration.port)
        return 2
    pod_ip = os.environ.get("POD_IP")
    if not pod_ip:
        log.error("POD_IP is not set: the pod spec passes it from status.podIP")
        return 2
    server = RpcServer(handlers_for(settings.STAGECRAFT), args.host, args.port, after_call=close_old_connections)
    server.start()
    reg = Registration(
        etcd_for(rpc), rpc.registration.prefix, f"{pod_ip}:{args.port}", rpc.registration.lease_ttl_s, rpc.registration.keepalive_s
    )
    reg.start()
    log.info("serving %s on %s:%d", sorted(server.handlers), args.host, args.port)

    stop = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    gevent.signal_handler(signal.SIGINT, stop.set)
    stop.wait()
    # Leave the registry first, so callers stop picking this instance, then drain.
    reg.stop()
    server.stop(timeout=10)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
