"""Errors that cross layers (views, HTTP calls, RPC) and the HTTP status each one maps to."""

from __future__ import annotations


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(ApiError):
    status, code = 400, "bad_input"


class NotFound(ApiError):
    status, code = 404, "not_found"


class MethodNotAllowed(ApiError):
    status, code = 405, "method_not_allowed"


class Conflict(ApiError):
    status, code = 409, "conflict"


class TooLarge(ApiError):
    status, code = 413, "too_large"


class RateLimited(ApiError):
    status, code = 429, "rate_limited"


class Unavailable(ApiError):
    """A store or callee is down or too slow: retryable, so 503 and never a 500."""

    status, code = 503, "unavailable"


BY_CODE: dict[str, type[ApiError]] = {
    c.code: c for c in (ApiError, BadInput, NotFound, MethodNotAllowed, Conflict, TooLarge, RateLimited, Unavailable)
}


def from_code(code: str, message: str) -> ApiError:
    """Rebuild an error a callee reported (HTTP body or RPC reply)."""
    return BY_CODE.get(code, Unavailable)(message)
