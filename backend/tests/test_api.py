"""The monolith's HTTP API through Django's test client; every response is checked against the
OpenAPI document (tests/openapi_check.py)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import jsonschema
import pytest
from django.test import Client

from app.api.openapi import document
from tests.openapi_check import check
from tests.servers import capture_http


@pytest.fixture
def client() -> Client:
    return Client()


def name() -> str:
    return "u_" + uuid.uuid4().hex[:12]


def post_json(client: Client, path: str, body: Any) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json")


def new_user(client: Client) -> dict[str, Any]:
    r = post_json(client, "/users", {"username": name(), "displayName": "Ada"})
    assert r.status_code == 201, r.content
    return check("POST", "/users", r)  # type: ignore[no-any-return]


def test_the_served_document_is_valid_openapi_31(client: Client) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    served = r.json()
    assert served == json.loads(json.dumps(document()))
    assert served["openapi"] == "3.1.0"
    # Every schema is itself a valid JSON Schema (2020-12, OpenAPI 3.1's dialect).
    for schema in served["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_health_and_readiness(client: Client) -> None:
    assert check("GET", "/healthz", client.get("/healthz")) == {"status": "ok"}
    assert check("GET", "/readyz", client.get("/readyz")) == {"status": "ok", "database": "ok"}


def test_create_and_read_a_user(client: Client) -> None:
    user = new_user(client)
    r = client.get(f"/users/{user['id']}")
    assert check("GET", "/users/1", r) == user


def test_duplicate_username_is_a_409(client: Client) -> None:
    u = new_user(client)
    r = post_json(client, "/users", {"username": u["username"]})
    body = check("POST", "/users", r)
    assert r.status_code == 409
    assert f"username '{u['username']}' is taken" in body["error"]["message"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{not json", "malformed JSON body"),
        (b"[1, 2]", "must be an object"),
        (b"{}", "field 'username' is required"),
        (b'{"username": 42}', "field 'username' must be a string"),
        (b'{"username": "No Spaces!"}', "field 'username' must be 3-32"),
        (b'{"username": "abc", "displayName": 7}', "field 'displayName' must be a string"),
        (b'{"username": "\\ud800"}', "must be 3-32"),
    ],
)
def test_bad_user_input_is_a_400_with_a_clear_message(client: Client, payload: bytes, message: str) -> None:
    r = client.post("/users", data=payload, content_type="application/json")
    body = check("POST", "/users", r)
    assert r.status_code == 400
    assert message in body["error"]["message"]


def test_wrong_content_type_is_a_400(client: Client) -> None:
    r = client.post("/users", data="username=abc", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 400
    assert "Content-Type must be application/json" in check("POST", "/users", r)["error"]["message"]


def test_oversized_body_is_a_413(client: Client) -> None:
    big = json.dumps({"username": "abc", "displayName": "x" * 100_000})
    r = client.post("/users", data=big, content_type="application/json")
    body = check("POST", "/users", r)
    assert r.status_code == 413
    assert "limit is 65536" in body["error"]["message"]


def test_unknown_user_is_a_404(client: Client) -> None:
    r = client.get("/users/999999999")
    assert r.status_code == 404
    assert check("GET", "/users/1", r)["error"]["message"] == "user 999999999 not found"
    r = post_json(client, "/posts", {"userId": 999999999, "body": "hello"})
    assert r.status_code == 404
    assert "user 999999999 not found" in check("POST", "/posts", r)["error"]["message"]


def test_unknown_route_is_a_json_404(client: Client) -> None:
    r = client.get("/nope")
    assert r.status_code == 404
    assert r.json() == {"error": {"code": "not_found", "message": "no route for GET /nope"}}


def test_a_post_is_announced_cached_and_pushed(client: Client, settings: Any = None) -> None:
    from django.conf import settings as dj

    from app.config import Push

    author = new_user(client)
    with capture_http() as (url, received):
        old = dj.STAGECRAFT
        object.__setattr__(old, "push", Push("nchan", url + "/pub"))
        try:
            r = post_json(client, "/posts", {"userId": author["id"], "body": "first post"})
        finally:
            object.__setattr__(old, "push", Push("nchan", "http://127.0.0.1:9/pub"))
        post = check("POST", "/posts", r)
        assert r.status_code == 201 and post["authorId"] == author["id"]
        # The Celery task (eager here) pushed through nchan's publisher: feed channel and the author's.
        paths = sorted(p for _, p, _ in received)
        assert paths == ["/pub/feed", f"/pub/user.{author['id']}"]
        feed_msg = next(json.loads(b) for _, p, b in received if p == "/pub/feed")
        assert feed_msg == {"type": "post", "post": post}

    first = client.get("/feed?limit=10")
    second = client.get("/feed?limit=10")
    a, b = check("GET", "/feed", first), check("GET", "/feed", second)
    assert (a["cached"], first["X-Cache"]) == (False, "miss")
    assert (b["cached"], second["X-Cache"]) == (True, "hit")
    assert a["posts"][0] == post and b["posts"] == a["posts"]
    # A new post invalidates the cached feed.
    post_json(client, "/posts", {"userId": author["id"], "body": "second"})
    assert client.get("/feed?limit=10").json()["cached"] is False

    r = client.get(f"/feed/notifications?userId={author['id']}")
    notes = check("GET", "/feed/notifications", r)["notifications"]
    assert [n["postId"] for n in notes][-1] == post["id"]
    assert client.get(f"/posts/{post['id']}").json() == post


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"body": "x"}, "field 'userId' is required"),
        ({"userId": "1", "body": "x"}, "field 'userId' must be an integer"),
        ({"userId": True, "body": "x"}, "field 'userId' must be an integer"),
        ({"userId": 1}, "field 'body' is required"),
        ({"userId": 1, "body": ""}, "field 'body' must be 1-2000 characters"),
    ],
)
def test_bad_post_input_is_a_400(client: Client, payload: Any, message: str) -> None:
    r = post_json(client, "/posts", payload)
    assert r.status_code == 400
    assert message in check("POST", "/posts", r)["error"]["message"]


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "limit=-1"])
def test_bad_feed_limit_is_a_400(client: Client, query: str) -> None:
    r = client.get(f"/feed?{query}")
    assert r.status_code == 400
    assert "query parameter 'limit'" in check("GET", "/feed", r)["error"]["message"]


def test_notifications_need_a_user_id(client: Client) -> None:
    r = client.get("/feed/notifications")
    assert r.status_code == 400
    assert "query parameter 'userId' is required" in check("GET", "/feed/notifications", r)["error"]["message"]


def test_bad_short_url_is_a_400(client: Client) -> None:
    r = post_json(client, "/short-urls", {"url": "javascript:alert(1)"})
    assert r.status_code == 400
    assert "absolute http(s) URL" in check("POST", "/short-urls", r)["error"]["message"]


def test_short_url_store_down_is_a_503(client: Client) -> None:
    # settings.json points the cache at a cluster name that does not resolve here.
    r = post_json(client, "/short-urls", {"url": "https://example.org/a"})
    assert r.status_code == 503
    assert "short-URL store is unavailable" in check("POST", "/short-urls", r)["error"]["message"]


def test_wrong_method_is_a_json_405(client: Client) -> None:
    r = client.get("/users")
    assert r.status_code == 405
    assert r.json() == {"error": {"code": "method_not_allowed", "message": "GET is not allowed on /users; use POST"}}
    assert r["Allow"] == "POST"


def test_the_api_is_also_served_under_the_service_prefix(client: Client) -> None:
    # settings.json service is "web": the edge may forward /web/... unchanged.
    user = new_user(client)
    r = client.get(f"/web/users/{user['id']}")
    assert r.status_code == 200 and r.json() == user
    assert client.get("/web/healthz").json() == {"status": "ok"}


def test_an_oversized_body_is_read_and_dropped_within_a_bound() -> None:
    # Unread, the kernel would reset the connection under the 413 (seen over uWSGI's http-socket).
    import io

    from app.api.middleware import DRAIN_MAX, drain

    stream = io.BytesIO(b"x" * 200_000)
    assert drain(stream, 200_000) == 200_000 and stream.read() == b""
    assert drain(io.BytesIO(b"x" * 10), 1_000) == 10  # a short body: what is there
    huge = io.BytesIO(b"x" * (DRAIN_MAX + 10))
    assert drain(huge, DRAIN_MAX + 10) == DRAIN_MAX  # never more than the bound


def test_a_misconfigured_deployment_is_a_json_500_naming_what_is_missing(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    # As seen on the real node: a web service calling RPC whose pod lacked STAGECRAFT_RPC.
    from app import domain
    from app.config import ConfigError

    class Broken:
        def create(self, username: str, display_name: str) -> dict[str, Any]:
            raise ConfigError("STAGECRAFT_RPC is not set: point it at the rpc.json Stagecraft mounts (/etc/stagecraft/rpc.json)")

    monkeypatch.setattr(domain, "accounts", lambda: Broken())
    r = post_json(client, "/users", {"username": f"u{uuid.uuid4().hex[:8]}"})
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "misconfigured"
    assert r.json()["error"]["message"].startswith("this service is misconfigured: STAGECRAFT_RPC is not set")
