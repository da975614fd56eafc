"""Registration and discovery against a real etcd (Debian's etcd-server on 127.0.0.1), and the
real `python -m app.rpc serve --port N` command: registers `<prefix><POD_IP>:<port>` under a
lease, serves its aggregate roots, and leaves the registry at once on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.errors import BadInput
from app.rpc.client import RpcClient
from app.rpc.config import parse_rpc
from app.rpc.etcd import Etcd, EtcdError, prefix_end
from app.rpc.server import Registration
from tests.conftest import MVC_SETTINGS, TMP
from tests.servers import etcd_server, free_port, wait_port

BACKEND = Path(__file__).resolve().parent.parent


def test_prefix_end() -> None:
    import base64

    assert base64.b64decode(prefix_end("/a/b/")) == b"/a/b0"


def test_lease_keepalive_and_revoke() -> None:
    import gevent

    with etcd_server() as url:
        etcd = Etcd([f"http://127.0.0.1:{free_port()}", url])  # a dead endpoint first: the client moves on
        reg = Registration(etcd, "/stagecraft/services/account/", "10.0.0.7:9000", ttl=3, keepalive=1)
        reg.start()
        assert etcd.get_prefix("/stagecraft/services/account/") == {"/stagecraft/services/account/10.0.0.7:9000": "10.0.0.7:9000"}
        assert etcd.get_prefix("/stagecraft/services/acc") != {} and etcd.get_prefix("/stagecraft/services/accountx/") == {}
        gevent.sleep(4.5)  # past the TTL: only keepalives keep it
        assert list(etcd.get_prefix("/stagecraft/services/account/")) == ["/stagecraft/services/account/10.0.0.7:9000"]
        reg.stop()
        assert etcd.get_prefix("/stagecraft/services/account/") == {}


def test_an_unkept_lease_drops_the_instance() -> None:
    with etcd_server() as url:
        etcd = Etcd([url])
        lease = etcd.grant(3)
        etcd.put("/s/feed/1.2.3.4:9000", "1.2.3.4:9000", lease=lease)
        deadline = time.monotonic() + 8
        while etcd.get_prefix("/s/feed/") and time.monotonic() < deadline:
            time.sleep(0.25)
        assert etcd.get_prefix("/s/feed/") == {}


def test_etcd_down_is_a_clear_error() -> None:
    with pytest.raises(EtcdError, match="no etcd endpoint answered /v3/kv/range"):
        Etcd([f"http://127.0.0.1:{free_port()}"], timeout=0.5).get_prefix("/x/")


def rpc_json(etcd_url: str, service: str, port: int, callees: list[dict[str, object]] | None = None) -> dict[str, object]:
    return {
        "service": service,
        "etcd": {"endpoints": [etcd_url], "auth": None},
        "registration": {"prefix": f"/stagecraft/services/{service}/", "port": port, "leaseTtlSeconds": 10, "keepAliveSeconds": 3},
        "callees": callees or [],
    }


def test_the_serve_command_registers_serves_and_leaves_on_sigterm() -> None:
    port = free_port()
    with etcd_server() as url:
        rpc_path = TMP / f"rpc-{port}.json"
        rpc_path.write_text(json.dumps(rpc_json(url, "user-data", port)))
        settings_path = TMP / f"settings-{port}.json"
        settings_path.write_text(
            json.dumps(
                {**MVC_SETTINGS, "service": "user-data", "layer": "data", "contexts": [{"name": "account", "aggregateRoot": "Account"}]}
            )
        )
        env = {
            **os.environ,
            "STAGECRAFT_SETTINGS": str(settings_path),
            "STAGECRAFT_RPC": str(rpc_path),
            "POD_IP": "127.0.0.1",
            # SQLite (migrated by conftest) instead of MySQL: the test is about the RPC role.
            "DJANGO_SETTINGS_MODULE": "tests.django_settings",
            "PYTHONPATH": str(BACKEND),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.rpc", "serve", "--port", str(port)], cwd=BACKEND, env=env, stderr=subprocess.PIPE
        )
        try:
            wait_port(port, timeout=20)
            etcd = Etcd([url])
            key = f"/stagecraft/services/user-data/127.0.0.1:{port}"
            deadline = time.monotonic() + 10
            while key not in etcd.get_prefix("/stagecraft/services/user-data/") and time.monotonic() < deadline:
                time.sleep(0.1)
            assert etcd.get_prefix("/stagecraft/services/user-data/") == {key: f"127.0.0.1:{port}"}

            # A caller finds it through etcd and calls the Account aggregate root.
            caller = parse_rpc(
                {
                    "service": "web",
                    "etcd": {"endpoints": [url], "auth": None},
                    "registration": None,
                    "callees": [
                        {
                            "service": "user-data",
                            "prefix": "/stagecraft/services/user-data/",
                            "balancing": "least-conn",
                            "timeoutMs": 2000,
                            "deadlineMs": 6000,
                            "rateLimit": {"perSecond": 100, "burst": 10},
                            "failover": {"retries": 2, "ejectSeconds": 30},
                        }
                    ],
                }
            )
            client = RpcClient(caller, Etcd([url]))
            user = client.call("user-data", "Account.create", {"username": f"rpc_{port}", "displayName": "R"})
            assert client.call("user-data", "Account.get", {"id": user["id"]}) == user
            # Only the contexts settings.json names are served.
            with pytest.raises(BadInput, match=r"unknown method 'Post.feed'"):
                client.call("user-data", "Post.feed", {"limit": 1})
            client.close()

            proc.send_signal(signal.SIGTERM)
            assert proc.wait(15) == 0
            # Revoked, not left to expire: gone at once.
            assert etcd.get_prefix("/stagecraft/services/user-data/") == {}
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            err = proc.stderr.read().decode() if proc.stderr else ""
        assert "revoked lease" in err, err[-2000:]


def test_serve_refuses_a_port_that_differs_from_rpc_json() -> None:
    rpc_path = TMP / "rpc-mismatch.json"
    rpc_path.write_text(json.dumps(rpc_json("http://127.0.0.1:1", "feed", 9000)))
    env = {
        **os.environ,
        "STAGECRAFT_RPC": str(rpc_path),
        "POD_IP": "127.0.0.1",
        "DJANGO_SETTINGS_MODULE": "tests.django_settings",
        "PYTHONPATH": str(BACKEND),
    }
    out = subprocess.run(
        [sys.executable, "-m", "app.rpc", "serve", "--port", "9001"], cwd=BACKEND, env=env, capture_output=True, timeout=60
    )
    assert out.returncode == 2
    assert b"--port 9001 differs from rpc.json registration.port 9000" in out.stderr


def test_auth_on_a_user_limited_to_its_prefix() -> None:
    """etcd with auth on (micro and ddd stacks): the service's user logs in, registers under its
    own prefix, and is refused elsewhere; a wrong password is a clear error."""
    import base64

    def b64(s: str) -> str:
        return base64.b64encode(s.encode()).decode()

    with etcd_server() as url:
        admin = Etcd([url])
        admin._post("/v3/auth/user/add", {"name": "root", "password": "root-pw"})
        admin._post("/v3/auth/role/add", {"name": "root"})
        admin._post("/v3/auth/user/grant", {"user": "root", "role": "root"})
        admin._post("/v3/auth/user/add", {"name": "feed", "password": "feed-pw"})
        admin._post("/v3/auth/role/add", {"name": "feed"})
        perm = {"permType": "READWRITE", "key": b64("/stagecraft/services/feed/"), "range_end": prefix_end("/stagecraft/services/feed/")}
        admin._post("/v3/auth/role/grant", {"name": "feed", "perm": perm})
        admin._post("/v3/auth/user/grant", {"user": "feed", "role": "feed"})
        admin._post("/v3/auth/enable", {})

        feed = Etcd([url], user="feed", password="feed-pw")
        reg = Registration(feed, "/stagecraft/services/feed/", "10.0.0.9:9000", ttl=5, keepalive=1)
        reg.start()
        assert feed.get_prefix("/stagecraft/services/feed/") == {"/stagecraft/services/feed/10.0.0.9:9000": "10.0.0.9:9000"}
        with pytest.raises(EtcdError, match="permission denied"):
            feed.put("/stagecraft/services/account/x", "y")
        reg.stop()
        assert feed.get_prefix("/stagecraft/services/feed/") == {}
        with pytest.raises(EtcdError, match="authentication of user 'feed' failed"):
            Etcd([url], user="feed", password="wrong").get_prefix("/stagecraft/services/feed/")
