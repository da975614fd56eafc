"""`manage.py adopt`: take over the rows settings.json's database.adopt names (see app.adoption).
Run by the migration Job after `migrate`; a no-op for a service that adopts nothing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from app.adoption import adopt, django_tables, tables
from app.config import ConfigError


class Command(BaseCommand):
    help = "Copy, once, the rows of the adopted apps' tables from the schema that owned them before."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--late",
            action="store_true",
            help="copy only the rows the old owner wrote after the adoption (run once the callers have moved)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        db = settings.STAGECRAFT.database
        if db is None or not db.adopt:
            self.stdout.write("adopt: nothing to adopt (settings.json database.adopt is empty)")
            return
        try:
            todo = tables(db.adopt, django_tables)
            adopt(connections["default"], db.name, todo, self.stdout.write, late=bool(options["late"]))
        except (ConfigError, RuntimeError) as e:
            raise CommandError(str(e)) from e
