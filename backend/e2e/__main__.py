"""python -m e2e check --stack-file stacks/Pulumi.mvc.yaml [--namespace stagecraft] [--out FILE]
python -m e2e moves ... (see e2e/moves.py)

Needs KUBECONFIG (or --kubeconfig) naming the cluster the stack runs on, kubectl (KUBECTL or on
PATH) and the project's node_modules (the stack is read through its TypeScript)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from e2e import checks, entry, moves
from e2e.http import Client
from e2e.kube import Kube
from e2e.stage import load_spec, stage_of


def check(args: argparse.Namespace) -> int:
    stage = stage_of(load_spec(Path(args.stack_file)))
    kube = Kube(args.namespace, args.kubectl, args.kubeconfig)
    services = kube.services()
    push_eps = kube.endpoints("push") if stage.push and stage.push.kind == "tormq" and stage.edge == "kong" else None
    e = entry.resolve(stage, services, push_eps)
    ctx = checks.Ctx(stage=stage, entry=e, http=Client(), kube=kube, may_delete=not args.no_delete)
    results = checks.run_all(ctx)
    text = checks.report(stage.stage, e.how, results)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 1 if any(r.status == "fail" for r in results) else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m e2e")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="every end-to-end check against a running stage")
    c.add_argument("--stack-file", required=True, help="the stack file the running stage was deployed from")
    c.add_argument("--namespace", default="stagecraft")
    c.add_argument("--kubectl")
    c.add_argument("--kubeconfig")
    c.add_argument("--out", help="also write the report (markdown) here")
    c.add_argument("--no-delete", action="store_true", help="skip the failover check, which deletes one provider pod")
    moves.add_parser(sub)
    args = p.parse_args(argv)
    if args.cmd == "check":
        return check(args)
    return moves.run(args)


if __name__ == "__main__":
    sys.exit(main())
