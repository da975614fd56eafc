"""The Celery app (`celery -A app.celery worker|beat`): broker on the cache's Redis, in its own
DB (settings.json celery.brokerDb) so flushing the cache never drops a queued job. Workers run
the gevent pool (`-P gevent`, Celery patches before the app loads)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from celery import Celery

from app.config import Settings, load_settings, secret

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings")

PRUNE_EVERY_S = 3600.0


def celery_config(s: Settings) -> dict[str, Any]:
    if s.celery is None or s.cache is None:
        raise SystemExit(
            f"service {s.service}: settings.json has no celery section, so this service runs no Celery worker or beat "
            "(Stagecraft adds it when spec.workers or spec.beat names the service)"
        )
    c = s.cache
    password = secret(c.password_env)
    auth = f":{quote(password, safe='')}@" if password else ""
    queues = s.celery.queues or ("default",)
    return {
        "broker_url": f"redis://{auth}{c.host}:{c.port}/{s.celery.broker_db}",
        "broker_pool_limit": c.pool,
        "broker_connection_retry_on_startup": True,
        # Unacked jobs come back after this long if a worker dies mid-task.
        "broker_transport_options": {"visibility_timeout": 3600},
        "task_default_queue": queues[0],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_ignore_result": True,
        "worker_prefetch_multiplier": 1,
        "beat_schedule": {
            "prune-notifications": {
                "task": "notifications.prune",
                "schedule": PRUNE_EVERY_S,
                "kwargs": {"days": 30},
                "options": {"queue": queues[0]},
            },
        },
        "timezone": "UTC",
    }


def make_app(s: Settings) -> Celery:
    capp = Celery(s.service)
    capp.conf.update(celery_config(s))
    capp.autodiscover_tasks(["app.notifications"])
    return capp


app = make_app(load_settings())
