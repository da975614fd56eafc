"""The end-to-end checks of one running stage. Each takes the context (stage, entry, HTTP client,
kubectl) and returns a Result; what counts as a pass is decided by small pure functions
(`judge_*`), unit-tested without a cluster. A check that does not apply to the stage says why."""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from e2e.entry import Entry
from e2e.http import Response
from e2e.kube import Pod
from e2e.push import Subscriber, notification_for
from e2e.stage import Stage

Status = Literal["pass", "fail", "n/a"]
# The backend refuses bodies over 64 KiB (app/api/middleware.py); Nginx lets 10 MiB through.
OVERSIZED = 70 * 1024


@dataclass(frozen=True)
class Result:
    name: str
    status: Status
    detail: str


class Http(Protocol):
    def request(
        self, method: str, url: str, body: Any = None, raw: bytes | None = None, content_type: str = "application/json"
    ) -> Response: ...
    def get(self, url: str) -> Response: ...
    def post(self, url: str, body: Any) -> Response: ...


class KubeLike(Protocol):
    namespace: str

    def pods(self, name: str) -> list[Pod]: ...
    def logs(self, name: str, since: str = "5m") -> str: ...
    def exec(self, pod: str, argv: list[str], timeout: float = 60) -> Any: ...
    def delete_pod(self, pod: str) -> None: ...
    def services(self) -> dict[str, Any]: ...


@dataclass
class Ctx:
    stage: Stage
    entry: Entry
    http: Http
    kube: KubeLike
    subscribe: Callable[[str], Subscriber] = Subscriber
    # Filled as the checks run: the user and post they made.
    # Whether the failover check may delete a provider pod (the cluster's owner may forbid it).
    may_delete: bool = True
    user: dict[str, Any] = field(default_factory=dict)
    post: dict[str, Any] = field(default_factory=dict)
    notification: dict[str, Any] = field(default_factory=dict)


def ok(name: str, detail: str) -> Result:
    return Result(name, "pass", detail)


def fail(name: str, detail: str) -> Result:
    return Result(name, "fail", detail)


def na(name: str, detail: str) -> Result:
    return Result(name, "n/a", detail)


# --- users, posts, push ----------------------------------------------------------------------


def create_user(c: Ctx) -> Result:
    name = "create user"
    r = c.http.post(c.entry.url("/users"), {"username": f"e2e_{secrets.token_hex(6)}", "displayName": "E2E"})
    if r.status != 201 or not isinstance(r.json(), dict) or "id" not in r.json():
        return fail(name, f"POST /users -> {r.status} {r.error_message()}")
    c.user = r.json()
    back = c.http.get(c.entry.url(f"/users/{c.user['id']}"))
    if back.status != 200 or back.json() != c.user:
        return fail(name, f"GET /users/{c.user['id']} -> {back.status} {back.body[:200]!r}, want {c.user}")
    return ok(name, f"user {c.user['id']} created and read back (owner: {c.stage.account_owner})")


def post_and_push(c: Ctx) -> list[Result]:
    """A post by the user; its push notification on the user's channel, subscribed before posting."""
    if not c.user:
        return [fail("create post", "no user (create user failed)")]
    push = c.stage.push
    sub: Subscriber | None = None
    sub_error = ""
    if push is not None:
        try:
            sub = c.subscribe(c.entry.ws(f"{push.path}/user.{c.user['id']}")).__enter__()
        except (OSError, TimeoutError) as e:
            sub_error = str(e)
    try:
        body = f"e2e post {secrets.token_hex(4)}"
        r = c.http.post(c.entry.url("/posts"), {"userId": c.user["id"], "body": body})
        if r.status != 201 or not isinstance(r.json(), dict):
            return [fail("create post", f"POST /posts -> {r.status} {r.error_message()}")]
        c.post = r.json()
        back = c.http.get(c.entry.url(f"/posts/{c.post['id']}"))
        results = [
            ok("create post", f"post {c.post['id']} created and read back (owner: {c.stage.post_owner})")
            if back.status == 200 and back.json() == c.post
            else fail("create post", f"GET /posts/{c.post['id']} -> {back.status}, want {c.post}")
        ]
        if push is None:
            results.append(na("push notification", "the stage has no push service"))
        elif sub is None:
            results.append(fail("push notification", f"{push.kind}: could not subscribe: {sub_error}"))
        else:
            got = sub.wait_for(notification_for(c.post["id"]), timeout=15)
            results.append(
                ok("push notification", f"{push.kind}: the subscriber on user.{c.user['id']} got post {c.post['id']}'s notification")
                if got
                else fail("push notification", f"{push.kind}: nothing for post {c.post['id']} on user.{c.user['id']} within 15 s")
            )
        return results
    finally:
        if sub is not None:
            sub.__exit__(None, None, None)


# --- cache, Celery ---------------------------------------------------------------------------


def judge_feed_cache(first: Response, second: Response) -> tuple[bool, str]:
    """The second of two reads of the same feed page is served from the cache (X-Cache: hit)."""
    if first.status != 200 or second.status != 200:
        return False, f"GET /feed -> {first.status}, {second.status}"
    a, b = first.json() or {}, second.json() or {}
    if b.get("cached") is not True or second.headers.get("x-cache") != "hit":
        return False, f"second read not from the cache (cached={b.get('cached')}, X-Cache={second.headers.get('x-cache')})"
    if a.get("posts") != b.get("posts"):
        return False, "the cached page differs from the one just read"
    return True, f"first read {first.headers.get('x-cache')}, second hit ({len(b.get('posts', []))} posts)"


def feed_cache(c: Ctx) -> Result:
    # A page size nobody else reads (the API forgets only 10/20/50/100 on a new post), so the
    # first read is the database's and the second the cache's.
    limit = 1 + secrets.randbelow(99)
    while limit in (10, 20, 50, 100):
        limit = 1 + secrets.randbelow(99)
    url = c.entry.url(f"/feed?limit={limit}")
    passed, detail = judge_feed_cache(c.http.get(url), c.http.get(url))
    return Result("feed from cache", "pass" if passed else "fail", f"limit={limit}: {detail}")


def wait_notification(c: Ctx, timeout: float = 20) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = c.http.get(c.entry.url(f"/feed/notifications?userId={c.user['id']}"))
        found = next((n for n in (r.json() or {}).get("notifications", []) if n.get("postId") == c.post["id"]), None)
        if r.status == 200 and found:
            return dict(found)
        time.sleep(0.5)
    return None


def judge_celery_log(logs: str, notification_id: int) -> bool:
    """A worker's log shows the announce task that made this notification (Celery's 'succeeded' line)."""
    return any(
        "notifications.announce[" in line and "succeeded" in line and f"'notification': {notification_id}," in line
        for line in logs.splitlines()
    )


def celery_task(c: Ctx) -> list[Result]:
    if not c.post:
        return [fail("notification row", "no post (create post failed)")]
    n = wait_notification(c)
    if n is None:
        return [fail("notification row", f"no notification for post {c.post['id']} within 20 s")]
    c.notification = n
    out = [ok("notification row", f"notification {n['id']} for post {c.post['id']}")]
    workers = c.stage.workers_of(c.stage.post_owner)
    if not workers:
        out.append(na("Celery task", f"the posts' owner ({c.stage.post_owner}) runs no Celery workers in this stage: it announces inline"))
        return out
    # The row is written before the task's pushes end and Celery logs 'succeeded': poll a while.
    deadline, seen = time.monotonic() + 20, False
    while not seen and time.monotonic() < deadline:
        seen = judge_celery_log("\n".join(c.kube.logs(w, since="5m") for w in workers), n["id"])
        if not seen:
            time.sleep(1)
    out.append(
        ok("Celery task", f"{'/'.join(workers)} ran notifications.announce -> notification {n['id']}")
        if seen
        else fail(
            "Celery task", f"no 'notifications.announce ... succeeded' line naming notification {n['id']} in {'/'.join(workers)}'s logs"
        )
    )
    return out


# --- short URLs ------------------------------------------------------------------------------


def short_url(c: Ctx) -> Result:
    name = "short URL followed"
    route = c.stage.short_url_route
    if route is None:
        return na(name, "the stage has no short-URL service")
    target = f"http://example.invalid/e2e/{secrets.token_hex(4)}"
    r = c.http.post(c.entry.url("/short-urls"), {"url": target})
    if r.status != 201:
        return fail(name, f"POST /short-urls -> {r.status} {r.error_message()}")
    code = r.json()["code"]
    follow = c.http.get(c.entry.url(f"{route}/{code}"))
    if follow.status in (301, 302, 307, 308) and follow.headers.get("location") == target:
        return ok(name, f"{route}/{code} -> {follow.status} {target}")
    return fail(name, f"GET {route}/{code} -> {follow.status} Location={follow.headers.get('location')}, want a redirect to {target}")


# --- RPC: failover, rate limit ---------------------------------------------------------------


def judge_failover(statuses: list[int]) -> tuple[bool, str]:
    bad = [s for s in statuses if s != 200]
    return (not bad and len(statuses) > 0), f"{len(statuses) - len(bad)}/{len(statuses)} reads answered 200" + (
        f" (others: {sorted(set(bad))})" if bad else ""
    )


def rpc_failover(c: Ctx, seconds: float = 10) -> Result:
    name = "RPC failover (provider pod deleted)"
    owner = c.stage.account_owner
    if owner not in c.stage.rpc_callees:
        return na(name, "the entry service reaches its data over no RPC in this stage")
    if not c.user:
        return fail(name, "no user (create user failed)")
    if not c.may_delete:
        return na(name, "not run: deleting pods was not allowed on this cluster (--no-delete)")
    pods = [p for p in c.kube.pods(owner) if p.ready and not p.deleting]
    if len(pods) < 2:
        return na(name, f"{owner} has {len(pods)} ready pod(s): a failover needs two")
    victim = pods[0]
    c.kube.delete_pod(victim.name)
    statuses: list[int] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        statuses.append(c.http.get(c.entry.url(f"/users/{c.user['id']}")).status)
        time.sleep(0.05)
    passed, detail = judge_failover(statuses)
    return Result(name, "pass" if passed else "fail", f"deleted {victim.name} ({owner}); over {seconds:g} s: {detail}")


RATE_LIMIT_SNIPPET = r"""
import json, sys, time
from gevent import monkey; monkey.patch_all()
import gevent
from app.errors import RateLimited
from app.rpc.client import shared_client
callee, method, ident, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
client = shared_client()
res = {"ok": 0, "limited": 0, "other": 0, "errors": {}, "message": "", "error": ""}
def one():
    try:
        client.call(callee, method, {"id": ident}, key=str(ident))
        res["ok"] += 1
    except RateLimited as e:
        res["limited"] += 1
        res["message"] = str(e)
    except Exception as e:
        res["other"] += 1
        res["errors"][type(e).__name__] = res["errors"].get(type(e).__name__, 0) + 1
        res["error"] = repr(e)[:300]
t0 = time.monotonic()
gevent.joinall([gevent.spawn(one) for _ in range(n)], timeout=60)
res["seconds"] = time.monotonic() - t0
print(json.dumps(res))
"""


def judge_rate_limit(out: dict[str, Any], burst: int, per_second: float) -> tuple[bool, str]:
    """The client's own bucket, judged on what it let through: calls beyond the burst, all at once,
    are refused with the client's message, and the calls let through (answered, or failed after
    leaving the client) are at most the burst plus what refilled while they ran. A let-through call
    that timed out (Unavailable) is the callee being slow, not the limiter failing (seen at load 12
    to 25 on 2 cores): it is reported, not judged; any other error fails the check, as does no
    answer at all."""
    ok, limited, other = int(out.get("ok", 0)), int(out.get("limited", 0)), int(out.get("other", 0))
    errors: dict[str, int] = out.get("errors") or ({"unknown": other} if other else {})
    cap = burst + math.ceil(per_second * float(out.get("seconds", 0.0))) + 1
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(errors.items())) or "none"
    detail = f"{ok} answered, {limited} refused, {other} failed after the limiter ({kinds})"
    if not limited or "rate limit" not in str(out.get("message")):
        return False, f"{detail}: nothing refused by the client's rate limit"
    if ok + other > cap:
        return False, f"{detail}: the limiter let {ok + other} through, more than burst {burst} + refill = {cap}"
    if set(errors) - {"Unavailable"}:
        return False, f"{detail}: {out.get('error')}"
    if ok < 1:
        return False, f"{detail}: no call got through at all"
    return True, f"{detail}; at most {cap} may pass (burst {burst}, {per_second:g}/s); refusal: {out.get('message')}"


def rate_limit(c: Ctx) -> Result:
    name = "RPC client rate limit refuses"
    rl = c.stage.rate_limit
    if rl is None:
        return na(name, "the entry service calls no RPC service with a client rate limit")
    if not c.user:
        return fail(name, "no user (create user failed)")
    pods = [p for p in c.kube.pods(rl.caller) if p.ready and not p.deleting]
    if not pods:
        return fail(name, f"no ready {rl.caller} pod to call from")
    method = "Account.get" if rl.callee == c.stage.account_owner else "Post.get"
    ident = c.user["id"] if method == "Account.get" else c.post.get("id", 1)
    # Run in a caller pod: its rpc.json, its etcd credentials, the client library it runs.
    n = 3 * rl.burst
    done = c.kube.exec(pods[0].name, ["python", "-c", RATE_LIMIT_SNIPPET, rl.callee, method, str(ident), str(n)], timeout=120)
    if done.returncode != 0:
        return fail(name, f"exec in {pods[0].name}: {done.stderr.strip()[-300:]}")
    passed, detail = judge_rate_limit(json.loads(done.stdout.strip().splitlines()[-1]), rl.burst, rl.per_second)
    return Result(name, "pass" if passed else "fail", f"{n} concurrent {method} from {pods[0].name} to {rl.callee}: {detail}")


# --- reads spread over the replicas ----------------------------------------------------------

# Opens n new connections to the service's read database as its pool does (Django's parameters
# from the pod's settings: the mysql-read-client Service, which balances per connection) and asks
# each which server it reached.
READ_SPREAD_SNIPPET = r"""
import collections, json, sys
import django
django.setup()
from django.db import connections
from app.dbpool import base
params = connections["replica"].get_connection_params()
seen = collections.Counter()
for _ in range(int(sys.argv[1])):
    raw = base.mysql_base.Database.connect(**params)
    try:
        with raw.cursor() as cur:
            cur.execute("SELECT @@hostname")
            seen[cur.fetchone()[0]] += 1
    finally:
        raw.close()
print(json.dumps(dict(seen)))
"""


def judge_read_spread(seen: dict[str, int], replicas: list[str]) -> tuple[bool, str]:
    """Every ready replica took some of the new connections, and nothing else did (the primary)."""
    missed = sorted(set(replicas) - set(seen))
    strays = sorted(set(seen) - set(replicas))
    counts = ", ".join(f"{h} {n}" for h, n in sorted(seen.items()))
    detail = f"{sum(seen.values())} new connections: {counts or 'none'}"
    if missed:
        detail += f"; none reached {', '.join(missed)}"
    if strays:
        detail += f"; reached servers that are not ready replicas: {', '.join(strays)}"
    return (bool(replicas) and not missed and not strays), detail


def read_spread(c: Ctx, n: int = 30) -> Result:
    name = "reads spread over the replicas"
    if not c.stage.replica_readers:
        return na(name, "no service reads from MySQL read replicas in this stage")
    replicas = [p.name for p in c.kube.pods("mysql-replica") if p.ready and not p.deleting]
    if len(replicas) < 2:
        return na(name, f"{len(replicas)} ready replica(s): spreading needs two")
    for reader in c.stage.replica_readers:
        pods = [p for p in c.kube.pods(reader) if p.ready and not p.deleting]
        if pods:
            break
    else:
        return fail(name, f"no ready pod of {', '.join(c.stage.replica_readers)} to connect from")
    done = c.kube.exec(pods[0].name, ["python", "-c", READ_SPREAD_SNIPPET, str(n)], timeout=120)
    if done.returncode != 0:
        return fail(name, f"exec in {pods[0].name}: {done.stderr.strip()[-300:]}")
    passed, detail = judge_read_spread(json.loads(done.stdout.strip().splitlines()[-1]), replicas)
    return Result(name, "pass" if passed else "fail", f"from {pods[0].name} ({reader}): {detail}")


# --- the call-graph law at run time ----------------------------------------------------------

CONNECT_SNIPPET = r"""
import json, socket, sys
res = {}
for label, host, port in zip(sys.argv[1::3], sys.argv[2::3], sys.argv[3::3]):
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((host, int(port)))
        res[label] = "connected"
    except Exception as e:
        res[label] = f"{type(e).__name__}: {e}"
    finally:
        s.close()
print(json.dumps(res))
"""


def judge_policy(out: dict[str, str]) -> tuple[bool, str]:
    forbidden, allowed = out.get("forbidden", "?"), out.get("allowed", "?")
    passed = forbidden != "connected" and allowed == "connected"
    return passed, f"forbidden call: {forbidden}; allowed call: {allowed}"


def network_policy(c: Ctx) -> Result:
    name = "app->app call refused by NetworkPolicy"
    f, a = c.stage.forbidden, c.stage.allowed
    if f is None or a is None:
        return na(name, "no call-graph law in this stage (no data-service layer)")
    services = c.kube.services()
    pods = [p for p in c.kube.pods(f.caller) if p.ready and not p.deleting]
    if not pods:
        return fail(name, f"no ready {f.caller} pod")

    def target(svc: str) -> list[str]:
        return [f"{svc}.{c.kube.namespace}.svc.cluster.local", str(services[svc]["spec"]["ports"][0]["port"])]

    done = c.kube.exec(pods[0].name, ["python", "-c", CONNECT_SNIPPET, "forbidden", *target(f.callee), "allowed", *target(a.callee)])
    if done.returncode != 0:
        return fail(name, f"exec in {pods[0].name}: {done.stderr.strip()[-300:]}")
    passed, detail = judge_policy(json.loads(done.stdout.strip().splitlines()[-1]))
    return Result(name, "pass" if passed else "fail", f"from {pods[0].name}: {f.caller}->{f.callee} vs {a.caller}->{a.callee}: {detail}")


# --- bad input -------------------------------------------------------------------------------


def judge_bad(r: Response, status: int, words: str) -> tuple[bool, str]:
    msg = r.error_message()
    if r.incomplete:
        return False, f"{r.status}, but the connection broke before the body ({len(r.body)} bytes) ended"
    passed = r.status == status and words.lower() in msg.lower()
    return passed, f"{r.status} {msg[:120]}"


def bad_input(c: Ctx) -> Result:
    uid = 987654321
    users, posts = c.entry.url("/users"), c.entry.url("/posts")
    cases: list[tuple[str, Callable[[], Response], int, str]] = [
        ("malformed JSON", lambda: c.http.request("POST", users, raw=b'{"username": "x",'), 400, "malformed JSON"),
        ("unknown user", lambda: c.http.get(c.entry.url(f"/users/{uid}")), 404, "not found"),
        ("post by an unknown user", lambda: c.http.post(posts, {"userId": uid, "body": "x"}), 404, "not found"),
        ("oversized body", lambda: c.http.request("POST", users, raw=b'{"username": "' + b"a" * OVERSIZED + b'"}'), 413, "limit"),
        ("wrong type", lambda: c.http.post(posts, {"userId": "one", "body": "x"}), 400, "userId"),
    ]
    lines, passed = [], True
    for label, send, status, words in cases:
        try:
            good, detail = judge_bad(send(), status, words)
        except Exception as e:  # noqa: BLE001 - no answer is this case's failure
            good, detail = False, f"{type(e).__name__}: {e}"[:200]
        passed &= good
        lines.append(f"{label}: {detail}{'' if good else f' (want {status})'}")
    return Result("bad input -> 4xx with a message", "pass" if passed else "fail", "; ".join(lines))


def guarded(name: str, check: Callable[[Ctx], Result | list[Result]], c: Ctx) -> list[Result]:
    """One check; whatever it raises is its failure, never the end of the run."""
    try:
        out = check(c)
    except Exception as e:  # noqa: BLE001 - reported as this check's failure
        return [fail(name, f"{type(e).__name__}: {e}"[:400])]
    return out if isinstance(out, list) else [out]


def run_all(c: Ctx) -> list[Result]:
    """Every check, in the order they build on each other; a crash fails only its own check."""
    steps: list[tuple[str, Callable[[Ctx], Result | list[Result]]]] = [
        ("create user", create_user),
        ("create post", post_and_push),
        ("feed from cache", feed_cache),
        ("notification row", celery_task),
        ("short URL followed", short_url),
        ("reads spread over the replicas", read_spread),
        ("RPC client rate limit refuses", rate_limit),
        ("app->app call refused by NetworkPolicy", network_policy),
        ("bad input -> 4xx with a message", bad_input),
        # Last: it deletes a pod.
        ("RPC failover (provider pod deleted)", rpc_failover),
    ]
    return [r for name, check in steps for r in guarded(name, check, c)]


def report(stage: str, how: str, results: list[Result]) -> str:
    lines = [f"stage {stage} through {how}", "", "| check | result | detail |", "|---|---|---|"]
    lines += [f"| {r.name} | {r.status} | {r.detail.replace('|', '/')} |" for r in results]
    return "\n".join(lines)
