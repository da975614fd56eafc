"""A bounded pool of persistent database connections per process (the write-up's djorm-ext-pool).

Under uWSGI + gevent every request is its own greenlet, and Django keeps one connection per
greenlet: with CONN_MAX_AGE alone a worker with 100 async cores could open 100 connections and
leak them when greenlets end. Here Django's "close" hands the connection back to this pool, which
keeps at most `size` open, reuses them (persistent) and replaces those older than `max_age`.
With gevent's monkey patching the lock and condition below are cooperative.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PoolTimeout(Exception):
    """Every connection is in use and none came back in time."""


class Pool(Generic[T]):
    def __init__(
        self,
        connect: Callable[[], T],
        close: Callable[[T], None],
        alive: Callable[[T], bool],
        size: int,
        max_age: float = 300.0,
        checkout_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if size < 1:
            raise ValueError(f"pool size must be at least 1, got {size}")
        self._connect, self._close, self._alive = connect, close, alive
        self.size, self.max_age, self.checkout_timeout = size, max_age, checkout_timeout
        self._clock = clock
        self._idle: list[tuple[T, float]] = []  # (connection, opened at), most recent last
        self._opened: dict[int, float] = {}
        self._cond = threading.Condition()

    @property
    def open_count(self) -> int:
        return len(self._opened)

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    def acquire(self) -> T:
        deadline = self._clock() + self.checkout_timeout
        with self._cond:
            while True:
                while self._idle:
                    conn, opened = self._idle.pop()
                    if self._clock() - opened < self.max_age and self._alive(conn):
                        return conn
                    self._discard(conn)
                if len(self._opened) < self.size:
                    # Reserve the slot before connecting, so concurrent callers never exceed size.
                    placeholder = object()
                    self._opened[id(placeholder)] = self._clock()
                    break
                left = deadline - self._clock()
                if left <= 0 or not self._cond.wait(left):
                    raise PoolTimeout(f"all {self.size} database connections are busy (waited {self.checkout_timeout:.1f}s)")
        try:
            conn = self._connect()
        except BaseException:
            with self._cond:
                del self._opened[id(placeholder)]
                self._cond.notify()
            raise
        with self._cond:
            del self._opened[id(placeholder)]
            self._opened[id(conn)] = self._clock()
        return conn

    def release(self, conn: T) -> None:
        with self._cond:
            opened = self._opened.get(id(conn))
            if opened is None:
                return  # not ours, or already released
            if self._clock() - opened >= self.max_age:
                self._discard(conn)
            else:
                self._idle.append((conn, opened))
            self._cond.notify()

    def discard(self, conn: T) -> None:
        """A broken connection: close it and free its slot."""
        with self._cond:
            if id(conn) in self._opened:
                self._discard(conn)
            self._cond.notify()

    def _discard(self, conn: T) -> None:
        self._opened.pop(id(conn), None)
        try:
            self._close(conn)
        except Exception:  # noqa: BLE001 - a connection that fails to close is gone all the same
            pass

    def close_all(self) -> None:
        with self._cond:
            for conn, _ in self._idle:
                self._discard(conn)
            self._idle.clear()
