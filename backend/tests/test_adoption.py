"""Adoption (app.adoption, `manage.py adopt`): the decision per table, the settings it reads, and
the copy itself on a real MariaDB (Debian's, on 127.0.0.1): the mvc schema's rows reach the split
owners' schemas once, with their ids, and a schema that already has its own rows is refused."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pymysql
import pytest

from app.adoption import LATE_GAP, TableInfo, conflict_message, decide, tables
from app.config import Adopt, ConfigError, parse_settings
from tests.conftest import MVC_SETTINGS, TMP
from tests.test_mysql import mariadb

BACKEND = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("recorded", "exists", "source", "own", "action"),
    [
        (True, True, 5, 0, "done-before"),
        (True, True, 5, 7, "done-before"),
        (False, False, 0, 0, "no-source"),
        (False, True, 0, 3, "nothing-to-take"),
        (False, True, 5, 0, "copy"),
        (False, True, 5, 1, "conflict"),
    ],
)
def test_decide(recorded: bool, exists: bool, source: int, own: int, action: str) -> None:
    assert decide(recorded=recorded, source_exists=exists, source_rows=source, own_rows=own) == action


def test_tables_keep_the_apps_order() -> None:
    known: dict[str, list[TableInfo]] = {
        "posts": [("posts_post", ("id",), "id"), ("posts_comment", ("id", "post_id"), "id")],
        "accounts": [("accounts_user", ("id",), "id")],
    }
    got = tables([Adopt("app", ("posts", "accounts"))], lambda a: known[a])
    assert [(t.source, t.name) for t in got] == [("app", "posts_post"), ("app", "posts_comment"), ("app", "accounts_user")]


def test_conflict_message_names_both_tables_and_the_fix() -> None:
    [t] = tables([Adopt("app", ("accounts",))], lambda a: [("accounts_user", ("id",), "id")])
    msg = conflict_message("account", t, 10, 2)
    assert "account.accounts_user already holds 2 rows" in msg and "app.accounts_user holds 10" in msg
    assert "INSERT INTO account.stagecraft_adoption" in msg and "Fix:" in msg


def _with_db(db: dict[str, Any]) -> dict[str, Any]:
    raw = copy.deepcopy(MVC_SETTINGS)
    raw["database"].update(db)
    return raw


def test_settings_read_adopt() -> None:
    s = parse_settings(_with_db({"adopt": [{"from": "app", "apps": ["accounts"]}]}))
    assert s.database is not None and s.database.adopt == (Adopt("app", ("accounts",)),)
    assert parse_settings(MVC_SETTINGS).database.adopt == ()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("adopt", "message"),
    [
        ([{"apps": ["accounts"]}], r"database.adopt\[0\].from is missing"),
        ([{"from": "app", "apps": []}], "must name at least one app"),
        ([{"from": "App; DROP", "apps": ["accounts"]}], "is not a schema name"),
        ("app", "database.adopt must be a list"),
    ],
)
def test_bad_adopt_settings(adopt: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_settings(_with_db({"adopt": adopt}))


def _manage(settings: dict[str, Any], password: str, *argv: str) -> subprocess.CompletedProcess[str]:
    path = TMP / f"adopt-{settings['service']}-{settings['database']['port']}.json"
    path.write_text(json.dumps(settings))
    env = {
        **os.environ,
        "STAGECRAFT_SETTINGS": str(path),
        "DJANGO_SETTINGS_MODULE": "app.settings",
        "DATABASE_PASSWORD": password,
        "REDIS_PASSWORD": "unused",
        "PYTHONPATH": str(BACKEND),
    }
    return subprocess.run([sys.executable, "manage.py", *argv], cwd=BACKEND, env=env, capture_output=True, text=True, timeout=300)


def _rows(sock: str, sql: str) -> list[tuple[Any, ...]]:
    root = pymysql.connect(unix_socket=sock, user="root", autocommit=True)
    try:
        with root.cursor() as c:
            c.execute(sql)
            return list(c.fetchall())
    finally:
        root.close()


def test_split_owners_adopt_the_monoliths_rows_on_mariadb() -> None:
    with mariadb() as (port, sock):
        for schema in ("account", "feed"):
            _rows(sock, f"CREATE DATABASE {schema} CHARACTER SET utf8mb4")
            _rows(sock, f"CREATE USER '{schema}'@'%' IDENTIFIED BY '{schema}-pw'")
            _rows(sock, f"GRANT ALL ON {schema}.* TO '{schema}'@'%'")
            # What the primary's bootstrap grants an adopting user (components/data/mysqlReplication.ts).
            _rows(sock, f"GRANT SELECT ON app.* TO '{schema}'@'%'")

        def settings(service: str, schema: str, adopt: list[dict[str, Any]] | None = None) -> dict[str, Any]:
            db: dict[str, Any] = {"host": "127.0.0.1", "readHost": "127.0.0.1", "port": port, "name": schema, "user": schema}
            if adopt is not None:
                db["adopt"] = adopt
            raw = _with_db(db)
            raw["service"] = service
            return raw

        # mvc: the monolith's schema `app` with users, posts and notifications.
        web = settings("web", "app")
        assert _manage(web, "app-pw", "migrate", "--noinput").returncode == 0
        _rows(sock, "INSERT INTO app.accounts_user (id, username, display_name, created_at) VALUES (3, 'ada', 'Ada', NOW())")
        _rows(sock, "INSERT INTO app.accounts_user (id, username, display_name, created_at) VALUES (7, 'bo', 'Bo', NOW())")
        _rows(sock, "INSERT INTO app.posts_post (id, author_id, body, created_at) VALUES (11, 3, 'hello', NOW())")
        _rows(sock, "INSERT INTO app.notifications_notification (user_id, post_id, text, created_at) VALUES (3, 11, 'new post', NOW())")
        users_before = _rows(sock, "SELECT * FROM app.accounts_user ORDER BY id")

        # split: `account` adopts the accounts app, `feed` the posts and notifications.
        account = settings("account", "account", [{"from": "app", "apps": ["accounts"]}])
        assert _manage(account, "account-pw", "migrate", "--noinput").returncode == 0
        out = _manage(account, "account-pw", "adopt")
        assert out.returncode == 0, out.stderr[-3000:]
        assert "adopt app.accounts_user -> account.accounts_user: copy (2 rows)" in out.stdout
        assert _rows(sock, "SELECT * FROM account.accounts_user ORDER BY id") == users_before
        assert _rows(sock, "SELECT COUNT(*) FROM account.posts_post") == [(0,)]  # not adopted: not its app

        # Once only: a second run copies nothing, even after the old owner (still serving until
        # its callers move) wrote another row.
        _rows(sock, "INSERT INTO app.accounts_user (username, display_name, created_at) VALUES ('late', 'Late', NOW())")
        again = _manage(account, "account-pw", "adopt")
        assert again.returncode == 0 and "done-before" in again.stdout, again.stderr[-3000:]
        assert _rows(sock, "SELECT id FROM account.accounts_user ORDER BY id") == [(3,), (7,)]
        # The new owner's ids start past the room left for late rows: no clash with the old owner's.
        _rows(sock, "INSERT INTO account.accounts_user (username, display_name, created_at) VALUES ('new', 'New', NOW())")
        assert _rows(sock, "SELECT MAX(id) FROM account.accounts_user") == [(7 + LATE_GAP,)]
        # `adopt --late` (after the callers moved) takes the late row with its id, once.
        late = _manage(account, "account-pw", "adopt", "--late")
        assert late.returncode == 0 and "accounts_user: 1 late rows" in late.stdout, late.stderr[-3000:]
        assert _rows(sock, "SELECT id, username FROM account.accounts_user ORDER BY id") == [
            (3, "ada"),
            (7, "bo"),
            (8, "late"),
            (7 + LATE_GAP, "new"),
        ]
        assert "accounts_user: 0 late rows" in _manage(account, "account-pw", "adopt", "--late").stdout

        # A schema that already has rows of its own is refused, nothing copied, the message names the fix.
        feed = settings("feed", "feed", [{"from": "app", "apps": ["posts", "notifications"]}])
        assert _manage(feed, "feed-pw", "migrate", "--noinput").returncode == 0
        _rows(sock, "INSERT INTO feed.posts_post (id, author_id, body, created_at) VALUES (1, 7, 'mine', NOW())")
        refused = _manage(feed, "feed-pw", "adopt")
        assert refused.returncode != 0
        assert "feed.posts_post already holds 1 rows and app.posts_post holds 1" in refused.stderr, refused.stderr[-3000:]
        assert _rows(sock, "SELECT id FROM feed.posts_post") == [(1,)]
        # Emptied, it adopts: posts (with their ids) and notifications.
        _rows(sock, "DELETE FROM feed.posts_post")
        ok = _manage(feed, "feed-pw", "adopt")
        assert ok.returncode == 0, ok.stderr[-3000:]
        assert _rows(sock, "SELECT id, author_id, body FROM feed.posts_post") == [(11, 3, "hello")]
        assert _rows(sock, "SELECT user_id, post_id FROM feed.notifications_notification") == [(3, 11)]

        # No old schema (a fresh stack): nothing to take, nothing recorded; an unknown app is named.
        fresh = settings("account", "account", [{"from": "nowhere", "apps": ["accounts"]}])
        out = _manage(fresh, "account-pw", "adopt")
        assert out.returncode == 0 and "no-source" in out.stdout, out.stderr[-3000:]
        bad = _manage(settings("account", "account", [{"from": "app", "apps": ["orders"]}]), "account-pw", "adopt")
        assert bad.returncode != 0 and "no app 'orders'" in bad.stderr
