"""The RPC server (one greenlet per connection, gevent's StreamServer) and its registration in
etcd: a lease, the instance key `<prefix><host>:<port>` bound to it, a keepalive greenlet, and
a revoke on stop so callers drop the instance at once instead of after the TTL."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

import gevent
from gevent.server import StreamServer

from app.errors import ApiError, BadInput
from app.rpc.etcd import Etcd, EtcdError
from app.rpc.protocol import ProtocolError, encode, read_frame

log = logging.getLogger("app.rpc.server")
Handler = Callable[[dict[str, Any]], Any]


def dispatch(handlers: dict[str, Handler], msg: dict[str, Any]) -> dict[str, Any]:
    rid = msg.get("id")
    method, args = msg.get("method"), msg.get("args", {})
    try:
        if not isinstance(method, str) or method not in handlers:
            raise BadInput(f"unknown method {method!r}; this service serves {sorted(handlers)}")
        if not isinstance(args, dict):
            raise BadInput("args must be a map")
        return {"id": rid, "result": handlers[method](args)}
    except ApiError as e:
        return {"id": rid, "error": {"code": e.code, "message": e.message}}
    except Exception as e:
        log.exception("%s failed", method)
        return {"id": rid, "error": {"code": "unavailable", "message": f"{method} failed: {type(e).__name__}"}}


class RpcServer:
    def __init__(self, handlers: dict[str, Handler], host: str, port: int, after_call: Callable[[], None] | None = None) -> None:
        self.handlers, self.after_call = handlers, after_call
        self._server = StreamServer((host, port), self._serve)

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def start(self) -> None:
        self._server.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._server.stop(timeout=timeout)

    def _serve(self, sock: socket.socket, addr: Any) -> None:
        try:
            while True:
                try:
                    msg = read_frame(sock)
                except (ConnectionError, OSError):
                    return
                except ProtocolError as e:
                    sock.sendall(encode({"id": None, "error": {"code": "bad_input", "message": str(e)}}))
                    return
                try:
                    reply = dispatch(self.handlers, msg)
                finally:
                    if self.after_call:
                        self.after_call()
                sock.sendall(encode(reply))
        finally:
            sock.close()


class Registration:
    def __init__(self, etcd: Etcd, prefix: str, address: str, ttl: int, keepalive: int) -> None:
        self.etcd, self.key, self.address = etcd, prefix + address, address
        self.ttl, self.keepalive_s = ttl, keepalive
        self.lease: int | None = None
        self._loop: gevent.Greenlet | None = None

    def start(self) -> None:
        self._register()
        self._loop = gevent.spawn(self._keepalive)

    def _register(self) -> None:
        self.lease = self.etcd.grant(self.ttl)
        self.etcd.put(self.key, self.address, lease=self.lease)
        log.info("registered %s (lease %x, ttl %ds)", self.key, self.lease, self.ttl)

    def _keepalive(self) -> None:
        while True:
            gevent.sleep(self.keepalive_s)
            try:
                assert self.lease is not None
                if self.etcd.keepalive(self.lease) <= 0:
                    # The lease expired (etcd unreachable for longer than the TTL): register anew.
                    log.warning("lease %x expired; registering again", self.lease)
                    self._register()
            except EtcdError as e:
                log.warning("keepalive failed (will retry within the TTL): %s", e)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.kill()
        if self.lease is not None:
            try:
                self.etcd.revoke(self.lease)
                log.info("revoked lease %x: %s is gone from the registry", self.lease, self.key)
            except EtcdError as e:
                log.warning("revoke failed; the key goes when the lease expires: %s", e)
            self.lease = None
