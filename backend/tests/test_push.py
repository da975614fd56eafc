"""Push: nchan's publisher (HTTP POST per channel) and tormq (the real Tornado websocket front
with ZeroMQ SUB, two replicas on loopback, a publisher that connects to every replica)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import tornado.httpclient
import tornado.websocket

from app import push
from app.config import Push
from app.tormq import parse_args, serve
from tests.servers import capture_http, free_port, wait_port


def test_nchan_publish_posts_to_the_channel() -> None:
    with capture_http() as (url, received):
        assert push.publish(Push("nchan", url + "/pub"), "user.7", {"hello": 1}) is True
    assert received == [("POST", "/pub/user.7", b'{"hello": 1}')]


def test_a_failed_push_never_fails_the_caller() -> None:
    assert push.publish(Push("nchan", f"http://127.0.0.1:{free_port()}/pub"), "feed", {}) is False
    assert push.publish(None, "feed", {}) is False
    with pytest.raises(ValueError, match="push channel"):
        push.check_channel("bad channel!")


@contextmanager
def tormq_replica(host: str, port: int, zmq_port: int) -> Iterator[None]:
    stop: list[Any] = []
    loop_ready = threading.Event()

    def run() -> None:
        async def main() -> None:
            ev = asyncio.Event()
            stop.append((asyncio.get_running_loop(), ev))
            loop_ready.set()
            await serve(port, zmq_port, "/push", host=host, stop=ev)

        asyncio.run(main())

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert loop_ready.wait(5)
    wait_port(port, host=host)
    try:
        yield
    finally:
        loop, ev = stop[0]
        loop.call_soon_threadsafe(ev.set)
        t.join(5)


async def receive(url: str, n: int, timeout: float = 5.0) -> list[Any]:
    ws = await tornado.websocket.websocket_connect(url)
    got: list[Any] = []
    try:
        async with asyncio.timeout(timeout):
            while len(got) < n:
                msg = await ws.read_message()
                assert msg is not None, "websocket closed"
                got.append(json.loads(msg))
    finally:
        ws.close()
    return got


def test_tormq_fans_out_to_subscribers_on_every_replica(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two replicas on two loopback addresses, same ports (as two pods would have).
    ws_port, zmq_port = free_port(), free_port()
    with tormq_replica("127.0.0.1", ws_port, zmq_port), tormq_replica("127.0.0.2", ws_port, zmq_port):
        # The headless Service's name resolves to both pods.
        real = socket.getaddrinfo

        def fake(host: str, *a: Any, **k: Any) -> Any:
            if host == "push.stagecraft.svc.cluster.local":
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, zmq_port)) for ip in ("127.0.0.1", "127.0.0.2")]
            return real(host, *a, **k)

        monkeypatch.setattr(socket, "getaddrinfo", fake)
        settings_push = Push("tormq", f"tcp://push.stagecraft.svc.cluster.local:{zmq_port}")

        async def scenario() -> tuple[list[Any], list[Any], list[Any]]:
            a = asyncio.create_task(receive(f"ws://127.0.0.1:{ws_port}/push/feed", 2))
            b = asyncio.create_task(receive(f"ws://127.0.0.2:{ws_port}/push?channel=feed&channel=user.1", 3))
            other = asyncio.create_task(receive(f"ws://127.0.0.2:{ws_port}/push/user.2", 1, timeout=1.5))
            await asyncio.sleep(0.3)  # websockets open
            for channel, msg in (("feed", {"n": 1}), ("user.1", {"n": 2}), ("feed", {"n": 3})):
                assert await asyncio.to_thread(push.publish, settings_push, channel, msg)
            res_other: list[Any] = []
            try:
                res_other = await other
            except TimeoutError:
                pass
            return await a, await b, res_other

        got_a, got_b, got_other = asyncio.run(scenario())
        assert got_a == [{"n": 1}, {"n": 3}]
        assert got_b == [{"n": 1}, {"n": 2}, {"n": 3}]
        assert got_other == []  # nothing was published on user.2
        publisher = push._tormq[settings_push.publish_url]
        assert publisher._peers == {f"tcp://127.0.0.1:{zmq_port}", f"tcp://127.0.0.2:{zmq_port}"}
        publisher.close()
        del push._tormq[settings_push.publish_url]


def test_tormq_health_and_bad_subscriptions() -> None:
    ws_port, zmq_port = free_port(), free_port()
    with tormq_replica("127.0.0.1", ws_port, zmq_port):
        client = tornado.httpclient.HTTPClient()
        try:
            assert json.loads(client.fetch(f"http://127.0.0.1:{ws_port}/healthz").body) == {"status": "ok"}
            with pytest.raises(tornado.httpclient.HTTPClientError) as e:
                client.fetch(f"http://127.0.0.1:{ws_port}/push", headers={"Upgrade": "websocket", "Connection": "Upgrade"})
            assert e.value.code == 400 and e.value.response is not None
            assert b"name a channel" in e.value.response.body
        finally:
            client.close()


def test_tormq_command_line_matches_the_pod_args() -> None:
    # PushService.ts: args [--port=P, --zmq-port=Z, --path=/push] after the image's entrypoint.
    args = parse_args(["--port=8080", "--zmq-port=5556", "--path=/push"])
    assert (args.port, args.zmq_port, args.path) == (8080, 5556, "/push")
    with pytest.raises(SystemExit):
        parse_args(["--port=8080", "--zmq-port=8080", "--path=/push"])
