"""A push subscriber: one websocket (nchan's or tormq's) held in a background thread, its
messages collected, so a check can subscribe before it acts and then wait for what arrives."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from tornado.websocket import websocket_connect


class Subscriber:
    def __init__(self, url: str, connect_timeout: float = 10.0) -> None:
        self.url = url
        self.messages: queue.Queue[Any] = queue.Queue()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run(connect_timeout)), daemon=True)

    def __enter__(self) -> Subscriber:
        self._thread.start()
        if not self._ready.wait(30):
            raise TimeoutError(f"{self.url}: the websocket did not open within 30 s")
        if self._error is not None:
            raise ConnectionError(f"{self.url}: {self._error}") from self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _run(self, connect_timeout: float) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        try:
            conn = await websocket_connect(self.url, connect_timeout=connect_timeout)
        except Exception as e:  # noqa: BLE001 - handed to the caller in __enter__
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        reader = asyncio.ensure_future(self._read(conn))
        await self._stop.wait()
        conn.close()
        reader.cancel()

    async def _read(self, conn: Any) -> None:
        while True:
            msg = await conn.read_message()
            if msg is None:
                return
            try:
                self.messages.put(json.loads(msg))
            except ValueError:
                self.messages.put(msg)

    def wait_for(self, match: Callable[[Any], bool], timeout: float) -> Any | None:
        """The first message that matches within the timeout, or None."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                m = self.messages.get(timeout=left)
            except queue.Empty:
                return None
            if match(m):
                return m
        return None


def notification_for(post_id: int) -> Callable[[Any], bool]:
    """The backend's notification push for a post (app/notifications/tasks.py deliver)."""

    def match(m: Any) -> bool:
        return isinstance(m, dict) and m.get("type") == "notification" and (m.get("notification") or {}).get("postId") == post_id

    return match
