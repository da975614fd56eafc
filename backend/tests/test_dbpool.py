"""The per-process connection pool behind ENGINE app.dbpool, with fake connections."""

from __future__ import annotations

import threading
import time

import pytest

from app.dbpool.pool import Pool, PoolTimeout


class Conn:
    opened = 0

    def __init__(self) -> None:
        Conn.opened += 1
        self.n, self.closed, self.alive = Conn.opened, False, True


def make(size: int = 2, **kw: object) -> Pool[Conn]:
    return Pool(Conn, lambda c: setattr(c, "closed", True), lambda c: c.alive, size=size, **kw)  # type: ignore[arg-type]


def test_reuses_connections_persistently() -> None:
    pool = make()
    a = pool.acquire()
    pool.release(a)
    assert pool.acquire() is a
    assert pool.open_count == 1


def test_never_opens_more_than_size_and_waits_then_times_out() -> None:
    pool = make(size=2, checkout_timeout=0.2)
    a, b = pool.acquire(), pool.acquire()
    t0 = time.monotonic()
    with pytest.raises(PoolTimeout, match="all 2 database connections are busy"):
        pool.acquire()
    assert time.monotonic() - t0 >= 0.19
    # A release wakes a waiter, which gets the released connection.
    got: list[Conn] = []
    t = threading.Thread(target=lambda: got.append(pool.acquire()))
    t.start()
    time.sleep(0.05)
    pool.release(a)
    t.join(2)
    assert got == [a] and pool.open_count == 2
    pool.release(b)


def test_dead_and_old_connections_are_replaced() -> None:
    now = [0.0]
    pool = make(size=1, max_age=60, clock=lambda: now[0])
    a = pool.acquire()
    pool.release(a)
    a.alive = False
    b = pool.acquire()
    assert b is not a and a.closed
    pool.release(b)
    now[0] = 61.0
    c = pool.acquire()
    assert c is not b and b.closed and pool.open_count == 1


def test_a_failed_connect_frees_its_slot() -> None:
    calls = [0]

    def connect() -> Conn:
        calls[0] += 1
        if calls[0] == 1:
            raise ConnectionError("refused")
        return Conn()

    pool: Pool[Conn] = Pool(connect, lambda c: None, lambda c: True, size=1, checkout_timeout=0.1)
    with pytest.raises(ConnectionError):
        pool.acquire()
    assert pool.open_count == 0
    assert isinstance(pool.acquire(), Conn)


def test_discard_frees_the_slot() -> None:
    pool = make(size=1, checkout_timeout=0.1)
    a = pool.acquire()
    pool.discard(a)
    assert a.closed and pool.open_count == 0
    assert pool.acquire() is not a


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        make(size=0)
