"""A new post is announced: a Notification row for its author, and a push to the `feed` channel
and to the author's own channel. A Celery task where the service has workers (settings.celery),
inline otherwise."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from app import push

log = logging.getLogger("app.notifications")


def deliver(post: dict[str, Any]) -> dict[str, Any]:
    from app.notifications.models import Notification

    n = Notification.objects.using("default").create(user_id=post["authorId"], post_id=post["id"], text=f"post {post['id']} published")
    message = {"type": "post", "post": post}
    pushed = push.publish(settings.STAGECRAFT.push, "feed", message)
    push.publish(settings.STAGECRAFT.push, f"user.{post['authorId']}", {"type": "notification", "notification": n.as_dict()})
    return {"notification": n.pk, "pushed": pushed}


@shared_task(name="notifications.announce", autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def announce_task(post: dict[str, Any]) -> dict[str, Any]:
    return deliver(post)


@shared_task(name="notifications.prune")
def prune(days: int = 30) -> int:
    """Beat's job: drop notifications older than `days`."""
    from app.notifications.models import Notification

    if settings.STAGECRAFT.database is None:
        # An application service without a schema (ddd): its data services keep the notifications.
        log.info("service %s has no database: nothing to prune", settings.STAGECRAFT.service)
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    deleted: int
    deleted, _ = Notification.objects.using("default").filter(created_at__lt=cutoff).delete()
    log.info("pruned %d notifications older than %d days", deleted, days)
    return deleted


def _enqueue(post: dict[str, Any]) -> None:
    # Importing the configured app makes it Celery's current app, which shared tasks send through
    # (a web process never imports it otherwise and would fall back to Celery's default broker).
    import app.celery  # noqa: F401

    try:
        announce_task.delay(post)
    except Exception as e:  # noqa: BLE001 - the post is committed: announce it here rather than lose it
        log.warning("broker unavailable (%s); announcing post %s inline", e, post["id"])
        deliver(post)


def announce(post: dict[str, Any]) -> None:
    if settings.STAGECRAFT.celery is not None:
        from django.db import transaction

        # After commit: a worker must find the row the task names.
        transaction.on_commit(lambda: _enqueue(post), using="default")
    else:
        deliver(post)
