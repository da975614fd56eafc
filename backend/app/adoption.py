"""Rows a service takes over from the schema that owned them in an earlier stage.

A stage move splits the monolith's schema between new owners (mvc's `app` becomes split's
`account` and `feed`). Each new owner's migration Job runs `manage.py adopt` after `migrate`: for
every table of the apps it adopts, it copies the rows from the old schema once, keeping their ids,
and records that in its own `stagecraft_adoption` table so it never copies again. The new owner's
ids then continue LATE_GAP past the old schema's: the old owner's pods keep writing until the
callers have moved, and `manage.py adopt --late` (a Job after the whole stage is up) copies
those late rows too, with their ids, which cannot collide.

The decision per table is pure (`decide`); `adopt` does the SQL, under a named lock, one
transaction per table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from app.config import Adopt, ConfigError

MARKER = "stagecraft_adoption"
LOCK = "stagecraft_adopt"
#: How far the new owner's ids jump past the old schema's at adoption: room for the late rows.
LATE_GAP = 1_000_000

Action = Literal["done-before", "no-source", "nothing-to-take", "copy", "conflict"]


@dataclass(frozen=True)
class Table:
    """One table of an adopted app: its name and the columns both schemas share (same migrations)."""

    source: str
    name: str
    columns: tuple[str, ...]
    pk: str = "id"


TableInfo = tuple[str, tuple[str, ...], str]


def tables(adopt: Iterable[Adopt], tables_of_app: Callable[[str], list[TableInfo]]) -> list[Table]:
    """The tables to adopt, in order (an app's tables in its models' order: parents first)."""
    out: list[Table] = []
    for a in adopt:
        for app in a.apps:
            out.extend(Table(a.source, name, cols, pk) for name, cols, pk in tables_of_app(app))
    return out


def decide(*, recorded: bool, source_exists: bool, source_rows: int, own_rows: int) -> Action:
    if recorded:
        return "done-before"
    if not source_exists:
        # Nothing to take (a fresh stack, no earlier stage): not recorded, a later run looks again.
        return "no-source"
    if source_rows == 0:
        return "nothing-to-take"
    if own_rows == 0:
        return "copy"
    # Both hold rows and none was ever adopted: copying would mix two histories (and their ids).
    return "conflict"


def conflict_message(db: str, t: Table, source_rows: int, own_rows: int) -> str:
    return (
        f"adopt: {db}.{t.name} already holds {own_rows} rows and {t.source}.{t.name} holds {source_rows} "
        f"that were never adopted; copying would mix the two (ids collide). Fix: keep {db}'s rows by "
        f"recording the adoption (INSERT INTO {db}.{MARKER} (source_schema, table_name, rows_copied) "
        f"VALUES ('{t.source}', '{t.name}', 0)), or empty {db}.{t.name} to take {t.source}'s, then re-run the Job."
    )


def django_tables(app_label: str) -> list[TableInfo]:
    from django.apps import apps

    try:
        config = apps.get_app_config(app_label)
    except LookupError as e:
        installed = ", ".join(sorted(c.label for c in apps.get_app_configs()))
        raise ConfigError(f"settings.json database.adopt: no app '{app_label}' (installed: {installed})") from e
    return [
        (m._meta.db_table, tuple(f.column for f in m._meta.concrete_fields), m._meta.pk.column)
        for m in config.get_models(include_auto_created=True)
    ]


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def adopt(connection: Any, db: str, todo: list[Table], log: Callable[[str], None], late: bool = False) -> dict[str, Action | int]:
    """Copy what `decide` says, table by table (or, with `late`, the rows the old owner wrote after
    that copy). Returns the action (or late row count) per `source.table`."""
    results: dict[str, Action | int] = {}
    with connection.cursor() as c:
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {_q(MARKER)} (source_schema VARCHAR(64) NOT NULL, table_name VARCHAR(64) NOT NULL,"
            " rows_copied BIGINT NOT NULL, source_max_id BIGINT NULL,"
            " adopted_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,"
            " PRIMARY KEY (source_schema, table_name))"
        )
        # One Job at a time per schema (a retried Job may overlap a slow first attempt).
        c.execute("SELECT GET_LOCK(%s, 60)", [f"{LOCK}:{db}"])
        if c.fetchone()[0] != 1:
            raise RuntimeError(f"adopt: another adoption into {db} holds the lock for 60 s")
        try:
            for t in todo:
                key = f"{t.source}.{t.name}"
                results[key] = _late(connection, c, db, t, log) if late else _one(connection, c, db, t, log)
        finally:
            c.execute("SELECT RELEASE_LOCK(%s)", [f"{LOCK}:{db}"])
    return results


def _one(connection: Any, c: Any, db: str, t: Table, log: Callable[[str], None]) -> Action:
    from django.db import transaction

    with transaction.atomic(using=connection.alias):
        c.execute(f"SELECT 1 FROM {_q(MARKER)} WHERE source_schema = %s AND table_name = %s FOR UPDATE", [t.source, t.name])
        recorded = c.fetchone() is not None
        c.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = %s", [t.source, t.name])
        source_exists = c.fetchone()[0] == 1
        source_rows = own_rows = 0
        if source_exists and not recorded:
            c.execute(f"SELECT COUNT(*) FROM {_q(t.source)}.{_q(t.name)}")
            source_rows = int(c.fetchone()[0])
            c.execute(f"SELECT COUNT(*) FROM {_q(t.name)}")
            own_rows = int(c.fetchone()[0])
        action = decide(recorded=recorded, source_exists=source_exists, source_rows=source_rows, own_rows=own_rows)
        if action == "conflict":
            raise RuntimeError(conflict_message(db, t, source_rows, own_rows))
        copied = max_id = 0
        if action in ("copy", "nothing-to-take"):
            c.execute(f"SELECT COALESCE(MAX({_q(t.pk)}), 0) FROM {_q(t.source)}.{_q(t.name)}")
            max_id = int(c.fetchone()[0])
        if action == "copy":
            cols = ", ".join(_q(col) for col in t.columns)
            c.execute(f"INSERT INTO {_q(t.name)} ({cols}) SELECT {cols} FROM {_q(t.source)}.{_q(t.name)} WHERE {_q(t.pk)} <= %s", [max_id])
            copied = c.rowcount
        if action in ("copy", "nothing-to-take"):
            c.execute(
                f"INSERT INTO {_q(MARKER)} (source_schema, table_name, rows_copied, source_max_id) VALUES (%s, %s, %s, %s)",
                [t.source, t.name, copied, max_id],
            )
    if action in ("copy", "nothing-to-take"):
        # After the commit (ALTER TABLE commits implicitly): new ids start past the room for late rows.
        with connection.cursor() as c2:
            c2.execute(f"ALTER TABLE {_q(t.name)} AUTO_INCREMENT = {int(max_id) + LATE_GAP}")
    log(f"adopt {t.source}.{t.name} -> {db}.{t.name}: {action}" + (f" ({copied} rows)" if action == "copy" else ""))
    return action


def _late(connection: Any, c: Any, db: str, t: Table, log: Callable[[str], None]) -> int:
    """Copy the rows the old owner wrote after the adoption (ids past the recorded source_max_id)."""
    from django.db import transaction

    with transaction.atomic(using=connection.alias):
        c.execute(f"SELECT source_max_id FROM {_q(MARKER)} WHERE source_schema = %s AND table_name = %s FOR UPDATE", [t.source, t.name])
        row = c.fetchone()
        if row is None or row[0] is None:
            log(f"adopt --late {t.source}.{t.name}: never adopted, nothing to follow")
            return 0
        since = int(row[0])
        src, pk = f"{_q(t.source)}.{_q(t.name)}", _q(t.pk)
        c.execute(f"SELECT COUNT(*), COALESCE(MAX(s.{pk}), %s) FROM {src} s WHERE s.{pk} > %s", [since, since])
        late, new_max = (int(x) for x in c.fetchone())
        c.execute(f"SELECT COUNT(*) FROM {src} s JOIN {_q(t.name)} o ON o.{pk} = s.{pk} WHERE s.{pk} > %s", [since])
        clashes = int(c.fetchone()[0])
        if clashes:
            raise RuntimeError(
                f"adopt --late: {clashes} of the {late} rows {t.source}.{t.name} gained after the adoption have ids "
                f"{db}.{t.name} already uses (more than {LATE_GAP} late rows?); nothing copied. Fix: copy them by hand with new ids."
            )
        cols = ", ".join(_q(col) for col in t.columns)
        c.execute(f"INSERT INTO {_q(t.name)} ({cols}) SELECT {cols} FROM {src} WHERE {pk} > %s AND {pk} <= %s", [since, new_max])
        c.execute(
            f"UPDATE {_q(MARKER)} SET source_max_id = %s, rows_copied = rows_copied + %s WHERE source_schema = %s AND table_name = %s",
            [new_max, late, t.source, t.name],
        )
    log(f"adopt --late {t.source}.{t.name} -> {db}.{t.name}: {late} late rows")
    return late
