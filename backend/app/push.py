"""Push a message to subscribers of a channel, through whatever settings.json's push names:
nchan (mvc): HTTP POST to <publishUrl>/<channel> on nginx's internal server;
tormq (split on): a ZeroMQ PUB socket connected to every push replica (the headless Service's
DNS name resolves to all of them), frames [channel, json]."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from app.config import Push

log = logging.getLogger("app.push")
CHANNEL = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")  # what nginx's nchan location accepts


def check_channel(channel: str) -> None:
    if not CHANNEL.match(channel):
        raise ValueError(f"push channel '{channel}' must be 1-128 of A-Z a-z 0-9 _ . : -")


def publish_nchan(push: Push, channel: str, message: dict[str, Any], timeout: float = 2.0) -> None:
    check_channel(channel)
    req = urllib.request.Request(
        f"{push.publish_url}/{channel}", data=json.dumps(message).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        resp.read()


class TormqPublisher:
    """One PUB socket per process, reconnected to every address the push host resolves to.
    Re-resolved every `refresh_s`, so new push replicas start receiving without a restart."""

    def __init__(self, url: str, refresh_s: float = 10.0) -> None:
        import zmq

        parts = urlsplit(url)
        if parts.scheme != "tcp" or not parts.hostname or not parts.port:
            raise ValueError(f"tormq publishUrl must be tcp://host:port, got '{url}'")
        self.host, self.port, self.refresh_s = parts.hostname, parts.port, refresh_s
        self._ctx: Any = zmq.Context.instance()
        self._sock = self._ctx.socket(zmq.PUB)
        self._sock.setsockopt(zmq.LINGER, 1000)
        self._sock.setsockopt(zmq.SNDHWM, 10000)
        self._peers: set[str] = set()
        self._resolved_at = 0.0
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        now = time.monotonic()
        if self._peers and now - self._resolved_at < self.refresh_s:
            return
        try:
            addrs = {
                f"tcp://{info[4][0]}:{self.port}" for info in socket.getaddrinfo(self.host, self.port, socket.AF_INET, socket.SOCK_STREAM)
            }
        except socket.gaierror as e:
            log.warning("tormq: cannot resolve %s: %s", self.host, e)
            return
        for gone in self._peers - addrs:
            self._sock.disconnect(gone)
        for new in addrs - self._peers:
            self._sock.connect(new)
        if addrs - self._peers:
            # PUB drops what it sends before a subscriber's connection is up: a short wait once.
            time.sleep(0.2)
        self._peers, self._resolved_at = addrs, now

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        check_channel(channel)
        with self._lock:
            self._refresh()
            self._sock.send_multipart([channel.encode(), json.dumps(message).encode()])

    def close(self) -> None:
        self._sock.close()


_tormq: dict[str, TormqPublisher] = {}


def publish(push: Push | None, channel: str, message: dict[str, Any]) -> bool:
    """Best effort: a push that fails is logged, never fails the write that caused it."""
    if push is None:
        return False
    try:
        if push.kind == "nchan":
            publish_nchan(push, channel, message)
        else:
            pub = _tormq.get(push.publish_url)
            if pub is None:
                pub = _tormq[push.publish_url] = TormqPublisher(push.publish_url)
            pub.publish(channel, message)
        return True
    except Exception as e:  # noqa: BLE001
        log.warning("push to %s channel %s failed: %s", push.kind, channel, e)
        return False
