"""The end-to-end program's logic without a cluster: what each stage offers it (from the real
stack files), where a path goes, how kubectl's JSON and hey's output are read, and what counts as
a pass for each check."""

from __future__ import annotations

import os
import shutil
from functools import cache
from typing import Any

import pytest

from e2e import checks, entry, moves
from e2e.http import Response
from e2e.kube import pods_from
from e2e.stage import ROOT, Call, Push, RateLimit, Stage, load_spec, stage_of


@cache
def stage(name: str) -> Stage:
    if shutil.which("node") is None or not (ROOT / "node_modules" / "ts-node").is_dir():
        if os.environ.get("CI"):
            pytest.fail("node and the project's node_modules are needed to read the stacks (npm ci)")
        pytest.skip("node_modules is missing (npm ci at the repository root)")
    return stage_of(load_spec(ROOT / "stacks" / f"Pulumi.{name}.yaml"))


def test_mvc_is_one_service_behind_nginx_with_nchan_and_celery() -> None:
    s = stage("mvc")
    assert (s.edge, s.routes, s.push, s.short_url_route) == ("nginx", {"/": "web"}, Push("nchan", "/sub"), None)
    assert (s.account_owner, s.post_owner, s.rpc_callees, s.rate_limit) == ("web", "web", (), None)
    assert s.workers_of("web") == ("celery-default",) and (s.forbidden, s.allowed) == (None, None)
    # No replicas: nothing reads from them, whatever a service's readFromReplicas says.
    assert (s.replica_readers, s.read_replicas) == ((), 0)


def test_split_routes_services_by_prefix_and_pushes_through_tormq() -> None:
    s = stage("split")
    assert s.routes == {"/": "web", "/account": "account", "/feed": "feed"}
    assert (s.push, s.account_owner, s.post_owner, s.rpc_callees) == (Push("tormq", "/push"), "account", "feed", ())
    # The posts' owner (feed) has its own workers: its announcements are Celery tasks.
    assert s.workers_of("feed") == ("celery-feed",)
    assert (s.replica_readers, s.read_replicas) == (("web", "account", "feed"), 2)


def test_micro_calls_rpc_with_the_client_policy_and_has_short_urls() -> None:
    s = stage("micro")
    assert (s.edge, s.rpc_callees, s.short_url_route) == ("kong", ("account", "feed"), "/s")
    assert s.rate_limit == RateLimit("web", "account", 500.0, 100)
    assert (s.forbidden, s.allowed) == (None, None)
    # feed is an RPC service without workers: it announces inline.
    assert s.workers_of("feed") == ()


def test_ddd_names_a_call_the_law_forbids_and_one_it_allows() -> None:
    s = stage("ddd")
    assert (s.account_owner, s.post_owner) == ("user-data", "content-data")
    assert s.forbidden == Call("web", "feed") and s.allowed == Call("web", "user-data")
    assert s.rate_limit == RateLimit("web", "user-data", 800.0, 200)


def test_a_stage_without_routes_is_refused() -> None:
    spec = {"stage": "x", "edge": {}, "services": [{"name": "a", "kind": "rpc", "calls": []}]}
    with pytest.raises(ValueError, match="no web service has a route"):
        stage_of(spec)


# --- entry -----------------------------------------------------------------------------------

SERVICES: dict[str, Any] = {
    "nginx": {"spec": {"ports": [{"name": "http", "port": 80}]}, "status": {"loadBalancer": {"ingress": [{"ip": "10.250.1.1"}]}}},
    "web": {"spec": {"clusterIP": "10.96.0.20", "ports": [{"name": "http", "port": 8000}]}},
    "feed": {"spec": {"clusterIP": "10.96.0.21", "ports": [{"name": "http", "port": 8000}]}},
    "shorturl": {"spec": {"clusterIP": "10.96.0.22", "ports": [{"name": "http", "port": 8080}]}},
    "push": {"spec": {"clusterIP": "None", "ports": [{"name": "ws", "port": 8888}]}},
}
PUSH_EPS = {
    "metadata": {"name": "push"},
    "subsets": [{"addresses": [{"ip": "10.244.200.9"}], "ports": [{"name": "zmq", "port": 5556}, {"name": "ws", "port": 8888}]}],
}


def kong_stage(**kw: Any) -> Stage:
    base: dict[str, Any] = dict(
        stage="ddd",
        edge="kong",
        routes={"/": "web", "/feed": "feed"},
        push=Push("tormq", "/push"),
        short_url_route="/s",
        account_owner="user-data",
        post_owner="content-data",
        rpc_callees=("user-data",),
        rate_limit=None,
    )
    return Stage(**{**base, **kw})


def test_nginx_entry_sends_everything_to_the_load_balancer() -> None:
    e = entry.resolve(kong_stage(edge="nginx", push=Push("nchan", "/sub"), short_url_route=None), SERVICES, None)
    assert e.url("/users/1") == "http://10.250.1.1/users/1"
    assert e.ws("/sub/user.1") == "ws://10.250.1.1/sub/user.1"
    assert "LoadBalancer" in e.how


def test_kong_entry_routes_like_kong_longest_prefix_on_segment_boundaries() -> None:
    e = entry.resolve(kong_stage(), SERVICES, PUSH_EPS)
    assert e.url("/feed") == "http://10.96.0.21:8000/feed"
    assert e.url("/feed/notifications?userId=1") == "http://10.96.0.21:8000/feed/notifications?userId=1"
    assert e.url("/feed?limit=3") == "http://10.96.0.21:8000/feed?limit=3"
    assert e.url("/feedback") == "http://10.96.0.20:8000/feedback"
    assert e.url("/s/abc") == "http://10.96.0.22:8080/s/abc"
    assert e.ws("/push/user.3") == "ws://10.244.200.9:8888/push/user.3"
    assert "Kong cannot run here" in e.how


def test_entry_problems_name_what_is_missing() -> None:
    no_lb = {**SERVICES, "nginx": {"spec": {"ports": [{"port": 80}]}, "status": {}}}
    with pytest.raises(LookupError, match="no LoadBalancer address yet"):
        entry.resolve(kong_stage(edge="nginx"), no_lb, None)
    with pytest.raises(LookupError, match="headless"):
        entry.cluster_ip_base(SERVICES, "push")
    with pytest.raises(LookupError, match="Service nope is not in the namespace"):
        entry.cluster_ip_base(SERVICES, "nope")
    with pytest.raises(LookupError, match="no ready address"):
        entry.endpoint_base({"metadata": {"name": "push"}, "subsets": []}, "ws")
    with pytest.raises(ValueError, match="must start with '/'"):
        entry.Entry({"/": "http://x"}, "").url("users")


def test_pods_are_read_with_readiness_and_deletion() -> None:
    doc = {
        "items": [
            {"metadata": {"name": "b"}, "status": {"podIP": "1.1.1.2", "conditions": [{"type": "Ready", "status": "False"}]}},
            {
                "metadata": {"name": "a", "deletionTimestamp": "x"},
                "status": {"podIP": "1.1.1.1", "conditions": [{"type": "Ready", "status": "True"}]},
            },
        ]
    }
    assert [(p.name, p.ip, p.ready, p.deleting) for p in pods_from(doc)] == [("a", "1.1.1.1", True, True), ("b", "1.1.1.2", False, False)]


# --- judges ----------------------------------------------------------------------------------


def resp(status: int, body: Any = None, **headers: str) -> Response:
    import json

    return Response(status, {k.replace("_", "-"): v for k, v in headers.items()}, json.dumps(body).encode() if body is not None else b"")


def test_feed_cache_passes_only_when_the_second_read_is_a_hit_of_the_same_page() -> None:
    page = [{"id": 1}]
    assert checks.judge_feed_cache(
        resp(200, {"posts": page, "cached": False}, x_cache="miss"), resp(200, {"posts": page, "cached": True}, x_cache="hit")
    )[0]
    assert not checks.judge_feed_cache(
        resp(200, {"posts": page}, x_cache="miss"), resp(200, {"posts": page, "cached": False}, x_cache="miss")
    )[0]
    assert not checks.judge_feed_cache(resp(200, {"posts": page}), resp(200, {"posts": [], "cached": True}, x_cache="hit"))[0]
    assert not checks.judge_feed_cache(resp(503, {}), resp(200, {"posts": page, "cached": True}, x_cache="hit"))[0]


def test_celery_log_must_name_the_notification_the_api_shows() -> None:
    line = "[2026-11-30 20:00:00,000: INFO/MainProcess] Task notifications.announce[3f1c] succeeded in 0.01s: "
    line += "{'notification': 12, 'pushed': True}"
    assert checks.judge_celery_log("x\n" + line, 12)
    assert not checks.judge_celery_log(line, 1)
    assert not checks.judge_celery_log(line.replace("succeeded", "raised"), 12)


def test_rate_limit_is_judged_on_what_the_limiter_let_through() -> None:
    msg = "calls to account are over the client's rate limit (500/s, burst 100); retry later"

    def judge(ok: int, limited: int, errors: dict[str, int] | None = None, seconds: float = 0.1, message: str = msg) -> bool:
        errors = errors or {}
        out = {"ok": ok, "limited": limited, "other": sum(errors.values()), "errors": errors, "message": message, "seconds": seconds}
        return checks.judge_rate_limit({**out, "error": "Unavailable('...')" if errors else ""}, 100, 500.0)[0]

    assert judge(100, 200)
    # Let through, then timed out at the callee (a slow node): reported, not the limiter's fault.
    assert judge(56, 192, {"Unavailable": 52})
    # Nothing refused, or refused with another message: the limiter did not act.
    assert not judge(300, 0, message="")
    assert not judge(100, 200, message="boom")
    # More let through than burst + refill (500/s over 0.1 s = 50): the limiter leaks.
    assert judge(151, 149)
    assert not judge(152, 148)
    assert not judge(100, 148, {"Unavailable": 52})
    # Any other failure fails the check; so does no answer at all.
    assert not judge(90, 200, {"PermissionDenied": 10})
    assert not judge(0, 300)
    assert not judge(0, 200, {"Unavailable": 100})


def test_policy_check_needs_the_forbidden_call_refused_and_the_allowed_one_through() -> None:
    assert checks.judge_policy({"forbidden": "TimeoutError: timed out", "allowed": "connected"})[0]
    assert checks.judge_policy({"forbidden": "ConnectionRefusedError: [Errno 111]", "allowed": "connected"})[0]
    assert not checks.judge_policy({"forbidden": "connected", "allowed": "connected"})[0]
    # Both refused: the pod has no network at all, which proves nothing about the policy.
    assert not checks.judge_policy({"forbidden": "TimeoutError", "allowed": "TimeoutError"})[0]


def test_failover_and_bad_input_judges() -> None:
    assert checks.judge_failover([200] * 50)[0]
    assert not checks.judge_failover([200, 503, 200])[0]
    assert not checks.judge_failover([])[0]
    err = resp(400, {"error": {"code": "bad_input", "message": "malformed JSON body: Expecting value"}})
    assert checks.judge_bad(err, 400, "malformed JSON")[0]
    assert not checks.judge_bad(err, 404, "malformed JSON")[0]
    assert not checks.judge_bad(resp(500, None), 400, "")[0]


# --- moves -----------------------------------------------------------------------------------

HEY = """
Summary:
  Total:	12.0021 secs
  Requests/sec:	39.9

Status code distribution:
  [200]	470 responses
  [502]	3 responses
  [503]	2 responses

Error distribution:
  [4]	Get "http://10.250.1.1/feed?limit=20": dial tcp 10.250.1.1:80: connect: connection refused
  [1]	Get "http://10.250.1.1/feed?limit=20": dial tcp 10.250.1.2:80: connect: connection refused
  [2]	Get "http://10.250.1.1/feed?limit=20": context deadline exceeded (Client.Timeout exceeded while awaiting headers)
"""


def test_hey_summary_counts_non_2xx_and_unanswered_requests_as_failed() -> None:
    c = moves.parse_hey(HEY)
    assert c.statuses == {200: 470, 502: 3, 503: 2}
    assert (c.total, c.failed) == (470 + 5 + 7, 5 + 7)
    assert sum(c.errors.values()) == 7 and len(c.errors) == 2  # addresses folded together
    assert moves.parse_hey("Status code distribution:\n  [201]\t10 responses\n") == moves.LoadCount(10, 0, {201: 10}, {})


def test_rows_lost_are_those_not_read_back_equal() -> None:
    rows = [
        moves.Row("users", 1, {"id": 1, "username": "a"}),
        moves.Row("posts", 7, {"id": 7, "body": "x"}),
        moves.Row("users", 2, {"id": 2}),
    ]
    answers = {
        "/users/1": resp(200, {"id": 1, "username": "a"}),
        "/posts/7": resp(200, {"id": 7, "body": "changed"}),
        "/users/2": resp(404, {}),
    }
    n, examples = moves.lost(rows, answers.__getitem__)
    assert n == 2 and examples == ["posts/7: 200", "users/2: 404"]


def test_move_paths_and_where_the_load_goes() -> None:
    assert moves.moves_of(["mvc", "split", "micro", "ddd", "micro"]) == [
        ("mvc", "split"),
        ("split", "micro"),
        ("micro", "ddd"),
        ("ddd", "micro"),
    ]
    with pytest.raises(ValueError, match="at least two"):
        moves.moves_of(["mvc"])
    with pytest.raises(ValueError, match="stays at split"):
        moves.moves_of(["mvc", "split", "split"])
    nginx = kong_stage(edge="nginx")
    assert moves.load_base(nginx, nginx, SERVICES) == ("http://10.250.1.1", "Nginx LoadBalancer")
    assert moves.load_base(nginx, kong_stage(), SERVICES) == ("http://10.96.0.20:8000", "Service web (Kong cannot run here)")
    with pytest.raises(ValueError, match="entry service changes"):
        moves.load_base(nginx, kong_stage(routes={"/": "feed"}), SERVICES)


def test_the_table_has_one_row_per_move() -> None:
    c = moves.parse_hey(HEY)
    r = moves.MoveResult("mvc", "split", "Nginx LoadBalancer", 83.4, True, c, moves.LoadCount(10, 0, {201: 10}, {}), 40, 0, ())
    t = moves.table([r])
    assert t.splitlines()[2] == "| mvc → split | Nginx LoadBalancer | 83 s | yes | 12 / 482 | 0 / 10 | 0 / 40 |"
    assert "connection refused" in moves.failure_notes([r])


# --- the HTTP client -------------------------------------------------------------------------


def test_client_returns_redirects_and_errors_as_they_are_and_retries_only_unsent_requests() -> None:
    import http.server
    import threading

    from e2e.http import Client
    from tests.servers import free_port

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code = 302 if self.path == "/s/abc" else 404
            self.send_response(code)
            if code == 302:
                self.send_header("Location", "http://example.invalid/x")
            body = b'{"error": {"code": "not_found", "message": "nothing here"}}'
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    slept: list[float] = []
    c = Client(attempts=3, pause=0.01, sleep=slept.append)
    try:
        r = c.get(f"{base}/s/abc")
        assert (r.status, r.headers["location"]) == (302, "http://example.invalid/x")  # not followed
        r = c.get(f"{base}/nope")
        assert (r.status, r.error_message()) == (404, "not_found: nothing here")
        assert slept == []
        # Nothing listens: refused, so retried (a write too: it was never sent), then a clear error.
        with pytest.raises(ConnectionError, match="no answer after 3 attempts"):
            c.post(f"http://127.0.0.1:{free_port()}/posts", {"a": 1})
        assert len(slept) == 3
    finally:
        server.shutdown()


class FakeWorld:
    """A live stack in memory: each stage keeps users and posts in its schemas and nothing copies
    rows between them (the stacks before mysql.adopt), so a move to a stage whose owners read
    another schema loses the rows written before: the harness must count exactly those."""

    SCHEMAS = {"mvc": ("app", "app"), "split": ("account", "feed"), "micro": ("account", "feed"), "ddd": ("account", "app")}

    def __init__(self, fail_up_to: str | None = None) -> None:
        self.current, self.pending = "mvc", "mvc"
        self.db: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
        self.next_id = 100
        self.fail_up_to = fail_up_to
        self.calls: list[str] = []

    # Mover
    def stage(self) -> tuple[Stage, entry.Entry]:
        self.calls.append(f"stage {self.current}")
        return kong_stage(stage=self.current, edge="nginx" if self.current in ("mvc", "split") else "kong"), entry.Entry(
            {"/": "http://e"}, "x"
        )

    def promote(self, to: str) -> Stage:
        self.calls.append(f"promote {to}")
        self.pending = to
        return kong_stage(stage=to, edge="nginx" if to in ("mvc", "split") else "kong")

    def services(self) -> dict[str, Any]:
        return SERVICES

    def start_load(self, base: str, author: int, move: str) -> Any:
        self.calls.append(f"load {move} {base} author={author}")
        hey = HEY

        class Load:
            def stop(self) -> tuple[moves.LoadCount, moves.LoadCount]:
                return moves.parse_hey(hey), moves.parse_hey("Status code distribution:\n  [201]\t9 responses\n")

        return Load()

    def up(self, move: str) -> bool:
        self.calls.append(f"up {move}")
        if self.pending == self.fail_up_to:
            return False
        self.current = self.pending
        return True

    # HTTP
    def _table(self, kind: str) -> dict[int, dict[str, Any]]:
        users, posts = self.SCHEMAS[self.current]
        return self.db.setdefault((kind, users if kind == "users" else posts), {})

    def post(self, url: str, body: Any) -> Response:
        kind = url.rsplit("/", 1)[1]
        self.next_id += 1
        row = {"id": self.next_id, **body}
        self._table(kind)[self.next_id] = row
        return resp(201, row)

    def get(self, url: str) -> Response:
        kind, ident = url.rsplit("/", 2)[1:]
        row = self._table(kind).get(int(ident))
        return resp(200, row) if row else resp(404, {"error": {"code": "not_found", "message": "gone"}})


def test_run_moves_writes_before_each_move_and_reads_every_row_after() -> None:
    world = FakeWorld()
    results = moves.run_moves(["mvc", "split", "micro", "ddd", "micro"], world, world, rows=2, clock=iter(range(0, 1000, 5)).__next__)
    assert [(r.frm, r.to, r.up_ok, r.rows_checked, r.rows_lost) for r in results] == [
        ("mvc", "split", True, 4, 4),  # mvc's rows live in schema app; split reads account/feed
        ("split", "micro", True, 8, 4),  # split's rows survive (same schemas); mvc's still missing
        ("micro", "ddd", True, 12, 6),  # users stay in account; posts move to app (mvc's posts are back)
        ("ddd", "micro", True, 16, 6),
    ]
    assert [r.via for r in results] == [
        "Nginx LoadBalancer",
        "Service web (Kong cannot run here)",
        "Service web (Kong cannot run here)",
        "Service web (Kong cannot run here)",
    ]
    assert all(r.up_seconds == 5 for r in results) and results[0].reads.failed == 12
    # Order within a move: promote, load on, up, then the stage is read again.
    assert world.calls[1:5] == ["promote split", "load mvc-split http://10.250.1.1 author=103", "up mvc-split", "stage split"]


def test_run_moves_stops_after_a_failed_up_and_refuses_a_wrong_start() -> None:
    world = FakeWorld(fail_up_to="micro")
    checked: list[str] = []
    results = moves.run_moves(["mvc", "split", "micro", "ddd"], world, world, rows=1, after_move=checked.append)
    assert [(r.to, r.up_ok) for r in results] == [("split", True), ("micro", False)]
    # The stage's checks run after a move that reached it, never after a failed `up`.
    assert checked == ["mvc-split"]
    with pytest.raises(SystemExit, match="runs stage mvc, the path starts at split"):
        moves.run_moves(["split", "micro"], FakeWorld(), FakeWorld(), rows=1)


def test_read_spread_needs_every_ready_replica_reached_and_nothing_else() -> None:
    replicas = ["mysql-replica-0", "mysql-replica-1"]
    assert checks.judge_read_spread({"mysql-replica-0": 14, "mysql-replica-1": 16}, replicas)[0]
    # What a headless name would give: glibc orders same-subnet addresses, so one replica takes all.
    ok, detail = checks.judge_read_spread({"mysql-replica-0": 30}, replicas)
    assert not ok and "none reached mysql-replica-1" in detail
    ok, detail = checks.judge_read_spread({"mysql-replica-0": 15, "mysql-replica-1": 14, "mysql-0": 1}, replicas)
    assert not ok and "not ready replicas: mysql-0" in detail
    assert not checks.judge_read_spread({}, [])[0]
