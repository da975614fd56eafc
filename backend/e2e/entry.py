"""Where a request for a path goes: the stage's entry, resolved from the cluster's Services.

mvc, split (Nginx): every route, the push subscriber and the short URLs go through the Nginx
LoadBalancer's address. micro, ddd (Kong): Kong cannot run here (no image in Debian or the Go
proxy), so each route goes to the address Kong would forward it to: the web service's ClusterIP for
its routes, the short-URL Service, and a push pod (its Service is headless). Kong's own work
(key-auth, rate limits) is therefore not exercised. Pure: the cluster's JSON is passed in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from e2e.stage import Stage


@dataclass(frozen=True)
class Entry:
    # Route prefix -> base URL (scheme://host:port), longest prefix first when resolving.
    bases: dict[str, str]
    # How it was reached, for the report.
    how: str

    def url(self, path: str) -> str:
        """The URL of a path, by the edge's rule: the longest route prefix on segment boundaries."""
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        for prefix in sorted(self.bases, key=len, reverse=True):
            if prefix == "/" or path == prefix or path.startswith(prefix + "/") or path.startswith(prefix + "?"):
                return self.bases[prefix] + path
        raise ValueError(f"no route takes {path} (routes: {sorted(self.bases)})")

    def ws(self, path: str) -> str:
        return "ws" + self.url(path)[len("http") :]


def _service(services: dict[str, Any], name: str) -> dict[str, Any]:
    svc = services.get(name)
    if svc is None:
        raise LookupError(f"Service {name} is not in the namespace (Services: {sorted(services)})")
    out: dict[str, Any] = svc
    return out


def cluster_ip_base(services: dict[str, Any], name: str) -> str:
    spec = _service(services, name)["spec"]
    ip = spec.get("clusterIP")
    if not ip or ip == "None":
        raise LookupError(f"Service {name} has no cluster IP (headless): use its endpoints")
    return f"http://{ip}:{spec['ports'][0]['port']}"


def load_balancer_base(services: dict[str, Any], name: str) -> str:
    svc = _service(services, name)
    ingress = (svc.get("status", {}).get("loadBalancer", {}) or {}).get("ingress") or []
    if not ingress:
        raise LookupError(f"Service {name} has no LoadBalancer address yet (status.loadBalancer.ingress is empty)")
    host = ingress[0].get("ip") or ingress[0].get("hostname")
    port = next((p["port"] for p in svc["spec"]["ports"] if p.get("name") == "http"), svc["spec"]["ports"][0]["port"])
    return f"http://{host}" + ("" if port == 80 else f":{port}")


def endpoint_base(endpoints: dict[str, Any], port_name: str) -> str:
    """The first ready address of an Endpoints object, on the named port (a headless Service's pods)."""
    for subset in endpoints.get("subsets") or []:
        port = next((p["port"] for p in subset.get("ports", []) if p.get("name") == port_name), None)
        for a in subset.get("addresses") or []:
            if port is not None:
                return f"http://{a['ip']}:{port}"
    raise LookupError(f"Endpoints {endpoints.get('metadata', {}).get('name')}: no ready address with port {port_name!r}")


def resolve(stage: Stage, services: dict[str, Any], push_endpoints: dict[str, Any] | None, edge_service: str = "nginx") -> Entry:
    """The entry of a running stage, from `kubectl get svc -o json` (by name) and the push Endpoints."""
    if stage.edge == "nginx":
        lb = load_balancer_base(services, edge_service)
        bases = dict.fromkeys(stage.routes, lb)
        if stage.push:
            bases[stage.push.path] = lb
        if stage.short_url_route:
            bases[stage.short_url_route] = lb
        return Entry(bases, f"the {edge_service} LoadBalancer {lb}")
    bases = {route: cluster_ip_base(services, svc) for route, svc in stage.routes.items()}
    if stage.short_url_route:
        bases[stage.short_url_route] = cluster_ip_base(services, "shorturl")
    if stage.push:
        if push_endpoints is None:
            raise LookupError("the push Service is headless: its Endpoints are needed")
        bases[stage.push.path] = endpoint_base(push_endpoints, "ws")
    return Entry(
        bases, "the services Kong would route to (Kong cannot run here): " + ", ".join(f"{k} {v}" for k, v in sorted(bases.items()))
    )
