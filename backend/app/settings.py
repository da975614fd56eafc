"""Django settings, derived from settings.json (STAGECRAFT_SETTINGS) and nothing else.

Which stores the process has, how big its pools are, which services it calls: all from the file
Stagecraft renders. Only the test suite swaps the database and cache for in-process ones.
"""

from __future__ import annotations

import os
from typing import Any

from app.config import Settings, load_settings, secret

STAGECRAFT: Settings = load_settings()

DEBUG = False
# Behind nginx/Kong and probes that use pod IPs: the Host header is not a trust boundary here.
ALLOWED_HOSTS = ["*"]
# Sessions and CSRF are unused (a JSON API authenticated at the gateway); the key still must exist.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "stagecraft-" + STAGECRAFT.service)
ROOT_URLCONF = "app.urls"
WSGI_APPLICATION = "app.wsgi.application"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# An oversized body is refused with 413 before a view sees it (see app.api.middleware).
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "app.accounts",
    "app.posts",
    "app.notifications",
    "app.ops",
]
MIDDLEWARE = ["app.api.middleware.JsonErrors"]

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}


def databases(s: Settings) -> dict[str, Any]:
    db = s.database
    if db is None:
        # A service without a database (an application service that calls data services) still
        # needs an entry for Django; nothing ever connects to it.
        return {"default": {"ENGINE": "django.db.backends.dummy"}}

    def entry(host: str) -> dict[str, Any]:
        return {
            "ENGINE": "app.dbpool",
            "HOST": host,
            "PORT": str(db.port),
            "NAME": db.name,
            "USER": db.user,
            "PASSWORD": secret(db.password_env),
            # The pool (app.dbpool) keeps connections open across requests: Django "closes" a
            # connection at the end of each request by handing it back, so CONN_MAX_AGE is 0
            # and the pool's max_age bounds a connection's life instead.
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "POOL": {"size": db.pool, "max_age": 300, "timeout": 5},
            "OPTIONS": {"charset": "utf8mb4", "connect_timeout": 5, "read_timeout": 30, "write_timeout": 30},
        }

    out = {"default": entry(db.host)}
    if db.reads_replicas:
        out["replica"] = entry(db.read_host) | {"TEST": {"MIRROR": "default"}}
    return out


def caches(s: Settings) -> dict[str, Any]:
    c = s.cache
    if c is None:
        return {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://{c.host}:{c.port}/{c.db}",
            "KEY_PREFIX": c.prefix,
            "TIMEOUT": 300,
            "OPTIONS": {
                # redis-py's pool, bounded at the size Stagecraft renders; a full pool waits
                # (BlockingConnectionPool) rather than failing the request at once.
                "pool_class": "redis.BlockingConnectionPool",
                "max_connections": c.pool,
                "timeout": 5,
                "password": secret(c.password_env) or None,
                "socket_connect_timeout": 2,
                "socket_timeout": 2,
            },
        }
    }


DATABASES = databases(STAGECRAFT)
DATABASE_ROUTERS = ["app.dbrouter.ReplicaRouter"]
CACHES = caches(STAGECRAFT)
