"""The end-to-end checks against the real backend on loopback (uWSGI + gevent, SQLite and an
in-process cache: tests/django_settings.py), and the push subscriber against a real tormq. What
needs a cluster (pods, Celery workers, RPC providers, NetworkPolicies) answers n/a here; those
parts run against the real stages (python -m e2e check)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from e2e import checks
from e2e.entry import Entry
from e2e.http import Client
from e2e.kube import Pod
from e2e.push import Subscriber, notification_for
from e2e.stage import Push, Stage
from tests.conftest import MVC_SETTINGS, TMP
from tests.servers import free_port, process
from tests.test_push import tormq_replica

BACKEND = Path(__file__).resolve().parent.parent


class NoCluster:
    namespace = "stagecraft"

    def pods(self, name: str) -> list[Pod]:
        return []

    def logs(self, name: str, since: str = "5m") -> str:
        return ""

    def exec(self, pod: str, argv: list[str], timeout: float = 60) -> Any:
        raise AssertionError("no exec without a cluster")

    def delete_pod(self, pod: str) -> None:
        raise AssertionError("no pod to delete")

    def services(self) -> dict[str, Any]:
        return {}


def monolith(**kw: Any) -> Stage:
    base: dict[str, Any] = dict(
        stage="mvc",
        edge="nginx",
        routes={"/": "web"},
        push=None,
        short_url_route=None,
        account_owner="web",
        post_owner="web",
        rpc_callees=(),
        rate_limit=None,
    )
    return Stage(**{**base, **kw})


def serve_backend(port: int) -> Any:
    # The monolith without a broker or push endpoint (none runs here): announced inline.
    settings = TMP / f"e2e-settings-{port}.json"
    settings.write_text(json.dumps({**MVC_SETTINGS, "celery": None, "push": None}))
    ini = TMP / f"e2e-uwsgi-{port}.ini"
    ini.write_text(
        "\n".join(
            [
                "[uwsgi]",
                "strict = true",
                f"http-socket = 127.0.0.1:{port}",
                "module = app.wsgi:application",
                "need-app = true",
                "master = true",
                "processes = 1",
                "gevent = 20",
                "gevent-early-monkey-patch = true",
                "die-on-term = true",
            ]
        )
        + "\n"
    )
    uwsgi = BACKEND / ".venv" / "bin" / "uwsgi"
    env = {
        **os.environ,
        "STAGECRAFT_SETTINGS": str(settings),
        "DJANGO_SETTINGS_MODULE": "tests.django_settings",
        "PYTHONPATH": str(BACKEND),
    }
    return process([str(uwsgi if uwsgi.exists() else shutil.which("uwsgi") or "uwsgi"), "--ini", str(ini)], port, env=env, timeout=30)


def test_the_checks_pass_against_the_real_backend_and_say_what_needs_a_cluster() -> None:
    port = free_port()
    with serve_backend(port):
        ctx = checks.Ctx(stage=monolith(), entry=Entry({"/": f"http://127.0.0.1:{port}"}, "loopback"), http=Client(), kube=NoCluster())
        results = {r.name: r for r in checks.run_all(ctx)}
    failed = {n: r.detail for n, r in results.items() if r.status == "fail"}
    assert failed == {}
    passed = {n for n, r in results.items() if r.status == "pass"}
    assert passed == {"create user", "create post", "feed from cache", "notification row", "bad input -> 4xx with a message"}
    assert "announces inline" in results["Celery task"].detail
    for detail in ("malformed JSON", "413", "user 987654321 not found"):
        assert detail in results["bad input -> 4xx with a message"].detail


def test_a_broken_part_fails_its_check() -> None:
    # The short-URL store (Redis) is not there: the check must fail, not pass or skip.
    port = free_port()
    with serve_backend(port):
        ctx = checks.Ctx(
            stage=monolith(short_url_route="/s"),
            entry=Entry({"/": f"http://127.0.0.1:{port}"}, "loopback"),
            http=Client(),
            kube=NoCluster(),
        )
        r = checks.short_url(ctx)
        assert r.status == "fail" and "503" in r.detail
        # No push service answers where the stage says one is: the push check fails.
        ctx.stage = monolith(push=Push("tormq", "/push"))
        ctx.entry = Entry({"/": f"http://127.0.0.1:{port}", "/push": f"http://127.0.0.1:{free_port()}"}, "loopback")
        assert checks.create_user(ctx).status == "pass"
        results = {r.name: r for r in checks.post_and_push(ctx)}
        assert results["create post"].status == "pass"
        assert results["push notification"].status == "fail" and "could not subscribe" in results["push notification"].detail


def test_the_subscriber_receives_what_tormq_is_sent() -> None:
    from app.push import TormqPublisher

    ws_port, zmq_port = free_port(), free_port()
    with tormq_replica("127.0.0.1", ws_port, zmq_port), Subscriber(f"ws://127.0.0.1:{ws_port}/push/user.7") as sub:
        publisher = TormqPublisher(f"tcp://127.0.0.1:{zmq_port}")
        try:
            got = None
            deadline = time.monotonic() + 10
            # ZeroMQ drops what a PUB socket sends before its connection is up: send until it lands.
            while got is None and time.monotonic() < deadline:
                publisher.publish("user.7", {"type": "notification", "notification": {"postId": 42}})
                got = sub.wait_for(notification_for(42), timeout=0.3)
            assert got == {"type": "notification", "notification": {"postId": 42}}
            publisher.publish("user.7", {"type": "notification", "notification": {"postId": 43}})
            assert sub.wait_for(notification_for(99), timeout=0.5) is None
        finally:
            publisher.close()


def test_the_in_pod_rate_limit_snippet_is_refused_by_the_real_client_against_a_real_provider() -> None:
    """What `rate_limit` runs in a web pod, run here: the real `python -m app.rpc serve` found
    through a real etcd, called by the snippet with a caller rpc.json whose burst is 10."""
    import subprocess
    import sys

    from tests.servers import etcd_server, wait_port
    from tests.test_registry import rpc_json

    port = free_port()
    with etcd_server() as url:
        provider_rpc, caller_rpc, settings = TMP / f"e2e-rpc-{port}.json", TMP / f"e2e-caller-{port}.json", TMP / f"e2e-ud-{port}.json"
        provider_rpc.write_text(json.dumps(rpc_json(url, "user-data", port)))
        callee = {
            "service": "user-data",
            "prefix": "/stagecraft/services/user-data/",
            "balancing": "least-conn",
            "timeoutMs": 2000,
            "deadlineMs": 6000,
            "rateLimit": {"perSecond": 5, "burst": 10},
            "failover": {"retries": 2, "ejectSeconds": 30},
        }
        caller_rpc.write_text(
            json.dumps({"service": "web", "etcd": {"endpoints": [url], "auth": None}, "registration": None, "callees": [callee]})
        )
        settings.write_text(json.dumps({**MVC_SETTINGS, "service": "user-data", "layer": "data"}))
        env = {**os.environ, "STAGECRAFT_SETTINGS": str(settings), "POD_IP": "127.0.0.1"}
        env |= {"DJANGO_SETTINGS_MODULE": "tests.django_settings", "PYTHONPATH": str(BACKEND)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.rpc", "serve", "--port", str(port)], cwd=BACKEND, env={**env, "STAGECRAFT_RPC": str(provider_rpc)}
        )
        try:
            wait_port(port, timeout=20)
            time.sleep(1)  # registered
            done = subprocess.run(
                [sys.executable, "-c", checks.RATE_LIMIT_SNIPPET, "user-data", "Account.get", "1", "30"],
                cwd=BACKEND,
                env={**env, "STAGECRAFT_RPC": str(caller_rpc)},
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr[-2000:]
            out = json.loads(done.stdout.strip().splitlines()[-1])
            # User 1 may not exist: a 404 from the provider is an answer, not a refusal; count both.
            answered = out["ok"] + (out["other"] if "not found" in out.get("error", "") else 0)
            assert out["limited"] >= 15 and answered + out["limited"] == 30, out
        finally:
            proc.terminate()
            proc.wait(15)


def test_the_in_pod_connect_snippet_tells_refused_from_connected() -> None:
    import socket
    import subprocess
    import sys

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    open_port, closed_port = listener.getsockname()[1], free_port()
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                checks.CONNECT_SNIPPET,
                "forbidden",
                "127.0.0.1",
                str(closed_port),
                "allowed",
                "127.0.0.1",
                str(open_port),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        out = json.loads(done.stdout)
        assert checks.judge_policy(out)[0], out
        assert out["allowed"] == "connected" and out["forbidden"].startswith("ConnectionRefusedError")
    finally:
        listener.close()
