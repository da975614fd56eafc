"""split: services call each other over HTTP by the URL settings.json gives, with a timeout per
attempt and bounded retries; the callee's 4xx verdicts pass through unchanged."""

from __future__ import annotations

import copy
import http.server
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from app.calls import HttpCaller
from app.config import parse_settings
from app.errors import Conflict, NotFound, Unavailable
from app.remote import HttpAccounts, HttpPosts
from tests.conftest import MVC_SETTINGS
from tests.servers import free_port


class Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def django_service() -> Iterator[str]:
    """The app itself (the account/feed service role: local database) on a real HTTP port."""
    from app.wsgi import application

    server = make_server("127.0.0.1", 0, application, handler_class=Quiet)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def caller_settings(**calls: str) -> Any:
    raw = copy.deepcopy(MVC_SETTINGS)
    raw["calls"] = {name: {"protocol": "http", "url": url} for name, url in calls.items()}
    return parse_settings(raw)


def test_web_reaches_accounts_and_posts_over_http() -> None:
    with django_service() as url:
        s = caller_settings(account=url, feed=url)
        accounts, posts = HttpAccounts(s, "account"), HttpPosts(s, "feed")
        name = "h_" + uuid.uuid4().hex[:10]
        user = accounts.create(name, "Hazel")
        assert accounts.get(user["id"]) == user
        with pytest.raises(Conflict, match=f"username '{name}' is taken"):
            accounts.create(name, "again")
        with pytest.raises(NotFound, match="user 987654321 not found"):
            accounts.get(987654321)
        post = posts.create(user["id"], "over http")
        assert posts.get(post["id"]) == post
        assert post in posts.feed(100)


class Flaky(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []
    fail_first = 1

    def _answer(self) -> None:
        Flaky.hits.append(self.command)
        if len(Flaky.hits) <= Flaky.fail_first:
            code, body = 503, b'{"error": {"code": "unavailable", "message": "busy"}}'
        else:
            code, body = 200, b'{"ok": true}'
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def flaky(fail_first: int) -> Iterator[str]:
    Flaky.hits, Flaky.fail_first = [], fail_first
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_get_is_retried_a_bounded_number_of_times() -> None:
    with flaky(fail_first=2) as url:
        assert HttpCaller(caller_settings(account=url), "account").request("GET", "/x") == {"ok": True}
        assert Flaky.hits == ["GET"] * 3
    with flaky(fail_first=5) as url:
        with pytest.raises(Unavailable, match=r"service account did not answer GET /x after 3 attempt\(s\)"):
            HttpCaller(caller_settings(account=url), "account").request("GET", "/x")
        assert len(Flaky.hits) == 3


def test_a_post_that_reached_the_server_is_not_sent_twice() -> None:
    with flaky(fail_first=1) as url:
        with pytest.raises(Unavailable):
            HttpCaller(caller_settings(account=url), "account").request("POST", "/users", {"username": "x"})
        assert Flaky.hits == ["POST"]


def test_a_refused_connection_is_retried_then_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    with pytest.raises(Unavailable, match="after 3 attempt"):
        HttpCaller(caller_settings(account=url), "account").request("POST", "/users", {"username": "x"})
    assert time.monotonic() - t0 < 2


def test_a_slow_callee_times_out() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)  # accepts, never answers
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        t0 = time.monotonic()
        with pytest.raises(Unavailable):
            HttpCaller(caller_settings(account=url), "account", timeout=0.2, retries=1).request("GET", "/users/1")
        assert 0.35 < time.monotonic() - t0 < 1.5


def test_a_callee_must_be_declared() -> None:
    with pytest.raises(ValueError, match="has no HTTP call to 'feed'"):
        HttpCaller(caller_settings(account="http://x"), "feed")
