"""Every test process runs Django with settings.json of a monolith (the mvc web service, as
Stagecraft renders it, plus the short-URL field this backend asks for), with the database and
cache swapped for in-process ones (tests/django_settings.py). Roles other than the monolith's
are tested by building their Settings directly."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
TMP = Path(tempfile.mkdtemp(prefix="stagecraft-backend-tests-"))

MVC_SETTINGS: dict[str, Any] = {
    "service": "web",
    "layer": "app",
    "database": {
        "host": "mysql.stagecraft.svc.cluster.local",
        "readHost": "mysql.stagecraft.svc.cluster.local",
        "port": 3306,
        "name": "app",
        "user": "app",
        "pool": 5,
        "passwordEnv": "DATABASE_PASSWORD",
    },
    "cache": {
        "host": "redis.stagecraft.svc.cluster.local",
        "port": 6379,
        "db": 0,
        "prefix": "web:",
        "pool": 10,
        "passwordEnv": "REDIS_PASSWORD",
    },
    "celery": {"brokerDb": 15, "queues": ["default"]},
    "calls": {},
    # The nchan publisher is a local capturing server (tests/servers.py); its URL is set per test.
    "push": {"kind": "nchan", "publishUrl": "http://127.0.0.1:9/pub"},
    "shortUrl": {"db": 1, "prefix": "shorturl:"},
}


def pytest_configure() -> None:
    path = TMP / "settings.json"
    path.write_text(json.dumps(MVC_SETTINGS))
    os.environ["STAGECRAFT_SETTINGS"] = str(path)
    os.environ["STAGECRAFT_TEST_DB"] = str(TMP / "db.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.django_settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from app.celery import app as celery_app

    # Tasks run in the caller (the worker role is tested through celery_config and a real broker).
    celery_app.conf.task_always_eager = True
