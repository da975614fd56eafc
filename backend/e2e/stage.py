"""What a stage offers the end-to-end checks, read from its validated spec (the stack's
`stagecraft:spec`, rendered to JSON by the project's TypeScript: spec/stackFile + validateStack).
Pure: no cluster, no network."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent.parent

# The owners of users and posts, as the backend picks them (app/domain.py): the callees with these names.
ACCOUNT_OWNERS = ("account", "user-data")
POST_OWNERS = ("feed", "content-data")


@dataclass(frozen=True)
class Push:
    kind: Literal["nchan", "tormq"]
    # Public path subscribers connect under: <path>/<channel>.
    path: str


@dataclass(frozen=True)
class RateLimit:
    caller: str
    callee: str
    per_second: float
    burst: int


@dataclass(frozen=True)
class Call:
    """A TCP connection one service opens to another (or is refused by the call-graph law)."""

    caller: str
    callee: str


@dataclass(frozen=True)
class Stage:
    stage: str
    edge: Literal["nginx", "kong"]
    # Route prefix -> the web service the edge sends it to (longest prefix wins).
    routes: dict[str, str]
    push: Push | None
    short_url_route: str | None
    # Who owns users and posts when the entry service is asked (itself, or a callee).
    account_owner: str
    post_owner: str
    # RPC services the entry service calls (for failover), with their kinds.
    rpc_callees: tuple[str, ...]
    rate_limit: RateLimit | None
    # Services running Celery workers (by their worker Deployment names).
    celery_workers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # A layered stage (data services exist): an app->app call the law forbids, and one it allows.
    forbidden: Call | None = None
    allowed: Call | None = None
    # Services whose reads go to the MySQL read replicas, and how many replicas there are.
    replica_readers: tuple[str, ...] = ()
    read_replicas: int = 0

    @property
    def entry_service(self) -> str:
        return self.routes.get("/") or sorted(self.routes.items())[0][1]

    def workers_of(self, service: str) -> tuple[str, ...]:
        return self.celery_workers.get(service, ())


def _owner(entry: dict[str, Any], owners: tuple[str, ...]) -> str:
    calls = entry.get("calls", [])
    return next((o for o in owners if o in calls), entry["name"])


def stage_of(spec: dict[str, Any]) -> Stage:
    """The end-to-end view of a validated spec (spec/schema.ts after defaults)."""
    services: list[dict[str, Any]] = spec["services"]
    by_name = {s["name"]: s for s in services}
    web = [s for s in services if s["kind"] == "web"]
    routes = {r.rstrip("/") or "/": s["name"] for s in web for r in s.get("routes", [])}
    if not routes:
        raise ValueError(f"stage {spec.get('stage')}: no web service has a route; nothing is reachable from outside")
    edge: Literal["nginx", "kong"] = "kong" if spec["edge"].get("kong") else "nginx"
    entry = by_name[routes.get("/") or sorted(routes.items())[0][1]]
    push = None
    if spec.get("push"):
        p = spec["push"]
        push = Push("nchan", p["subscriberPath"].rstrip("/")) if p["kind"] == "nchan" else Push("tormq", p["path"].rstrip("/"))
    short = spec.get("shortUrl")
    rpc_callees = tuple(c for c in entry.get("calls", []) if by_name.get(c, {}).get("kind") == "rpc")
    rate_limit = None
    for callee in rpc_callees:
        policy = (by_name[callee].get("rpc") or {}).get("clientPolicy") or {}
        if "rateLimitPerSecond" in policy and "burst" in policy:
            rate_limit = RateLimit(entry["name"], callee, float(policy["rateLimitPerSecond"]), int(policy["burst"]))
            break
    workers: dict[str, list[str]] = {}
    for w in spec.get("workers", []):
        workers.setdefault(w["service"], []).append(f"celery-{w['name']}")
    forbidden = allowed = None
    if any(s.get("layer") == "data" for s in services):
        apps = [s for s in services if s.get("layer", "app") == "app"]
        for a in apps:
            other = next((b for b in apps if b["name"] != a["name"] and b["name"] not in a.get("calls", [])), None)
            if other is not None and a.get("calls"):
                forbidden, allowed = Call(a["name"], other["name"]), Call(a["name"], a["calls"][0])
                break
    read_replicas = int(spec["data"]["mysql"].get("readReplicas", 0))
    readers = tuple(s["name"] for s in services if read_replicas > 0 and (s.get("mysql") or {}).get("readFromReplicas"))
    return Stage(
        stage=spec["stage"],
        edge=edge,
        routes=routes,
        push=push,
        short_url_route=short["route"].rstrip("/") if short else None,
        account_owner=_owner(entry, ACCOUNT_OWNERS),
        post_owner=_owner(entry, POST_OWNERS),
        rpc_callees=rpc_callees,
        rate_limit=rate_limit,
        celery_workers={k: tuple(v) for k, v in workers.items()},
        forbidden=forbidden,
        allowed=allowed,
        replica_readers=readers,
        read_replicas=read_replicas,
    )


RENDER = r"""
require("ts-node").register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
const { readStackFile } = require("./spec/stackFile");
const { validateStack } = require("./validate/validateStack");
const { stack, raw } = readStackFile(process.argv[1]);
process.stdout.write(JSON.stringify(validateStack(stack, raw).spec));
"""


def load_spec(stack_file: Path) -> dict[str, Any]:
    """The validated spec of a stack file, through the project's own TypeScript (needs `npm ci`)."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is needed to read the stack (the project's TypeScript validates it)")
    out = subprocess.run([node, "-e", RENDER, str(stack_file.resolve())], cwd=ROOT, capture_output=True, timeout=180, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{stack_file}: {out.stderr.decode()[-2000:]}")
    spec: dict[str, Any] = json.loads(out.stdout)
    return spec
