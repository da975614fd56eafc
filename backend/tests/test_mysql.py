"""The monolith for real: a real MariaDB (Debian's, on 127.0.0.1) and Redis, the app under uWSGI
with gevent and Django's real settings (app.settings, ENGINE app.dbpool over PyMySQL):
`manage.py migrate` and `migrate --check`, readiness, writes and reads, the pool bound holding
under 40 concurrent requests, the Celery job queued in the broker DB."""

from __future__ import annotations

import concurrent.futures
import copy
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pymysql
import redis

from tests.conftest import MVC_SETTINGS, TMP
from tests.servers import free_port, need, process, redis_server

BACKEND = Path(__file__).resolve().parent.parent
POOL = int(os.environ.get("TEST_POOL", "3"))


@contextmanager
def mariadb() -> Iterator[tuple[int, str]]:
    server = need("mariadbd")
    install = need("mariadb-install-db")
    port = free_port()
    with tempfile.TemporaryDirectory() as d:
        data, sock = f"{d}/data", f"{d}/mysql.sock"
        user = ["--user=root"] if os.getuid() == 0 else []
        subprocess.run(
            [install, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal", "--skip-test-db", *user],
            check=True,
            capture_output=True,
            timeout=120,
        )
        argv = [server, "--no-defaults", f"--datadir={data}", f"--socket={sock}", f"--port={port}", "--bind-address=127.0.0.1"]
        argv += [f"--pid-file={d}/mysql.pid", "--skip-name-resolve", "--max-connections=50", *user]
        with process(argv, port, timeout=60):
            root = pymysql.connect(unix_socket=sock, user="root")
            with root.cursor() as c:
                c.execute("CREATE DATABASE app CHARACTER SET utf8mb4")
                c.execute("CREATE USER 'app'@'%' IDENTIFIED BY 'app-pw'")
                c.execute("GRANT ALL ON app.* TO 'app'@'%'")
            root.close()
            yield port, sock


def threads_of(sock: str, user: str) -> int:
    root = pymysql.connect(unix_socket=sock, user="root")
    try:
        with root.cursor() as c:
            c.execute("SELECT COUNT(*) FROM information_schema.processlist WHERE user = %s", (user,))
            row = c.fetchone()
            return int(row[0]) if row else 0
    finally:
        root.close()


def request(url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text.decode(errors="replace")


def test_the_monolith_on_mariadb_and_redis_under_uwsgi_gevent() -> None:
    with mariadb() as (db_port, sock), redis_server() as redis_port:
        raw = copy.deepcopy(MVC_SETTINGS)
        # readHost differs from host: reads take the replica alias (the same server here).
        raw["database"].update(host="127.0.0.1", readHost="localhost", port=db_port, pool=POOL)
        raw["cache"].update(host="127.0.0.1", port=redis_port)
        path = TMP / f"mysql-{db_port}.json"
        path.write_text(json.dumps(raw))
        env = {
            **os.environ,
            "STAGECRAFT_SETTINGS": str(path),
            "DJANGO_SETTINGS_MODULE": "app.settings",
            "DATABASE_PASSWORD": "app-pw",
            "REDIS_PASSWORD": "s3cret",
            "PYTHONPATH": str(BACKEND),
        }
        manage = [sys.executable, "manage.py", "migrate"]
        check = subprocess.run([*manage, "--check"], cwd=BACKEND, env=env, capture_output=True, timeout=120)
        assert check.returncode != 0  # unmigrated: the pods' init container keeps waiting
        out = subprocess.run([*manage, "--noinput"], cwd=BACKEND, env=env, capture_output=True, timeout=300)
        assert out.returncode == 0, out.stderr.decode()[-3000:]
        assert subprocess.run([*manage, "--check"], cwd=BACKEND, env=env, capture_output=True, timeout=120).returncode == 0

        http_port = free_port()
        ini = TMP / f"uwsgi-{http_port}.ini"
        ini.write_text(
            "\n".join(
                [
                    "[uwsgi]",
                    "strict = true",
                    f"http-socket = 127.0.0.1:{http_port}",
                    "module = app.wsgi:application",
                    "need-app = true",
                    "lazy-apps = true",
                    "master = true",
                    "processes = 1",
                    "gevent = 50",
                    "gevent-early-monkey-patch = true",
                    "die-on-term = true",
                    "",
                ]
            )
        )
        uwsgi = BACKEND / ".venv" / "bin" / "uwsgi"
        with process([str(uwsgi), "--ini", str(ini)], http_port, env=env, timeout=30) as proc:
            log_path = proc.log_path  # type: ignore[attr-defined]
            _check_app(f"http://127.0.0.1:{http_port}", redis_port, sock, log_path)


def _check_app(base: str, redis_port: int, sock: str, log_path: str) -> None:
    def log() -> str:
        return Path(log_path).read_text(errors="replace")[-4000:]

    assert request(base + "/readyz") == (200, {"status": "ok", "database": "ok"}), log()
    status, user = request(base + "/users", {"username": "maria", "displayName": "Maria"})
    assert status == 201, log()
    assert request(base + "/users", {"username": "maria"})[0] == 409
    status, post = request(base + "/posts", {"userId": user["id"], "body": "on MariaDB"})
    assert status == 201, log()
    assert request(base + "/posts", {"userId": 424242, "body": "nobody"})[0] == 404
    # The announce job waits in Redis DB 15 (settings.json celery.brokerDb), not the cache's DB.
    assert redis.Redis(port=redis_port, password="s3cret", db=15).llen("default") == 1

    # 40 concurrent reads that each need the database (no cache), through one worker with
    # 50 gevent cores and a pool of 3.
    user_id = user["id"]

    def feed(i: int) -> int:
        return request(f"{base}/users/{user_id}" if i % 2 else f"{base}/readyz")[0]

    # A sampler records the most connections the app user ever held. (With TEST_POOL=40 the
    # same burst peaks near 40: the bound below is the pool's doing.)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], threads_of(sock, "app"))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(40) as ex:
            statuses = list(ex.map(feed, range(40)))
    finally:
        done.set()
        sampler.join(5)
    assert statuses == [200] * 40
    print(f"peak connections of the app user: {peak[0]} (pool {POOL} per alias)")
    # Never more than the pool's size per alias (primary + replica), and kept open after.
    assert 1 <= peak[0] <= 2 * POOL, peak[0]
    assert 1 <= threads_of(sock, "app") <= 2 * POOL
    assert request(base + "/feed?limit=10")[1]["cached"] is False
    status, body = request(base + "/feed?limit=10")
    assert status == 200 and body["cached"] is True and body["posts"][0] == post
