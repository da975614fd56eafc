"""settings.json, as Stagecraft renders it (components/app/appSettings.ts), read and checked.

The file says which role the code plays: which stores it owns, which services it calls and how,
where it pushes. Nothing here looks at a stage's name. Passwords are never in the file, only the
names of the environment variables that hold them.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Literal


class ConfigError(ValueError):
    """settings.json or rpc.json is missing, malformed or inconsistent; the message names the field."""


@dataclass(frozen=True)
class Adopt:
    """Tables of Django apps `apps` that this service takes over from schema `source` (a stage move)."""

    source: str
    apps: tuple[str, ...]


@dataclass(frozen=True)
class Database:
    host: str
    read_host: str
    port: int
    name: str
    user: str
    pool: int
    password_env: str
    adopt: tuple[Adopt, ...] = ()

    @property
    def reads_replicas(self) -> bool:
        return self.read_host != self.host


@dataclass(frozen=True)
class Cache:
    host: str
    port: int
    db: int
    prefix: str
    pool: int
    password_env: str


@dataclass(frozen=True)
class Celery:
    broker_db: int
    queues: tuple[str, ...]


@dataclass(frozen=True)
class Call:
    protocol: Literal["http", "rpc"]
    url: str | None


@dataclass(frozen=True)
class Push:
    kind: Literal["nchan", "tormq"]
    publish_url: str


@dataclass(frozen=True)
class Context:
    name: str
    aggregate_root: str


@dataclass(frozen=True)
class ShortUrl:
    """Where short codes are written: `<prefix><code>` in Redis DB `db`, where OpenResty reads them."""

    db: int
    prefix: str


@dataclass(frozen=True)
class Settings:
    service: str
    layer: Literal["app", "data"]
    database: Database | None
    cache: Cache | None
    celery: Celery | None
    calls: dict[str, Call] = field(default_factory=dict)
    push: Push | None = None
    contexts: tuple[Context, ...] | None = None
    short_url: ShortUrl | None = None


def _get(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise ConfigError(f"{where}.{key} is missing")
    value = obj[key]
    # bool is an int in Python: refuse it where a number is meant.
    if isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"{where}.{key} must be {_kind_name(kind)}, got {value!r}")
    if not isinstance(value, kind):
        raise ConfigError(f"{where}.{key} must be {_kind_name(kind)}, got {value!r}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", int: "a whole number", dict: "an object", list: "a list", bool: "true/false"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _port(obj: dict[str, Any], key: str, where: str) -> int:
    value: int = _get(obj, key, int, where)
    if not 1 <= value <= 65535:
        raise ConfigError(f"{where}.{key} must be a TCP port (1-65535), got {value}")
    return value


def _positive(obj: dict[str, Any], key: str, where: str) -> int:
    value: int = _get(obj, key, int, where)
    if value < 1:
        raise ConfigError(f"{where}.{key} must be at least 1, got {value}")
    return value


def _redis_db(obj: dict[str, Any], key: str, where: str) -> int:
    value: int = _get(obj, key, int, where)
    if not 0 <= value <= 15:
        raise ConfigError(f"{where}.{key} must be a Redis DB number 0-15, got {value}")
    return value


_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


def _adopt(d: dict[str, Any], where: str) -> tuple[Adopt, ...]:
    if d.get("adopt") is None:
        return ()
    out = []
    for i, a in enumerate(_get(d, "adopt", list, where)):
        w = f"{where}.adopt[{i}]"
        if not isinstance(a, dict):
            raise ConfigError(f"{w} must be an object")
        source = _get(a, "from", str, w)
        apps = _get(a, "apps", list, w)
        for name in [source, *apps]:
            if not isinstance(name, str) or not _IDENT.match(name):
                raise ConfigError(f"{w}: {name!r} is not a schema name or app label (lower case, digits, '_')")
        if not apps:
            raise ConfigError(f"{w}.apps must name at least one app")
        out.append(Adopt(source, tuple(apps)))
    return tuple(out)


def parse_settings(raw: Any, source: str = "settings.json") -> Settings:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be an object")
    w = source
    layer = _get(raw, "layer", str, w)
    if layer not in ("app", "data"):
        raise ConfigError(f"{w}.layer must be 'app' or 'data', got {layer!r}")
    database = None
    if raw.get("database") is not None:
        d = _get(raw, "database", dict, w)
        dw = f"{w}.database"
        database = Database(
            host=_get(d, "host", str, dw),
            read_host=_get(d, "readHost", str, dw),
            port=_port(d, "port", dw),
            name=_get(d, "name", str, dw),
            user=_get(d, "user", str, dw),
            pool=_positive(d, "pool", dw),
            password_env=_get(d, "passwordEnv", str, dw),
            adopt=_adopt(d, dw),
        )
    cache = None
    if raw.get("cache") is not None:
        c = _get(raw, "cache", dict, w)
        cw = f"{w}.cache"
        cache = Cache(
            host=_get(c, "host", str, cw),
            port=_port(c, "port", cw),
            db=_redis_db(c, "db", cw),
            prefix=_get(c, "prefix", str, cw),
            pool=_positive(c, "pool", cw),
            password_env=_get(c, "passwordEnv", str, cw),
        )
    celery = None
    if raw.get("celery") is not None:
        c = _get(raw, "celery", dict, w)
        queues = _get(c, "queues", list, f"{w}.celery")
        if not all(isinstance(q, str) and q for q in queues):
            raise ConfigError(f"{w}.celery.queues must be a list of queue names, got {queues!r}")
        celery = Celery(broker_db=_redis_db(c, "brokerDb", f"{w}.celery"), queues=tuple(queues))
        if cache is None:
            raise ConfigError(f"{w}.celery is set but {w}.cache is not: the broker lives on the cache's Redis")
    calls: dict[str, Call] = {}
    for name, call in _get(raw, "calls", dict, w).items():
        cw = f"{w}.calls.{name}"
        if not isinstance(call, dict):
            raise ConfigError(f"{cw} must be an object")
        protocol = _get(call, "protocol", str, cw)
        if protocol == "http":
            url = _get(call, "url", str, cw)
            if not url.startswith("http://") and not url.startswith("https://"):
                raise ConfigError(f"{cw}.url must be an http(s) URL, got {url!r}")
            calls[name] = Call("http", url.rstrip("/"))
        elif protocol == "rpc":
            calls[name] = Call("rpc", None)
        else:
            raise ConfigError(f"{cw}.protocol must be 'http' or 'rpc', got {protocol!r}")
    push = None
    if raw.get("push") is not None:
        p = _get(raw, "push", dict, w)
        kind = _get(p, "kind", str, f"{w}.push")
        url = _get(p, "publishUrl", str, f"{w}.push")
        if kind == "nchan" and not url.startswith("http://"):
            raise ConfigError(f"{w}.push.publishUrl must be http://… for nchan, got {url!r}")
        if kind == "tormq" and not url.startswith("tcp://"):
            raise ConfigError(f"{w}.push.publishUrl must be tcp://host:port for tormq, got {url!r}")
        if kind not in ("nchan", "tormq"):
            raise ConfigError(f"{w}.push.kind must be 'nchan' or 'tormq', got {kind!r}")
        push = Push(kind, url.rstrip("/"))
    contexts = None
    if raw.get("contexts") is not None:
        items = _get(raw, "contexts", list, w)
        contexts = tuple(
            Context(_get(c, "name", str, f"{w}.contexts[{i}]"), _get(c, "aggregateRoot", str, f"{w}.contexts[{i}]"))
            for i, c in enumerate(items)
        )
    short_url = None
    if raw.get("shortUrl") is not None:
        s = _get(raw, "shortUrl", dict, w)
        short_url = ShortUrl(db=_redis_db(s, "db", f"{w}.shortUrl"), prefix=_get(s, "prefix", str, f"{w}.shortUrl"))
        if cache is None:
            raise ConfigError(f"{w}.shortUrl is set but {w}.cache is not: short codes are written to the cache's Redis")
    return Settings(
        service=_get(raw, "service", str, w),
        layer=layer,
        database=database,
        cache=cache,
        celery=celery,
        calls=calls,
        push=push,
        contexts=contexts,
        short_url=short_url,
    )


SETTINGS_ENV = "STAGECRAFT_SETTINGS"


def load_settings(path: str | None = None) -> Settings:
    path = path or os.environ.get(SETTINGS_ENV)
    if not path:
        raise ConfigError(f"{SETTINGS_ENV} is not set: point it at the settings.json Stagecraft mounts (/etc/stagecraft/settings.json)")
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except OSError as e:
        raise ConfigError(f"{SETTINGS_ENV}={path}: cannot read it ({e.strerror})") from e
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: not JSON ({e.msg} at line {e.lineno})") from e
    return parse_settings(raw, path)


def secret(env: str) -> str:
    """A password from the environment variable settings.json names; empty when auth is off."""
    return os.environ.get(env, "")
