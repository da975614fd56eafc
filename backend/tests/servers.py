"""Helpers for tests: free ports, a capturing HTTP server, and real Debian servers (redis-server,
etcd) started on 127.0.0.1 and stopped by their PID, each bounded in time."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_port(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def need(binary: str) -> str:
    """A Debian server binary: required under CI (scripts/servers.sh installs it), else a skip."""
    path = shutil.which(binary) or (f"/usr/bin/{binary}" if os.path.exists(f"/usr/bin/{binary}") else None)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{binary} is missing: scripts/servers.sh installs it (Debian package)")
        pytest.skip(f"{binary} is not installed (Debian package; scripts/servers.sh installs it)")
    return path


class Captured(http.server.BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append((self.command, self.path, body))  # type: ignore[attr-defined]
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def capture_http() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    """An HTTP server on 127.0.0.1 that records every POST (stands in for nginx's nchan publisher)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Captured)
    server.received = []  # type: ignore[attr-defined]
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def process(argv: list[str], port: int, env: dict[str, str] | None = None, timeout: float = 15.0) -> Iterator[subprocess.Popen[bytes]]:
    log = tempfile.NamedTemporaryFile(prefix="server-", suffix=".log")
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    p.log_path = log.name  # type: ignore[attr-defined]
    try:
        try:
            wait_port(port, timeout=timeout)
        except TimeoutError:
            log.seek(0)
            raise RuntimeError(f"{argv[0]} did not start: {log.read()[-2000:].decode(errors='replace')}") from None
        yield p
    finally:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        log.close()


@contextmanager
def redis_server() -> Iterator[int]:
    binary = need("redis-server")
    port = free_port()
    with tempfile.TemporaryDirectory() as d:
        argv = [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            d,
            "--requirepass",
            "s3cret",
        ]
        with process(argv, port):
            yield port


@contextmanager
def etcd_server() -> Iterator[str]:
    binary = need("etcd")
    port, peer = free_port(), free_port()
    with tempfile.TemporaryDirectory() as d:
        argv = [
            binary,
            "--data-dir", d,
            "--listen-client-urls", f"http://127.0.0.1:{port}",
            "--advertise-client-urls", f"http://127.0.0.1:{port}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"default=http://127.0.0.1:{peer}",
        ]  # fmt: skip
        with process(argv, port):
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 10
            while True:  # the port opens before the member is ready to serve
                try:
                    req = urllib.request.Request(url + "/v3/kv/range", data=json.dumps({"key": "eA=="}).encode(), method="POST")
                    urllib.request.urlopen(req, timeout=1).read()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            yield url
