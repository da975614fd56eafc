"""The stores and the worker role against a real Redis (Debian's redis-server on 127.0.0.1):
Django's cache through redis-py's bounded pool, the short-URL writer, and the real
`celery -A app.celery worker -P gevent …` command (as components/app/celeryCommand.ts renders it)
taking a task off the broker DB and leaving its effect."""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from app.config import parse_settings
from app.settings import caches
from tests.conftest import MVC_SETTINGS, TMP
from tests.servers import capture_http, redis_server

BACKEND = Path(__file__).resolve().parent.parent


def local_settings(port: int, **extra: object) -> dict[str, object]:
    raw = copy.deepcopy(MVC_SETTINGS)
    raw["cache"].update(host="127.0.0.1", port=port)
    raw.update(extra)
    return raw


def test_django_cache_over_redis_with_the_rendered_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.cache.backends.redis import RedisCache

    monkeypatch.setenv("REDIS_PASSWORD", "s3cret")
    with redis_server() as port:
        conf = caches(parse_settings(local_settings(port)))["default"]
        cache = RedisCache(conf["LOCATION"], {k: v for k, v in conf.items() if k != "LOCATION"})
        cache.set("feed:20", [{"id": 1}], 30)
        assert cache.get("feed:20") == [{"id": 1}]
        raw = redis.Redis(port=port, password="s3cret", db=0)
        # The key carries the service's prefix (settings.json cache.prefix).
        keys: list[bytes] = raw.keys("*")  # type: ignore[assignment]
        assert next(k for k in keys if b"feed:20" in k).startswith(b"web:")
        pool = cache._cache.get_client().connection_pool
        assert type(pool).__name__ == "BlockingConnectionPool" and pool.max_connections == 10


def test_short_urls_land_where_openresty_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.shorturl import shorten

    monkeypatch.setenv("REDIS_PASSWORD", "s3cret")
    with redis_server() as port:
        s = parse_settings(local_settings(port))
        code = shorten(s, "https://example.org/long/path")
        assert redis.Redis(port=port, password="s3cret", db=1).get(f"shorturl:{code}") == b"https://example.org/long/path"
        assert len(code) == 8 and code.isalnum()


def test_the_worker_command_runs_a_task_from_the_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_PASSWORD", "s3cret")
    with redis_server() as port, capture_http() as (nchan, received):
        settings_path = TMP / f"worker-{port}.json"
        settings_path.write_text(json.dumps(local_settings(port, push={"kind": "nchan", "publishUrl": nchan + "/pub"})))
        env = {
            **os.environ,
            "STAGECRAFT_SETTINGS": str(settings_path),
            "DJANGO_SETTINGS_MODULE": "tests.django_settings",
            "PYTHONPATH": str(BACKEND),
        }
        celery = [sys.executable, "-m", "celery"]
        # celeryWorkerArgs (components/app/celeryCommand.ts) with concurrency 4 and this test's node name.
        args = ["-A", "app.celery", "worker", "-P", "gevent", "-c", "4", "-Q", "default", "-n", "celery@test"]
        args += ["--without-mingle", "--without-gossip", "--loglevel", "INFO"]
        worker = subprocess.Popen([*celery, *args], cwd=BACKEND, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            from app.celery import make_app

            producer = make_app(parse_settings(local_settings(port)))
            post = {"id": 424242, "authorId": 4242, "body": "via the broker", "createdAt": "2026-01-01T00:00:00+00:00"}
            producer.send_task("notifications.announce", args=[post], queue="default")
            # The job waits in the broker DB (15), apart from the cache DB (0).
            db = sqlite3.connect(os.environ["STAGECRAFT_TEST_DB"])
            deadline = time.monotonic() + 60
            rows: list[tuple[int, str]] = []
            while time.monotonic() < deadline and not rows:
                rows = db.execute("SELECT post_id, text FROM notifications_notification WHERE post_id = 424242").fetchall()
                time.sleep(0.2)
            db.close()
            assert rows == [(424242, "post 424242 published")]
            assert sorted(p for _, p, _ in received) == ["/pub/feed", "/pub/user.4242"]
            # The probe's command: the worker answers a ping over the broker.
            ping = subprocess.run(
                [*celery, "-A", "app.celery", "inspect", "ping", "--destination", "celery@test", "--timeout", "10"],
                cwd=BACKEND,
                env=env,
                capture_output=True,
                timeout=60,
            )
            assert ping.returncode == 0, ping.stdout + ping.stderr
            stats = subprocess.run(
                [*celery, "-A", "app.celery", "inspect", "stats", "--destination", "celery@test", "--timeout", "10"],
                cwd=BACKEND,
                env=env,
                capture_output=True,
                timeout=60,
            )
            assert b"celery.concurrency.gevent:TaskPool" in stats.stdout, stats.stdout[-2000:]
        finally:
            worker.terminate()
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(5)
        err = worker.stderr.read().decode() if worker.stderr else ""
        assert "succeeded" in err, err[-3000:]


def test_beat_writes_its_schedule_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REDIS_PASSWORD", "s3cret")
    with redis_server() as port:
        settings_path = TMP / f"beat-{port}.json"
        settings_path.write_text(json.dumps(local_settings(port)))
        env = {
            **os.environ,
            "STAGECRAFT_SETTINGS": str(settings_path),
            "DJANGO_SETTINGS_MODULE": "tests.django_settings",
            "PYTHONPATH": str(BACKEND),
        }
        schedule = tmp_path / "celerybeat-schedule"
        beat = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "app.celery", "beat", "--schedule", str(schedule), "--loglevel", "INFO"],
            cwd=BACKEND, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not list(tmp_path.glob("celerybeat-schedule*")):
                time.sleep(0.2)
            # The probe (CeleryBeat.ts) looks for a fresh celerybeat-schedule* file.
            assert list(tmp_path.glob("celerybeat-schedule*"))
        finally:
            beat.terminate()
            beat.wait(20)
        err = beat.stderr.read().decode() if beat.stderr else ""
        assert "beat: Starting" in err, err[-2000:]


def test_celery_config_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.celery import celery_config

    monkeypatch.setenv("REDIS_PASSWORD", "p@ss/word")
    c = celery_config(parse_settings(MVC_SETTINGS))
    assert c["broker_url"] == "redis://:p%40ss%2Fword@redis.stagecraft.svc.cluster.local:6379/15"
    assert c["task_default_queue"] == "default" and c["broker_pool_limit"] == 10
    assert c["beat_schedule"]["prune-notifications"]["task"] == "notifications.prune"
    raw = copy.deepcopy(MVC_SETTINGS)
    raw["celery"] = None
    with pytest.raises(SystemExit, match="has no celery section"):
        celery_config(parse_settings(raw))
