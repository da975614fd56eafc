"""The RPC layer: wire format, rate limit, balancing, failover and deadlines against real
in-process servers, with a fake registry (etcd itself: test_registry.py)."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from app.errors import BadInput, NotFound, RateLimited, Unavailable
from app.rpc.client import Balancer, HashRing, RpcClient, TokenBucket
from app.rpc.config import Balancing, Callee, RpcConfig, parse_rpc
from app.rpc.protocol import MAX_FRAME, ProtocolError, encode, read_frame
from app.rpc.server import dispatch
from tests.rpc_servers import ThreadedServer
from tests.servers import free_port


class FakeRegistry:
    def __init__(self, instances: dict[str, list[str]]) -> None:
        self.instances = instances
        self.lists = 0

    def get_prefix(self, prefix: str) -> dict[str, str]:
        self.lists += 1
        return {prefix + a: a for a in self.instances.get(prefix, [])}


def callee(
    balancing: Balancing = "round-robin", retries: int = 2, timeout_ms: int = 300, per_second: float = 1000, burst: int = 1000
) -> Callee:
    return Callee(
        "account", "/stagecraft/services/account/", balancing, timeout_ms, timeout_ms * (retries + 1), per_second, burst, retries, 5.0
    )


def client_for(c: Callee, addresses: list[str], **kw: Any) -> tuple[RpcClient, FakeRegistry]:
    reg = FakeRegistry({c.prefix: addresses})
    return RpcClient(RpcConfig("web", ("http://etcd:2379",), None, None, {c.service: c}), reg, **kw), reg


def echo_handlers(tag: str) -> dict[str, Any]:
    def get(a: dict[str, Any]) -> Any:
        if a.get("id") == 404:
            raise NotFound("user 404 not found")
        return {"served_by": tag, "args": a}

    def slow(a: dict[str, Any]) -> Any:
        import gevent

        gevent.sleep(a.get("s", 1))
        return tag

    return {"Account.get": get, "Account.get_slow": slow, "Account.create": lambda a: {"created_by": tag}}


def test_frames_round_trip_and_limits() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.sendall(encode({"id": 1, "method": "Account.get", "args": {"id": 7}}))
        assert read_frame(b) == {"id": 1, "method": "Account.get", "args": {"id": 7}}
        a.sendall((MAX_FRAME + 1).to_bytes(4, "big"))
        with pytest.raises(ProtocolError, match="over the"):
            read_frame(b)
    with pytest.raises(ProtocolError):
        encode({"blob": b"x" * (MAX_FRAME + 10)})


def test_dispatch_maps_errors_to_codes() -> None:
    h = {"Account.get": lambda a: (_ for _ in ()).throw(NotFound("user 3 not found")), "Account.boom": lambda a: 1 / 0}
    assert dispatch(h, {"id": 1, "method": "Nope.x"})["error"]["code"] == "bad_input"
    assert dispatch(h, {"id": 2, "method": "Account.get", "args": {}})["error"] == {"code": "not_found", "message": "user 3 not found"}
    assert dispatch(h, {"id": 3, "method": "Account.boom", "args": {}})["error"]["code"] == "unavailable"
    assert dispatch(h, {"id": 4, "method": "Account.get", "args": [1]})["error"]["message"] == "args must be a map"


def test_token_bucket() -> None:
    now = [0.0]
    b = TokenBucket(per_second=2, burst=3, clock=lambda: now[0])
    assert [b.try_take() for _ in range(4)] == [True, True, True, False]
    now[0] = 0.5  # one token back at 2/s
    assert [b.try_take(), b.try_take()] == [True, False]
    now[0] = 100.0  # refills to the burst, no further
    assert sum(b.try_take() for _ in range(10)) == 3


def test_hash_ring_is_stable_and_moves_few_keys() -> None:
    three = HashRing(["a:1", "b:1", "c:1"])
    keys = [f"user-{i}" for i in range(600)]
    before = {k: three.pick(k, {"a:1", "b:1", "c:1"}) for k in keys}
    assert before == {k: three.pick(k, {"a:1", "b:1", "c:1"}) for k in keys}
    assert len(set(before.values())) == 3
    # Losing c moves only c's keys.
    after = {k: three.pick(k, {"a:1", "b:1"}) for k in keys}
    moved = [k for k in keys if before[k] != after[k]]
    assert moved and all(before[k] == "c:1" for k in moved)


def test_balancers() -> None:
    rr = Balancer("round-robin")
    assert [rr.pick(["a", "b"], ["a", "b"], None) for _ in range(4)] == ["a", "b", "a", "b"]
    lc = Balancer("least-conn")
    lc.in_flight = {"a": 3, "b": 1, "c": 1}
    assert {lc.pick(["a", "b", "c"], ["a", "b", "c"], None) for _ in range(4)} == {"b", "c"}


def test_round_robin_spreads_calls_over_instances() -> None:
    with ThreadedServer(echo_handlers("one")) as s1, ThreadedServer(echo_handlers("two")) as s2:
        client, _ = client_for(callee(), [s1.address, s2.address])
        served = [client.call("account", "Account.get", {"id": 1})["served_by"] for _ in range(6)]
        assert sorted(served) == ["one"] * 3 + ["two"] * 3
        client.close()


def test_consistent_hash_sends_a_key_to_one_instance() -> None:
    with ThreadedServer(echo_handlers("one")) as s1, ThreadedServer(echo_handlers("two")) as s2:
        client, _ = client_for(callee("consistent-hash"), [s1.address, s2.address])
        for key in ("alice", "bob", "carol"):
            assert len({client.call("account", "Account.get", {"id": 1}, key=key)["served_by"] for _ in range(5)}) == 1
        client.close()


def test_failover_retries_on_another_instance_and_ejects_the_dead_one() -> None:
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    with ThreadedServer(echo_handlers("alive")) as s:
        client, _ = client_for(callee(retries=1), [dead, s.address])
        results = [client.call("account", "Account.get", {"id": i})["served_by"] for i in range(1, 7)]
        assert results == ["alive"] * 6
        st = client._state["account"]
        assert dead in st.ejected and st.ejected[dead] > time.monotonic()
        # Ejected: only the first call paid for the dead instance.
        assert s.calls == 6
        # A write is retried too when the connection failed (nothing was sent).
        st.ejected.clear()
        assert client.call("account", "Account.create", {"username": "x"})["created_by"] == "alive"
        client.close()


def test_business_errors_are_not_retried() -> None:
    with ThreadedServer(echo_handlers("a")) as s1, ThreadedServer(echo_handlers("b")) as s2:
        client, _ = client_for(callee(retries=2), [s1.address, s2.address])
        with pytest.raises(NotFound, match="user 404 not found"):
            client.call("account", "Account.get", {"id": 404})
        assert s1.calls + s2.calls == 1
        with pytest.raises(BadInput, match="unknown method"):
            client.call("account", "Account.nope", {})
        client.close()


def test_timeout_fails_over_and_the_deadline_bounds_the_call() -> None:
    with ThreadedServer(echo_handlers("slow")) as s1, ThreadedServer(echo_handlers("slow2")) as s2:
        client, _ = client_for(callee(retries=1, timeout_ms=200), [s1.address, s2.address])
        t0 = time.monotonic()
        with pytest.raises(Unavailable, match="no instance answered within 400ms"):
            client.call("account", "Account.get_slow", {"s": 1})
        took = time.monotonic() - t0
        assert 0.35 < took < 0.9, took
        client.close()


def test_a_write_that_timed_out_is_not_sent_again() -> None:
    handlers = echo_handlers("x")
    handlers["Account.create"] = handlers["Account.get_slow"]
    with ThreadedServer(handlers) as s1, ThreadedServer(handlers) as s2:
        client, _ = client_for(callee(retries=2, timeout_ms=150), [s1.address, s2.address])
        with pytest.raises(Unavailable):
            client.call("account", "Account.create", {"s": 0.5})
        time.sleep(0.6)
        assert s1.calls + s2.calls == 1
        client.close()


def test_rate_limit_refuses_calls_over_the_burst() -> None:
    with ThreadedServer(echo_handlers("a")) as s:
        client, _ = client_for(callee(per_second=1, burst=3), [s.address])
        ok = [client.call("account", "Account.get", {"id": 1}) for _ in range(3)]
        assert len(ok) == 3
        with pytest.raises(RateLimited, match=r"over the client's rate limit \(1/s, burst 3\)"):
            client.call("account", "Account.get", {"id": 1})
        assert s.calls == 3
        client.close()


def test_no_instance_is_unavailable_and_discovery_is_cached() -> None:
    client, reg = client_for(callee(), [])
    with pytest.raises(Unavailable, match="no instance registered"):
        client.call("account", "Account.get", {"id": 1})
    with pytest.raises(Unavailable):
        client.call("account", "Account.get", {"id": 1})
    assert reg.lists == 1  # listed once per refresh interval, not per call


def test_unknown_callee_names_the_declared_ones() -> None:
    client, _ = client_for(callee(), [])
    with pytest.raises(ValueError, match=r"no callee 'feed' \(calls it declares: \['account'\]\)"):
        client.call("feed", "Post.get", {"id": 1})


def test_rpc_json_as_rendered_parses() -> None:
    raw = {
        "service": "feed",
        "etcd": {
            "endpoints": ["http://etcd-0.etcd.stagecraft.svc.cluster.local:2379"],
            "auth": {"user": "feed", "passwordEnv": "ETCD_PASSWORD"},
        },
        "registration": {"prefix": "/stagecraft/services/feed/", "port": 9000, "leaseTtlSeconds": 10, "keepAliveSeconds": 3},
        "callees": [
            {
                "service": "account",
                "prefix": "/stagecraft/services/account/",
                "balancing": "least-conn",
                "timeoutMs": 500,
                "deadlineMs": 1500,
                "rateLimit": {"perSecond": 500, "burst": 100},
                "failover": {"retries": 2, "ejectSeconds": 30},
            }
        ],
    }
    cfg = parse_rpc(raw)
    assert cfg.registration is not None and cfg.registration.keepalive_s == 3
    assert cfg.callees["account"].deadline_ms == 1500 and cfg.auth is not None and cfg.auth.user == "feed"
    raw["callees"][0]["balancing"] = "random"  # type: ignore[index]
    with pytest.raises(ValueError, match=r"rpc.json.callees\[0\].balancing must be"):
        parse_rpc(raw)


def test_cold_concurrent_calls_wait_for_one_listing_and_a_failed_first_listing_is_retried() -> None:
    import threading
    import time as _time

    from app.rpc.etcd import EtcdError

    class SlowRegistry:
        def __init__(self) -> None:
            self.lists, self.fail_next = 0, True

        def get_prefix(self, prefix: str) -> dict[str, str]:
            self.lists += 1
            if self.fail_next:
                self.fail_next = False
                raise EtcdError("no etcd endpoint answered")
            _time.sleep(0.2)  # a slow etcd: every caller arrives while this listing is in flight
            return {prefix + "10.0.0.1:9000": "10.0.0.1:9000"}

    c = callee()
    reg = SlowRegistry()
    client = RpcClient(RpcConfig("web", ("http://etcd:2379",), None, None, {c.service: c}), reg)
    assert client.instances("account") == []  # the first listing failed: nothing cached...
    seen: list[list[str]] = []
    threads = [threading.Thread(target=lambda: seen.append(client.instances("account"))) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # ...so the next calls list again, once, and all of them get the instance.
    assert seen == [["10.0.0.1:9000"]] * 20 and reg.lists == 2
