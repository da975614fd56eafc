"""The RPC client: discovery from etcd, balancing, a token-bucket rate limit, failover with
ejection, and the per-attempt timeout and whole-call deadline, all per callee from rpc.json.

Under gevent (uWSGI's gevent workers, the RPC server) the lock and sockets are cooperative.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, Protocol

from app.config import ConfigError, secret
from app.errors import ApiError, RateLimited, Unavailable, from_code
from app.rpc.config import Callee, RpcConfig, load_rpc
from app.rpc.etcd import Etcd, EtcdError
from app.rpc.protocol import ProtocolError, encode, read_frame

log = logging.getLogger("app.rpc.client")
Clock = Callable[[], float]
# A write is retried only when it never reached a server (connect failed): never applied twice.
READ_VERBS = ("get", "feed", "list", "notifications")


class Registry(Protocol):
    def get_prefix(self, prefix: str) -> dict[str, str]: ...


class TokenBucket:
    def __init__(self, per_second: float, burst: int, clock: Clock = time.monotonic) -> None:
        self.rate, self.capacity, self.clock = per_second, float(max(burst, 1)), clock
        self.tokens, self.stamp = self.capacity, clock()
        self._lock = threading.Lock()

    def try_take(self) -> bool:
        with self._lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


class HashRing:
    """Consistent hashing: each instance owns many points on a ring; a key goes to the first
    point clockwise from its hash, so adding or losing one instance moves few keys."""

    VNODES = 64

    def __init__(self, instances: Sequence[str]) -> None:
        points = sorted((self._hash(f"{inst}#{v}"), inst) for inst in instances for v in range(self.VNODES))
        self._hashes = [h for h, _ in points]
        self._owners = [i for _, i in points]

    @staticmethod
    def _hash(s: str) -> int:
        return int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "big")

    def pick(self, key: str, allowed: set[str]) -> str | None:
        if not self._hashes:
            return None
        start = bisect.bisect(self._hashes, self._hash(key))
        for i in range(len(self._owners)):
            owner = self._owners[(start + i) % len(self._owners)]
            if owner in allowed:
                return owner
        return None


class Balancer:
    def __init__(self, policy: str) -> None:
        self.policy = policy
        self._rr = itertools.count()
        self._ring: tuple[tuple[str, ...], HashRing] | None = None
        self.in_flight: dict[str, int] = {}

    def pick(self, instances: Sequence[str], candidates: Sequence[str], key: str | None) -> str:
        if self.policy == "consistent-hash" and key is not None:
            ordered = tuple(sorted(instances))
            if self._ring is None or self._ring[0] != ordered:
                self._ring = (ordered, HashRing(ordered))
            chosen = self._ring[1].pick(key, set(candidates))
            if chosen is not None:
                return chosen
        ordered_c = sorted(candidates)
        if self.policy == "least-conn":
            least = min(self.in_flight.get(c, 0) for c in ordered_c)
            ordered_c = [c for c in ordered_c if self.in_flight.get(c, 0) == least]
        return ordered_c[next(self._rr) % len(ordered_c)]


class _ConnectFailed(ConnectionError):
    pass


class _CalleeState:
    def __init__(self, callee: Callee, clock: Clock) -> None:
        self.callee = callee
        self.bucket = TokenBucket(callee.per_second, callee.burst, clock)
        self.balancer = Balancer(callee.balancing)
        self.instances: list[str] = []
        self.fetched_at: float | None = None
        self.ejected: dict[str, float] = {}
        # One listing at a time per callee (gevent makes this lock cooperative).
        self.refreshing = threading.Lock()


class RpcClient:
    def __init__(self, config: RpcConfig, registry: Registry, clock: Clock = time.monotonic, refresh_s: float = 1.0) -> None:
        self.config, self.registry, self.clock, self.refresh_s = config, registry, clock, refresh_s
        self._state = {name: _CalleeState(c, clock) for name, c in config.callees.items()}
        self._idle: dict[str, list[socket.socket]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    # discovery ---------------------------------------------------------------------------------
    def instances(self, callee: str) -> list[str]:
        """The callee's instances, listed at most once per refresh_s. A cold client (nothing listed
        yet) waits for the one listing in flight instead of failing on an empty list; a failed
        listing keeps the last list seen, and with none seen it is retried by the next call
        (seen on the real node: a burst of cold calls, etcd slow, 105 of 300 'no instance registered')."""
        st = self._state[callee]
        if st.fetched_at is not None and self.clock() - st.fetched_at < self.refresh_s:
            return st.instances
        # Warm: whoever refreshes, the others go on with the current list.
        if not st.refreshing.acquire(blocking=not st.instances):
            return st.instances
        try:
            if st.fetched_at is not None and self.clock() - st.fetched_at < self.refresh_s:
                return st.instances  # refreshed while this call waited
            try:
                found = self.registry.get_prefix(st.callee.prefix)
                st.instances = sorted(set(found.values()))
                st.fetched_at = self.clock()
            except EtcdError as e:
                # Keep serving from the last list seen: etcd down must not stop calls.
                log.warning("discovery of %s failed, using %d known instance(s): %s", callee, len(st.instances), e)
                if st.instances:
                    st.fetched_at = self.clock()
        finally:
            st.refreshing.release()
        return st.instances

    def _ejected(self, st: _CalleeState, inst: str) -> bool:
        until = st.ejected.get(inst)
        if until is None:
            return False
        if self.clock() >= until:
            del st.ejected[inst]
            return False
        return True

    # calls -------------------------------------------------------------------------------------
    def call(self, callee: str, method: str, args: dict[str, Any], key: str | None = None) -> Any:
        st = self._state.get(callee)
        if st is None:
            raise ConfigError(f"rpc.json of {self.config.service} has no callee '{callee}' (calls it declares: {sorted(self._state)})")
        c = st.callee
        if not st.bucket.try_take():
            raise RateLimited(f"calls to {callee} are over the client's rate limit ({c.per_second:g}/s, burst {c.burst}); retry later")
        is_read = method.rsplit(".", 1)[-1].lower().startswith(READ_VERBS)
        deadline = self.clock() + c.deadline_ms / 1000
        tried: set[str] = set()
        last: str = "no instance registered"
        for _attempt in range(c.retries + 1):
            all_instances = self.instances(callee)
            fresh = [i for i in all_instances if i not in tried]
            healthy = [i for i in fresh if not self._ejected(st, i)]
            # Every instance ejected: still try one rather than fail while some may have recovered.
            candidates = healthy or fresh
            remaining = deadline - self.clock()
            if not candidates or remaining <= 0:
                break
            inst = st.balancer.pick(all_instances, candidates, key)
            tried.add(inst)
            timeout = min(c.timeout_ms / 1000, remaining)
            msg = {"id": next(self._ids), "method": method, "args": args}
            st.balancer.in_flight[inst] = st.balancer.in_flight.get(inst, 0) + 1
            try:
                reply = self._roundtrip(inst, msg, timeout)
            except (OSError, ProtocolError) as e:
                st.ejected[inst] = self.clock() + c.eject_seconds
                last = f"{inst}: {type(e).__name__}: {e}"
                log.warning("rpc %s %s on %s failed, ejected for %gs: %s", callee, method, inst, c.eject_seconds, e)
                if not is_read and not isinstance(e, _ConnectFailed):
                    break
                continue
            finally:
                st.balancer.in_flight[inst] -= 1
            if "error" in reply:
                err = reply["error"] if isinstance(reply["error"], dict) else {}
                apierr: ApiError = from_code(str(err.get("code")), str(err.get("message", "remote error")))
                if isinstance(apierr, Unavailable) and is_read:
                    last = f"{inst}: {apierr.message}"
                    continue
                raise apierr
            return reply.get("result")
        raise Unavailable(f"rpc {callee} {method}: no instance answered within {c.deadline_ms}ms ({len(tried)} tried; last: {last})")

    def _roundtrip(self, inst: str, msg: dict[str, Any], timeout: float) -> dict[str, Any]:
        sock = self._checkout(inst, timeout)
        try:
            sock.settimeout(timeout)
            sock.sendall(encode(msg))
            reply = read_frame(sock)
        except BaseException:
            sock.close()
            raise
        if reply.get("id") != msg["id"]:
            sock.close()
            raise ProtocolError(f"reply id {reply.get('id')} does not match request id {msg['id']}")
        with self._lock:
            self._idle.setdefault(inst, []).append(sock)
        return reply

    def _checkout(self, inst: str, timeout: float) -> socket.socket:
        with self._lock:
            idle = self._idle.get(inst)
            if idle:
                return idle.pop()
        host, _, port = inst.rpartition(":")
        try:
            return socket.create_connection((host, int(port)), timeout=timeout)
        except OSError as e:
            raise _ConnectFailed(str(e)) from e

    def close(self) -> None:
        with self._lock:
            for socks in self._idle.values():
                for s in socks:
                    s.close()
            self._idle.clear()


def etcd_for(config: RpcConfig) -> Etcd:
    if config.auth is None:
        return Etcd(config.endpoints)
    return Etcd(config.endpoints, user=config.auth.user, password=secret(config.auth.password_env))


@cache
def shared_client() -> RpcClient:
    config = load_rpc()
    return RpcClient(config, etcd_for(config))
