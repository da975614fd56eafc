"""A small HTTP client for the checks: JSON in and out, no redirects followed (a short URL's
redirect is what is checked), bounded retries only where a request cannot have been applied."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    # The connection broke before the whole body arrived (what came is in `body`).
    incomplete: bool = False

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def error_message(self) -> str:
        """The backend's `{"error": {"code", "message"}}` message, or the raw body's start."""
        doc = self.json()
        if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
            return f"{doc['error'].get('code')}: {doc['error'].get('message')}"
        return self.body[:200].decode(errors="replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _never_sent(e: BaseException) -> bool:
    """The connection was refused or never made: a write cannot have been applied."""
    reason = getattr(e, "reason", e)
    return isinstance(reason, ConnectionRefusedError)


class Client:
    def __init__(self, timeout: float = 10.0, attempts: int = 5, pause: float = 0.5, sleep: Callable[[float], None] = time.sleep) -> None:
        self.timeout, self.attempts, self.pause, self.sleep = timeout, attempts, pause, sleep
        self.opener = urllib.request.build_opener(_NoRedirect)

    def request(
        self, method: str, url: str, body: Any = None, raw: bytes | None = None, content_type: str = "application/json"
    ) -> Response:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Content-Type": content_type} if data is not None else {}
        last: BaseException | None = None
        for i in range(self.attempts):
            req = urllib.request.Request(url, data=data, method=method, headers=headers)
            try:
                with self.opener.open(req, timeout=self.timeout) as r:
                    return Response(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
            except urllib.error.HTTPError as e:
                headers = {k.lower(): v for k, v in e.headers.items()}
                try:
                    return Response(e.code, headers, e.read())
                except http.client.IncompleteRead as cut:
                    return Response(e.code, headers, cut.partial, incomplete=True)
            except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
                # Retried: reads always (a Service's first moments, trap 9), writes only if never sent.
                last = e
                if method != "GET" and not _never_sent(e):
                    raise
                self.sleep(self.pause * (i + 1))
        raise ConnectionError(f"{method} {url}: no answer after {self.attempts} attempts ({last})")

    def get(self, url: str) -> Response:
        return self.request("GET", url)

    def post(self, url: str, body: Any) -> Response:
        return self.request("POST", url, body)
