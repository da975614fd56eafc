"""HTTP calls to other services (split), by the URL settings.json gives each callee, with a
timeout per attempt and a bounded number of retries.

A GET is retried on a connection error, a timeout or a 5xx. A POST is retried only when the
connection was refused (the request never left), so a write is never applied twice.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from app.config import Settings
from app.errors import ApiError, Unavailable, from_code

TIMEOUT_S = 2.0
RETRIES = 2
BACKOFF_S = 0.05


class HttpCaller:
    def __init__(self, s: Settings, callee: str, timeout: float = TIMEOUT_S, retries: int = RETRIES) -> None:
        call = s.calls.get(callee)
        if call is None or call.protocol != "http" or call.url is None:
            raise ValueError(f"service {s.service} has no HTTP call to '{callee}' in settings.json calls")
        self.callee, self.base, self.timeout, self.retries = callee, call.url, timeout, retries

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(BACKOFF_S * attempt)
            req = urllib.request.Request(self.base + path, data=data, method=method)
            req.add_header("Accept", "application/json")
            if data is not None:
                req.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return json.loads(resp.read() or b"null")
            except urllib.error.HTTPError as e:
                payload = _error_body(e)
                if e.code < 500:
                    # The callee's own verdict on our input: pass it on, never retry it.
                    raise from_code(payload.get("code", "bad_request"), payload.get("message", f"{self.callee}: HTTP {e.code}")) from e
                last = e
                if method != "GET":
                    break
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                last = e
                refused = isinstance(getattr(e, "reason", e), ConnectionRefusedError)
                if method != "GET" and not refused:
                    break
        raise Unavailable(f"service {self.callee} did not answer {method} {path} after {attempt + 1} attempt(s): {last}")


def _error_body(e: urllib.error.HTTPError) -> dict[str, str]:
    try:
        body = json.loads(e.read() or b"{}")
        err = body.get("error", {}) if isinstance(body, dict) else {}
        return err if isinstance(err, dict) else {}
    except (ValueError, OSError):
        return {}


__all__ = ["ApiError", "HttpCaller"]
