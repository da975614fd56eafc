"""Writes go to the primary; reads go to the replicas when settings.json gives a readHost apart
from the host (the service may read from replicas), else to the primary."""

from __future__ import annotations

from typing import Any

from django.conf import settings


class ReplicaRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str:
        return "replica" if "replica" in settings.DATABASES else "default"

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return "default"

    def allow_relation(self, a: Any, b: Any, **hints: Any) -> bool:
        # Both aliases are the same data (replication): a relation across them is fine.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        # Replicas are read-only copies: schema changes reach them by replication.
        return db == "default"
