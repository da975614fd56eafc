"""In-process RPC servers for tests: each runs gevent's StreamServer on its own hub in a thread,
so a plain (unpatched) client in the test thread can call it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import gevent

from app.rpc.server import RpcServer


class ThreadedServer:
    def __init__(self, handlers: dict[str, Callable[[dict[str, Any]], Any]], host: str = "127.0.0.1") -> None:
        self.handlers, self.host = handlers, host
        self.port = 0
        self.calls = 0
        self._ready, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _count(self) -> None:
        self.calls += 1

    def _run(self) -> None:
        server = RpcServer(self.handlers, self.host, 0, after_call=self._count)
        server.start()
        self.port = server.port
        self._ready.set()
        while not self._stop.is_set():
            gevent.sleep(0.02)
        server.stop(timeout=1)

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        assert self._ready.wait(5), "rpc server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
