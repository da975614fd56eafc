"""Stage moves under bounded load: one live stack moved along a path of stages (e.g.
mvc,split,micro,ddd,micro), each move `stagecraft promote --yes` + one `pulumi up`
(`npm run stage -- <stack> up`), while `hey` (github.com/rakyll/hey, built from the Go module
proxy into $STAGECRAFT_TOOLS/bin) reads and writes through the stage's entry. Before each move it
writes rows (users and posts) and after it reads back every row written so far; the table has,
per move, the `up`'s duration, failed/total load requests and rows lost.

The load is bounded: `hey -z <max>` stops by itself, and is stopped (SIGINT, by its PID) as soon
as the `up` ends; its addresses are the cluster's own (a LoadBalancer or a ClusterIP)."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from e2e import entry as entries
from e2e.http import Client, Response
from e2e.kube import Kube
from e2e.stage import ROOT, Stage, load_spec, stage_of

HEY_MODULE = "github.com/rakyll/hey@v0.1.5"


@dataclass(frozen=True)
class Row:
    kind: str  # "users" | "posts"
    id: int
    value: dict[str, Any]


@dataclass(frozen=True)
class LoadCount:
    total: int
    failed: int
    statuses: dict[int, int]
    errors: dict[str, int]


@dataclass(frozen=True)
class MoveResult:
    frm: str
    to: str
    via: str
    up_seconds: float
    up_ok: bool
    reads: LoadCount
    writes: LoadCount
    rows_checked: int
    rows_lost: int
    lost_examples: tuple[str, ...]


def moves_of(path: list[str]) -> list[tuple[str, str]]:
    """Adjacent pairs of a path of stages; a path must move at least once and never stay put."""
    if len(path) < 2:
        raise ValueError("a path needs at least two stages, e.g. mvc,split")
    pairs = list(itertools.pairwise(path))
    same = [a for a, b in pairs if a == b]
    if same:
        raise ValueError(f"a move must change the stage (stays at {same[0]})")
    return pairs


def parse_hey(text: str) -> LoadCount:
    """hey's summary: 'Status code distribution' and 'Error distribution' lines. Failed = every
    answer that is not 2xx + every request that got no answer (refused, reset, timed out)."""
    statuses = {int(m.group(1)): int(m.group(2)) for m in re.finditer(r"^\s*\[(\d{3})\]\s+(\d+) responses", text, re.M)}
    errors: dict[str, int] = {}
    if "Error distribution:" in text:
        for m in re.finditer(r"^\s*\[(\d+)\]\s+(.+)$", text.split("Error distribution:", 1)[1], re.M):
            # Strip the per-request address so equal errors add up.
            key = re.sub(r"\d+\.\d+\.\d+\.\d+:\d+", "ADDR", m.group(2).strip())
            errors[key] = errors.get(key, 0) + int(m.group(1))
    answered = sum(statuses.values())
    failed = sum(n for s, n in statuses.items() if not 200 <= s < 300) + sum(errors.values())
    return LoadCount(total=answered + sum(errors.values()), failed=failed, statuses=statuses, errors=errors)


def lost(rows: list[Row], read: Callable[[str], Response]) -> tuple[int, list[str]]:
    """Rows written before a move that do not read back equal after it (404, other status, or changed)."""
    missing: list[str] = []
    for r in rows:
        got = read(f"/{r.kind}/{r.id}")
        if got.status != 200 or got.json() != r.value:
            missing.append(f"{r.kind}/{r.id}: {got.status}")
    return len(missing), missing


def load_base(before: Stage, after: Stage, services: dict[str, Any]) -> tuple[str, str]:
    """Where the load goes during a move: the Nginx LoadBalancer when both stages keep Nginx;
    otherwise the web Service both stages have (Kong, the entry of micro and ddd, cannot run here)."""
    if before.edge == "nginx" and after.edge == "nginx":
        return entries.load_balancer_base(services, "nginx"), "Nginx LoadBalancer"
    web = before.entry_service
    if web != after.entry_service:
        raise ValueError(f"the entry service changes ({web} -> {after.entry_service}): no address serves both stages")
    return entries.cluster_ip_base(services, web), f"Service {web} (Kong cannot run here)"


def table(results: list[MoveResult]) -> str:
    lines = [
        "| move | load via | `pulumi up` | up ok | reads failed / total | writes failed / total | rows lost / checked |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.frm} → {r.to} | {r.via} | {r.up_seconds:.0f} s | {'yes' if r.up_ok else 'NO'} | "
            f"{r.reads.failed} / {r.reads.total} | {r.writes.failed} / {r.writes.total} | {r.rows_lost} / {r.rows_checked} |"
        )
    return "\n".join(lines)


def failure_notes(results: list[MoveResult]) -> str:
    out = []
    for r in results:
        errs = {**r.reads.errors, **{f"write: {k}": v for k, v in r.writes.errors.items()}}
        codes = {s: n for s, n in {**r.reads.statuses}.items() if not 200 <= s < 300}
        wcodes = {s: n for s, n in r.writes.statuses.items() if not 200 <= s < 300}
        if errs or codes or wcodes or r.lost_examples:
            out.append(f"- {r.frm} → {r.to}: read statuses {codes or '-'}, write statuses {wcodes or '-'}")
            out += [f"  - {n} x {e[:160]}" for e, n in sorted(errs.items(), key=lambda x: -x[1])[:5]]
            if r.lost_examples:
                out.append(f"  - lost rows, e.g. {', '.join(r.lost_examples[:5])}")
    return "\n".join(out)


# --- running it ------------------------------------------------------------------------------


def hey_binary(tools: Path) -> str:
    """hey from $STAGECRAFT_TOOLS/bin, installed from the Go module proxy the first time."""
    binary = tools / "bin" / "hey"
    if not binary.exists():
        subprocess.run(["go", "install", HEY_MODULE], env={**os.environ, "GOBIN": str(tools / "bin")}, check=True, timeout=600)
    return str(binary)


class Load:
    """Two hey processes (reads of the feed, writes of posts), bounded by -z, stopped by PID."""

    def __init__(self, hey: str, base: str, user_id: int, out_dir: Path, max_seconds: int, concurrency: int, qps: int) -> None:
        self.procs: list[tuple[subprocess.Popen[bytes], Path]] = []
        common = ["-z", f"{max_seconds}s", "-c", str(concurrency), "-q", str(qps), "-t", "10"]
        body = json.dumps({"userId": user_id, "body": "load"})
        for name, args in (
            ("reads", [*common, f"{base}/feed?limit=20"]),
            ("writes", [*common, "-m", "POST", "-T", "application/json", "-d", body, f"{base}/posts"]),
        ):
            log = out_dir / f"hey-{name}.txt"
            self.procs.append((subprocess.Popen([hey, *args], stdout=log.open("wb"), stderr=subprocess.STDOUT), log))

    def stop(self) -> tuple[LoadCount, LoadCount]:
        for p, _ in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)  # hey prints its summary on an interrupt
        for p, _ in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        reads, writes = (parse_hey(log.read_text(errors="replace")) for _, log in self.procs)
        return reads, writes


def write_rows(client: Any, url: Callable[[str], str], n: int) -> list[Row]:
    rows: list[Row] = []
    for _ in range(n):
        u = client.post(url("/users"), {"username": f"mv_{secrets.token_hex(6)}", "displayName": "move"})
        if u.status != 201:
            raise RuntimeError(f"writing rows before the move: POST /users -> {u.status} {u.error_message()}")
        p = client.post(url("/posts"), {"userId": u.json()["id"], "body": f"row {secrets.token_hex(4)}"})
        if p.status != 201:
            raise RuntimeError(f"writing rows before the move: POST /posts -> {p.status} {p.error_message()}")
        rows += [Row("users", u.json()["id"], u.json()), Row("posts", p.json()["id"], p.json())]
    return rows


def reader(client: Any, e: entries.Entry) -> Callable[[str], Response]:
    return lambda path: client.get(e.url(path))


def current_entry(stack_file: Path, kube: Kube) -> tuple[Stage, entries.Entry]:
    stage = stage_of(load_spec(stack_file))
    push = kube.endpoints("push") if stage.push and stage.push.kind == "tormq" and stage.edge == "kong" else None
    return stage, entries.resolve(stage, kube.services(), push)


class Mover(Protocol):
    """What a move needs from the world: the live stack, the cluster, the load generator."""

    def stage(self) -> tuple[Stage, entries.Entry]: ...
    def promote(self, to: str) -> Stage: ...
    def services(self) -> dict[str, Any]: ...
    def start_load(self, base: str, author: int, move: str) -> Any: ...
    def up(self, move: str) -> bool: ...


def run_moves(
    path: list[str],
    mover: Mover,
    http: Any,
    rows: int,
    clock: Callable[[], float] = time.monotonic,
    after_move: Callable[[str], None] | None = None,
) -> list[MoveResult]:
    """Each move: write rows, promote, start the load, one `up` (timed), stop the load, read every
    row written so far, then `after_move` (e.g. the stage's end-to-end checks), outside the timing
    and the ledger. Stops after a failed `up` (the stack is not on the next stage)."""
    pairs = moves_of(path)
    stage, e = mover.stage()
    if stage.stage != path[0]:
        raise SystemExit(f"the live stack runs stage {stage.stage}, the path starts at {path[0]}")
    ledger: list[Row] = []
    results: list[MoveResult] = []
    for frm, to in pairs:
        ledger += write_rows(http, e.url, rows)
        author = ledger[-2].id
        after = mover.promote(to)
        base, via = load_base(stage, after, mover.services())
        load = mover.start_load(base, author, f"{frm}-{to}")
        t0 = clock()
        up_ok = mover.up(f"{frm}-{to}")
        up_s = clock() - t0
        reads, writes = load.stop()
        if up_ok:
            stage, e = mover.stage()
        n_lost, examples = lost(ledger, reader(http, e))
        results.append(MoveResult(frm, to, via, up_s, up_ok, reads, writes, len(ledger), n_lost, tuple(examples)))
        print(table(results[-1:]), flush=True)
        if not up_ok:
            print(f"`pulumi up` of {frm} -> {to} failed; stopping", flush=True)
            break
        if after_move is not None:
            after_move(f"{frm}-{to}")
    return results


class LiveStack:
    """The real world: a stack file in this checkout, its cluster, hey."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stack_file = ROOT / "stacks" / f"Pulumi.{args.stack}.yaml"
        self.kube = Kube(args.namespace, args.kubectl, args.kubeconfig)
        self.hey = hey_binary(Path(os.environ.get("STAGECRAFT_TOOLS", ROOT / ".tools")))
        self.out = Path(args.work)

    def stage(self) -> tuple[Stage, entries.Entry]:
        return current_entry(self.stack_file, self.kube)

    def promote(self, to: str) -> Stage:
        subprocess.run(["npx", "stagecraft", "promote", "--stack", self.args.stack, "--to", to, "--yes"], cwd=ROOT, check=True, timeout=300)
        return stage_of(load_spec(self.stack_file))

    def services(self) -> dict[str, Any]:
        return self.kube.services()

    def start_load(self, base: str, author: int, move: str) -> Load:
        (self.out / move).mkdir(parents=True, exist_ok=True)
        a = self.args
        return Load(self.hey, base, author, self.out / move, a.load_max_seconds, a.concurrency, a.qps)

    def check(self, move: str) -> None:
        """The end-to-end checks of the stage just reached; their report goes to <work>/<move>/check.md."""
        a = self.args
        argv = [sys.executable, "-m", "e2e", "check", "--stack-file", str(self.stack_file), "--namespace", a.namespace]
        argv += [f"--{k}={v}" for k, v in (("kubectl", a.kubectl), ("kubeconfig", a.kubeconfig)) if v]
        argv += ["--out", str(self.out / move / "check.md")]
        # A failed check is a finding of the report, not a reason to stop moving.
        subprocess.run(argv, cwd=ROOT / "backend", check=False, timeout=900)

    def up(self, move: str) -> bool:
        with (self.out / move / "up.log").open("wb") as log:
            done = subprocess.run(
                ["npm", "run", "stage", "--", self.args.stack, "up"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=False
            )
        return done.returncode == 0


def run(args: argparse.Namespace) -> int:
    live = LiveStack(args)
    results = run_moves(args.path.split(","), live, Client(), args.rows, after_move=live.check if args.check_each else None)
    text = table(results) + "\n\n" + failure_notes(results)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0 if results and all(r.up_ok for r in results) else 1


def add_parser(sub: Any) -> None:
    m = sub.add_parser("moves", help="move a live stack along stages under bounded load; a table per move")
    m.add_argument("--stack", required=True, help="the live stack (stacks/Pulumi.<stack>.yaml), on the path's first stage")
    m.add_argument("--path", default="mvc,split,micro,ddd,micro")
    m.add_argument("--namespace", default="stagecraft")
    m.add_argument("--kubectl")
    m.add_argument("--kubeconfig")
    m.add_argument("--rows", type=int, default=10, help="users (and as many posts) written before each move")
    m.add_argument("--concurrency", type=int, default=4, help="hey workers per load process (reads, writes)")
    m.add_argument("--qps", type=int, default=5, help="requests per second per hey worker")
    m.add_argument("--load-max-seconds", type=int, default=1200, help="hey stops by itself after this long at the latest")
    m.add_argument("--work", default=str(ROOT / "artifacts" / "moves"), help="hey and pulumi logs per move")
    m.add_argument("--out", help="also write the table (markdown) here")
    m.add_argument("--check-each", action="store_true", help="run `e2e check` on each stage reached (report in the move's work dir)")
