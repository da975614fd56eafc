"""A small etcd v3 client over etcd's JSON gateway (/v3/...), with the standard library only.

Why not a PyPI client: `etcd3` (python-etcd3) had its last release in 2020 and pins old grpcio and
protobuf behaviour; `etcd3gw` speaks the same gateway but pulls in more than we use. The five
calls the registry needs (authenticate, lease grant/keepalive/revoke, put, range over a prefix)
are plain JSON POSTs; keys and values are base64 in that API.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any


class EtcdError(Exception):
    pass


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def _unb64(s: str) -> str:
    return base64.b64decode(s).decode()


def prefix_end(prefix: str) -> str:
    """The range end that selects every key starting with `prefix` (last byte + 1)."""
    b = bytearray(prefix.encode())
    for i in range(len(b) - 1, -1, -1):
        if b[i] < 0xFF:
            b[i] += 1
            return base64.b64encode(bytes(b[: i + 1])).decode()
    return base64.b64encode(b"\0").decode()


class Etcd:
    def __init__(
        self, endpoints: tuple[str, ...] | list[str], user: str | None = None, password: str | None = None, timeout: float = 2.0
    ) -> None:
        if not endpoints:
            raise EtcdError("no etcd endpoints")
        self.endpoints = [e.rstrip("/") for e in endpoints]
        self.user, self.password, self.timeout = user, password, timeout
        self._token: str | None = None
        self._next = 0

    def _post(self, path: str, body: dict[str, Any], auth: bool = True) -> dict[str, Any]:
        """POST to one endpoint after another until one answers; re-authenticates once on an expired token."""
        last: Exception | None = None
        for _ in range(len(self.endpoints)):
            base = self.endpoints[self._next % len(self.endpoints)]
            try:
                return self._post_to(base, path, body, auth)
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                if isinstance(e, urllib.error.HTTPError) and e.code < 500:
                    raise EtcdError(f"etcd {path}: HTTP {e.code}: {e.read()[:200]!r}") from e
                last = e
                self._next += 1
        raise EtcdError(f"no etcd endpoint answered {path}: {last}")

    def _post_to(self, base: str, path: str, body: dict[str, Any], auth: bool) -> dict[str, Any]:
        for attempt in range(2):
            headers = {"Content-Type": "application/json"}
            if auth and self.user:
                if self._token is None:
                    self._authenticate(base)
                headers["Authorization"] = self._token or ""
            req = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers=headers, method="POST")
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                text = resp.read().decode()
            # Streaming endpoints (keepalive) answer one JSON object per line; the first is ours.
            out: dict[str, Any] = json.loads(text.splitlines()[0]) if text.strip() else {}
            err = out.get("error")
            if isinstance(err, dict) or (isinstance(err, str) and err):
                message = err.get("message", "") if isinstance(err, dict) else err
                if "token" in message and attempt == 0 and self.user:
                    self._token = None  # expired or invalid: log in again once
                    continue
                raise EtcdError(f"etcd {path}: {message}")
            if "result" in out and isinstance(out["result"], dict):
                return out["result"]
            return out
        raise EtcdError(f"etcd {path}: authentication keeps failing")

    def _authenticate(self, base: str) -> None:
        req = urllib.request.Request(
            base + "/v3/auth/authenticate",
            data=json.dumps({"name": self.user, "password": self.password or ""}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                self._token = json.loads(resp.read())["token"]
        except urllib.error.HTTPError as e:
            raise EtcdError(f"etcd authentication of user '{self.user}' failed: HTTP {e.code} {e.read()[:200]!r}") from e

    def grant(self, ttl: int) -> int:
        return int(self._post("/v3/lease/grant", {"TTL": ttl})["ID"])

    def keepalive(self, lease: int) -> int:
        """Refresh the lease once; returns the TTL left (0 when the lease is gone)."""
        out = self._post("/v3/lease/keepalive", {"ID": str(lease)})
        return int(out.get("TTL", 0))

    def revoke(self, lease: int) -> None:
        self._post("/v3/lease/revoke", {"ID": str(lease)})

    def put(self, key: str, value: str, lease: int | None = None) -> None:
        body: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
        if lease is not None:
            body["lease"] = str(lease)
        self._post("/v3/kv/put", body)

    def get_prefix(self, prefix: str) -> dict[str, str]:
        out = self._post("/v3/kv/range", {"key": _b64(prefix), "range_end": prefix_end(prefix)})
        return {_unb64(kv["key"]): _unb64(kv.get("value", "")) for kv in out.get("kvs", [])}

    def delete(self, key: str) -> None:
        self._post("/v3/kv/deleterange", {"key": _b64(key)})
