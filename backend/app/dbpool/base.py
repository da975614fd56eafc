"""ENGINE "app.dbpool": Django's MySQL backend whose connections come from, and go back to, Pool."""

from __future__ import annotations

import threading
from typing import Any

import pymysql

pymysql.install_as_MySQLdb()

from django.db.backends.mysql import base as mysql_base  # noqa: E402 - after install_as_MySQLdb

from .pool import Pool, PoolTimeout  # noqa: E402

_pools: dict[str, Pool[Any]] = {}
_pools_lock = threading.Lock()


class PooledConnection:
    """The raw connection as Django sees it: close() returns it to the pool."""

    def __init__(self, raw: Any, pool: Pool[Any]) -> None:
        self._raw, self._pool, self._done = raw, pool, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            # Never hand the next user an open transaction.
            self._raw.rollback()
        except Exception:  # noqa: BLE001 - broken: drop it instead of pooling it
            self._pool.discard(self._raw)
            return
        self._pool.release(self._raw)


def _alive(raw: Any) -> bool:
    try:
        raw.ping(reconnect=False)
        return True
    except Exception:  # noqa: BLE001
        return False


def pool_for(key: str, params: dict[str, Any], size: int, max_age: float, timeout: float) -> Pool[Any]:
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = Pool(
                connect=lambda: mysql_base.Database.connect(**params),
                close=lambda c: c.close(),
                alive=_alive,
                size=size,
                max_age=max_age,
                checkout_timeout=timeout,
            )
            _pools[key] = pool
        return pool


class DatabaseWrapper(mysql_base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        opts = self.settings_dict.get("POOL", {})
        key = f"{self.alias}:{conn_params.get('host')}:{conn_params.get('port')}:{conn_params.get('database')}"
        pool = pool_for(key, conn_params, int(opts.get("size", 5)), float(opts.get("max_age", 300)), float(opts.get("timeout", 5)))
        try:
            raw = pool.acquire()
        except PoolTimeout as e:
            raise mysql_base.Database.OperationalError(str(e)) from e
        return PooledConnection(raw, pool)
