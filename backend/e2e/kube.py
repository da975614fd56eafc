"""kubectl, as the checks may use it in the stage's namespace: read (get, logs), exec into a pod,
delete one pod. Never anything that creates or changes objects otherwise."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from typing import Any

NAME_LABEL = "app.kubernetes.io/name"


@dataclass(frozen=True)
class Pod:
    name: str
    ip: str
    ready: bool
    deleting: bool


def pods_from(doc: dict[str, Any]) -> list[Pod]:
    """Pods of a `kubectl get pods -o json` list, sorted by name. Pure."""
    out = []
    for p in doc.get("items", []):
        conds = {c["type"]: c["status"] for c in p.get("status", {}).get("conditions", []) or []}
        out.append(
            Pod(
                name=p["metadata"]["name"],
                ip=p.get("status", {}).get("podIP", ""),
                ready=conds.get("Ready") == "True",
                deleting="deletionTimestamp" in p["metadata"],
            )
        )
    return sorted(out, key=lambda p: p.name)


class Kube:
    def __init__(self, namespace: str, kubectl: str | None = None, kubeconfig: str | None = None, timeout: float = 60) -> None:
        self.namespace = namespace
        self.kubectl = kubectl or os.environ.get("KUBECTL", "kubectl")
        self.kubeconfig = kubeconfig or os.environ.get("KUBECONFIG")
        self.timeout = timeout

    def run(self, *args: str, timeout: float | None = None) -> str:
        cmd = [self.kubectl, *(["--kubeconfig", self.kubeconfig] if self.kubeconfig else []), "-n", self.namespace, *args]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout or self.timeout, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args[:3])}: {out.stderr.strip()[-500:]}")
        return out.stdout

    def get_json(self, *what: str) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.run("get", *what, "-o", "json"))
        return doc

    def services(self) -> dict[str, Any]:
        return {s["metadata"]["name"]: s for s in self.get_json("services").get("items", [])}

    def endpoints(self, name: str) -> dict[str, Any]:
        return self.get_json("endpoints", name)

    def pods(self, name: str) -> list[Pod]:
        return pods_from(self.get_json("pods", "-l", f"{NAME_LABEL}={name}"))

    def logs(self, name: str, since: str = "5m") -> str:
        return self.run("logs", "-l", f"{NAME_LABEL}={name}", "--all-containers", "--prefix", f"--since={since}", "--tail=-1")

    def exec(self, pod: str, argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = [
            self.kubectl,
            *(["--kubeconfig", self.kubeconfig] if self.kubeconfig else []),
            "-n",
            self.namespace,
            "exec",
            pod,
            "--",
            *argv,
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)

    def delete_pod(self, pod: str) -> None:
        # Graceful (the pod's own grace period): the RPC server revokes its lease and drains.
        self.run("delete", "pod", pod, "--wait=false")
