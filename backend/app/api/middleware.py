"""Every error leaves as JSON with a status and a clear message; nothing the client sends can
turn into a 500. Unexpected failures of stores are 503 (retry later), not 500."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse

from app.config import ConfigError
from app.errors import ApiError, MethodNotAllowed, NotFound, TooLarge, Unavailable

log = logging.getLogger("app.api")

# An oversized body is read and dropped before the 413 goes out, up to this much (above the edge's
# client_max_body_size, 10m in the stacks): a server that answers and closes with the body unread
# makes the kernel reset the connection, and the client (or Nginx, mid-upload) sees a reset
# instead of the 413. Beyond it the connection is closed unread.
DRAIN_MAX = 16 * 1024 * 1024
DRAIN_CHUNK = 64 * 1024


def drain(stream: Any, length: int) -> int:
    """Reads and drops up to `length` bytes (at most DRAIN_MAX) of a request body; returns how many."""
    left, done = min(length, DRAIN_MAX), 0
    while left > 0:
        chunk = stream.read(min(DRAIN_CHUNK, left))
        if not chunk:
            break
        done += len(chunk)
        left -= len(chunk)
    return done


def error_response(e: ApiError) -> JsonResponse:
    return JsonResponse({"error": {"code": e.code, "message": e.message}}, status=e.status)


class JsonErrors:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.conf import settings

        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            drain(request.META["wsgi.input"], length)
            return error_response(TooLarge(f"request body is {length} bytes; the limit is {limit}"))
        response = self.get_response(request)
        if response.status_code == 404 and not isinstance(response, JsonResponse):
            return error_response(NotFound(f"no route for {request.method} {request.path}"))
        if response.status_code == 405 and not isinstance(response, JsonResponse):
            allowed = response.get("Allow", "")
            resp = error_response(MethodNotAllowed(f"{request.method} is not allowed on {request.path}; use {allowed}"))
            resp["Allow"] = allowed
            return resp
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if isinstance(exc, ApiError):
            return error_response(exc)
        if isinstance(exc, RequestDataTooBig):
            return error_response(TooLarge(str(exc)))
        if isinstance(exc, DatabaseError):
            log.warning("database error on %s %s: %s", request.method, request.path, exc)
            return error_response(Unavailable("the database is unavailable; retry later"))
        if isinstance(exc, ConfigError):
            # The deployment's fault, not the client's: still JSON, and saying what is missing.
            log.error("misconfigured: %s %s: %s", request.method, request.path, exc)
            return JsonResponse({"error": {"code": "misconfigured", "message": f"this service is misconfigured: {exc}"}}, status=500)
        return None
