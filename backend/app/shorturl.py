"""Writes short codes where the OpenResty short-URL service reads them (components/app/openrestyConf.ts:
key `<prefix><code>` in its Redis DB, value an absolute http(s) URL)."""

from __future__ import annotations

import secrets
import string
from functools import cache

import redis

from app.config import Settings, secret

ALPHABET = string.ascii_letters + string.digits
CODE_LEN = 8


@cache
def _client(host: str, port: int, db: int, password_env: str, pool: int) -> redis.Redis:
    return redis.Redis(
        connection_pool=redis.BlockingConnectionPool(  # type: ignore[no-untyped-call]
            host=host, port=port, db=db, password=secret(password_env) or None, max_connections=pool, timeout=5, socket_timeout=2
        )
    )


def shorten(s: Settings, url: str) -> str:
    assert s.short_url is not None and s.cache is not None
    c = s.cache
    client = _client(c.host, c.port, s.short_url.db, c.password_env, c.pool)
    try:
        for _ in range(5):
            code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LEN))
            # NX: never overwrite another URL's code.
            if client.set(s.short_url.prefix + code, url, nx=True):
                return code
    except redis.RedisError as e:
        raise ConnectionError(str(e)) from e
    raise ConnectionError("no free short code after 5 tries")
