"""The HTTP API (described by app/api/openapi.json). Every input is checked before any store is
touched; errors are ApiErrors, rendered by the middleware."""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from app import domain
from app.api.openapi import document
from app.errors import BadInput, NotFound, Unavailable

USERNAME = re.compile(r"^[a-z0-9_]{3,32}$")
FEED_TTL_S = 30


def _json_body(request: HttpRequest) -> dict[str, Any]:
    ctype = request.content_type or ""
    if ctype != "application/json":
        raise BadInput(f"Content-Type must be application/json, got '{ctype or 'none'}'")
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError) as e:
        raise BadInput(f"malformed JSON body: {e}") from e
    if not isinstance(body, dict):
        raise BadInput("the JSON body must be an object")
    return body


def _field(body: dict[str, Any], key: str, kind: type, required: bool = True) -> Any:
    if key not in body:
        if required:
            raise BadInput(f"field '{key}' is required")
        return None
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise BadInput(f"field '{key}' must be {'a string' if kind is str else 'an integer'}, got {json.dumps(value)}")
    return value


def _int_param(request: HttpRequest, key: str, default: int | None, lo: int, hi: int) -> int:
    raw = request.GET.get(key)
    if raw is None:
        if default is None:
            raise BadInput(f"query parameter '{key}' is required")
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise BadInput(f"query parameter '{key}' must be a whole number {lo}-{hi}, got '{raw}'")
    return int(raw)


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> HttpResponse:
    """Ready when the database answers (a service without one is ready when it is up)."""
    if settings.STAGECRAFT.database is None:
        return JsonResponse({"status": "ok", "database": "none"})
    try:
        with connections["default"].cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
    except DatabaseError as e:
        return JsonResponse({"status": "unavailable", "database": str(e)[:200]}, status=503)
    finally:
        # Hand the connection back to the pool now: probes must not hold one.
        connections["default"].close()
    return JsonResponse({"status": "ok", "database": "ok"})


def openapi(request: HttpRequest) -> HttpResponse:
    return JsonResponse(document())


@csrf_exempt
@require_http_methods(["POST"])
def users(request: HttpRequest) -> HttpResponse:
    body = _json_body(request)
    username = _field(body, "username", str)
    if not USERNAME.match(username):
        raise BadInput(f"field 'username' must be 3-32 of a-z, 0-9, '_', got {json.dumps(username)}")
    display = _field(body, "displayName", str, required=False) or ""
    if len(display) > domain.DISPLAY_MAX:
        raise BadInput(f"field 'displayName' must be at most {domain.DISPLAY_MAX} characters")
    return JsonResponse(domain.accounts().create(username, display), status=201)


@require_GET
def user(request: HttpRequest, user_id: int) -> HttpResponse:
    return JsonResponse(domain.accounts().get(user_id))


@csrf_exempt
@require_http_methods(["POST"])
def create_post(request: HttpRequest) -> HttpResponse:
    body = _json_body(request)
    author = _field(body, "userId", int)
    text = _field(body, "body", str)
    if not 1 <= len(text) <= domain.BODY_MAX:
        raise BadInput(f"field 'body' must be 1-{domain.BODY_MAX} characters, got {len(text)}")
    try:
        domain.accounts().get(author)
    except NotFound as e:
        raise NotFound(f"user {author} not found: a post needs an existing author") from e
    post = domain.posts().create(author, text)
    _forget_feed()
    return JsonResponse(post, status=201)


@require_GET
def post(request: HttpRequest, post_id: int) -> HttpResponse:
    return JsonResponse(domain.posts().get(post_id))


def _feed_key(limit: int) -> str:
    return f"feed:{limit}"


def _forget_feed() -> None:
    try:
        cache.delete_many([_feed_key(n) for n in (10, 20, 50, 100)])
    except Exception:  # noqa: BLE001 - a cache that is down only makes the feed stale for FEED_TTL_S
        pass


@require_GET
def feed(request: HttpRequest) -> HttpResponse:
    limit = _int_param(request, "limit", 20, 1, 100)
    key = _feed_key(limit)
    try:
        hit = cache.get(key)
    except Exception:  # noqa: BLE001 - the cache is an optimisation: read through when it is down
        hit = None
    if hit is not None:
        resp = JsonResponse({"posts": hit, "cached": True})
    else:
        posts = domain.posts().feed(limit)
        try:
            cache.set(key, posts, FEED_TTL_S)
        except Exception:  # noqa: BLE001
            pass
        resp = JsonResponse({"posts": posts, "cached": False})
    resp["X-Cache"] = "hit" if hit is not None else "miss"
    return resp


@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    user_id = _int_param(request, "userId", None, 1, 2**62)
    return JsonResponse({"notifications": domain.posts().notifications(user_id)})


@csrf_exempt
@require_http_methods(["POST"])
def short_urls(request: HttpRequest) -> HttpResponse:
    body = _json_body(request)
    url = _field(body, "url", str)
    if not re.match(r"^https?://[^\s]{1,2000}$", url):
        raise BadInput("field 'url' must be an absolute http(s) URL without spaces, at most 2000 characters")
    from app.shorturl import shorten

    s = settings.STAGECRAFT
    if s.short_url is None or s.cache is None:
        raise NotFound(f"service {s.service} writes no short URLs (settings.json has no shortUrl)")
    try:
        code = shorten(s, url)
    except ConnectionError as e:
        raise Unavailable(f"the short-URL store is unavailable: {e}") from e
    return JsonResponse({"code": code, "url": url}, status=201)
