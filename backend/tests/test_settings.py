"""settings.json -> Settings -> Django settings: the role comes from the file, with clear errors."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from app import domain
from app.config import ConfigError, load_settings, parse_settings
from app.dbrouter import ReplicaRouter
from app.settings import caches, databases
from tests.conftest import MVC_SETTINGS, TMP


def variant(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(MVC_SETTINGS)
    raw.update(changes)
    return raw


def test_monolith_settings() -> None:
    s = parse_settings(MVC_SETTINGS)
    assert s.service == "web" and s.database is not None and not s.database.reads_replicas
    dbs = databases(s)
    assert set(dbs) == {"default"}
    assert dbs["default"]["ENGINE"] == "app.dbpool" and dbs["default"]["POOL"]["size"] == 5
    cache = caches(s)["default"]
    assert cache["LOCATION"] == "redis://redis.stagecraft.svc.cluster.local:6379/0"
    assert cache["KEY_PREFIX"] == "web:" and cache["OPTIONS"]["max_connections"] == 10
    assert isinstance(domain.accounts_for(s), domain.LocalAccounts) and isinstance(domain.posts_for(s), domain.LocalPosts)


def test_replica_reads_when_read_host_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = variant()
    raw["database"]["readHost"] = "mysql-read.stagecraft.svc.cluster.local"
    s = parse_settings(raw)
    dbs = databases(s)
    assert dbs["replica"]["HOST"] == "mysql-read.stagecraft.svc.cluster.local" and dbs["default"]["HOST"].startswith("mysql.")
    router = ReplicaRouter()
    from django.conf import settings

    monkeypatch.setattr(settings, "DATABASES", dbs)
    assert (router.db_for_read(None), router.db_for_write(None)) == ("replica", "default")
    assert router.allow_migrate("replica", "posts") is False and router.allow_migrate("default", "posts") is True
    monkeypatch.setattr(settings, "DATABASES", databases(parse_settings(MVC_SETTINGS)))
    assert router.db_for_read(None) == "default"


def test_passwords_come_from_the_named_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_PASSWORD", "db-pw")
    monkeypatch.setenv("REDIS_PASSWORD", "redis-pw")
    s = parse_settings(MVC_SETTINGS)
    assert databases(s)["default"]["PASSWORD"] == "db-pw"
    assert caches(s)["default"]["OPTIONS"]["password"] == "redis-pw"


def test_roles_follow_calls_not_stage_names() -> None:
    split_web = parse_settings(
        variant(
            calls={
                "account": {"protocol": "http", "url": "http://account.stagecraft.svc.cluster.local:8000"},
                "feed": {"protocol": "http", "url": "http://feed.stagecraft.svc.cluster.local:8000"},
            }
        )
    )
    assert type(domain.accounts_for(split_web)).__name__ == "HttpAccounts"
    assert type(domain.posts_for(split_web)).__name__ == "HttpPosts"
    ddd_web = parse_settings(variant(database=None, calls={"user-data": {"protocol": "rpc"}, "content-data": {"protocol": "rpc"}}))
    assert type(domain.accounts_for(ddd_web)).__name__ == "RpcAccounts"
    assert type(domain.posts_for(ddd_web)).__name__ == "RpcPosts"
    assert databases(ddd_web) == {"default": {"ENGINE": "django.db.backends.dummy"}}
    lonely = parse_settings(variant(database=None, calls={}))
    with pytest.raises(ConfigError, match="has no database and calls none of"):
        domain.accounts_for(lonely)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"layer": "edge"}, "settings.json.layer must be 'app' or 'data'"),
        ({"calls": {"feed": {"protocol": "grpc"}}}, "settings.json.calls.feed.protocol must be 'http' or 'rpc'"),
        ({"calls": {"feed": {"protocol": "http"}}}, "settings.json.calls.feed.url is missing"),
        ({"push": {"kind": "tormq", "publishUrl": "http://push:5556"}}, "publishUrl must be tcp://host:port for tormq"),
        ({"cache": None}, "settings.json.celery is set but settings.json.cache is not"),
    ],
)
def test_bad_settings_name_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        parse_settings(variant(**change))


def test_bad_nested_settings_name_the_field() -> None:
    raw = variant()
    raw["database"]["pool"] = 0
    with pytest.raises(ConfigError, match=r"settings.json.database.pool must be at least 1, got 0"):
        parse_settings(raw)
    raw = variant()
    raw["cache"]["db"] = 16
    with pytest.raises(ConfigError, match=r"settings.json.cache.db must be a Redis DB number 0-15, got 16"):
        parse_settings(raw)
    raw = variant()
    raw["database"]["port"] = True
    with pytest.raises(ConfigError, match="port must be a whole number, got True"):
        parse_settings(raw)


def test_load_settings_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STAGECRAFT_SETTINGS")
    with pytest.raises(ConfigError, match="STAGECRAFT_SETTINGS is not set"):
        load_settings()
    bad = TMP / "bad.json"
    bad.write_text("{")
    with pytest.raises(ConfigError, match="not JSON"):
        load_settings(str(bad))
    good = TMP / "good.json"
    good.write_text(json.dumps(MVC_SETTINGS))
    assert load_settings(str(good)).service == "web"
