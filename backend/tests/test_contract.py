"""The contract: what Stagecraft's own TypeScript renders for every service of every stage
(settings.json, rpc.json, uwsgi.ini; components/app/*.ts via ts-node) is read by this backend,
and the mvc web service's uwsgi.ini runs this app under the real uWSGI (pyuwsgi, gevent built in)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from app import domain
from app.config import parse_settings
from app.rpc.config import parse_rpc
from app.rpc.handlers import handlers_for
from tests.conftest import TMP
from tests.servers import free_port, process

BACKEND = Path(__file__).resolve().parent.parent
ROOT = BACKEND.parent

RENDER = r"""
require("ts-node").register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
const fs = require("fs");
const { readStackFile } = require("./spec/stackFile");
const { validateStack } = require("./validate/validateStack");
const { appSettings, ENV } = require("./components/app/appSettings");
const { rpcConfigJson } = require("./components/app/rpcConfig");
const { uwsgiIni } = require("./components/app/uwsgiIni");
const { WSGI_MODULE } = require("./components/app/servicePod");
const { DEFAULT_PREFIX_ROOT } = require("./model/registry");
const { SHORT_URL_KEY_PREFIX } = require("./components/app/openrestyConf");
const ns = "stagecraft";
const out = { "": { shortUrlKeyPrefix: SHORT_URL_KEY_PREFIX } };
for (const f of fs.readdirSync("stacks").filter((f) => /^Pulumi\..+\.yaml$/.test(f)).sort()) {
  const { stack, raw } = readStackFile("stacks/" + f);
  const { spec, model } = validateStack(stack, raw);
  const members = spec.data.etcd ? spec.data.etcd.members : 0;
  const endpoints = Array.from({ length: members }, (_, i) => `http://etcd-${i}.etcd.${ns}.svc.cluster.local:2379`);
  out[stack] = {};
  for (const s of spec.services) {
    const rpc = members && model.registryUsers.has(s.name)
      ? JSON.parse(rpcConfigJson({ service: s, services: spec.services, etcdEndpoints: endpoints, prefixRoot: DEFAULT_PREFIX_ROOT,
          etcdAuth: spec.data.etcd.auth ? { passwordEnv: ENV.etcdPassword } : undefined }))
      : null;
    const ini = s.kind === "web" ? uwsgiIni({ service: s, httpPort: 8000, module: WSGI_MODULE, bindAddress: "127.0.0.1" }) : null;
    out[stack][s.name] = { kind: s.kind, port: s.port, settings: appSettings(s, model, ns), rpc, uwsgiIni: ini,
      shortUrlDb: spec.shortUrl ? spec.shortUrl.redisDb : null,
      contexts: s.contexts.map((c) => c.aggregateRoot) };
  }
}
process.stdout.write(JSON.stringify(out));
"""


@cache
def rendered() -> dict[str, dict[str, Any]]:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "ts-node").is_dir():
        if os.environ.get("CI"):
            pytest.fail("node and the project's node_modules are needed to render the contract (npm ci)")
        pytest.skip("node_modules is missing (run `npm ci` at the repository root) : the contract is rendered by the project's TypeScript")
    out = subprocess.run([node, "-e", RENDER], cwd=ROOT, capture_output=True, timeout=180)
    assert out.returncode == 0, out.stderr.decode()[-3000:]
    data: dict[str, dict[str, Any]] = json.loads(out.stdout)
    return data


def roots_served(handlers: dict[str, Any]) -> set[str]:
    """RPC methods are `<Root>.<verb>`: the aggregate roots a handler table serves."""
    return {m.split(".")[0] for m in handlers}


def services() -> list[tuple[str, str]]:
    stacks = sorted(p.name.split(".")[1] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
    # The service names are read from the stack files' text so parametrisation needs no node.
    out = []
    for stack in stacks:
        text = (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text()
        section = text.split("    services:")[1].split("\n    workers:")[0]
        out += [(stack, line.split("name:")[1].strip()) for line in section.splitlines() if line.strip().startswith("- name:")]
    return out


@pytest.mark.parametrize(("stack", "service"), services())
def test_every_rendered_service_config_is_understood(stack: str, service: str) -> None:
    r = rendered()[stack][service]
    s = parse_settings(r["settings"], f"{stack}/{service}/settings.json")
    assert s.service == service
    if r["kind"] == "web":
        # A web service serves the whole API: users and posts, its own or through a callee.
        domain.accounts_for(s)
        domain.posts_for(s)
        assert r["uwsgiIni"] and "module = app.wsgi:application" in r["uwsgiIni"]
    if r["rpc"] is not None:
        rpc = parse_rpc(r["rpc"], f"{stack}/{service}/rpc.json")
        for name, call in s.calls.items():
            if call.protocol == "rpc":
                assert name in rpc.callees, f"{service} calls {name} over RPC but rpc.json has no policy for it"
        if r["kind"] == "rpc":
            assert rpc.registration is not None and rpc.registration.port == r["port"]
            # An RPC service owns data and serves at least one aggregate root from it; a data
            # service with bounded contexts serves exactly their roots, nothing else.
            served = roots_served(handlers_for(s))
            assert served
            if r["contexts"]:
                assert served == set(r["contexts"]), f"{stack}/{service} serves {sorted(served)}, its contexts say {r['contexts']}"
    if r["kind"] == "web" and r["shortUrlDb"] is not None and s.cache is not None:
        # Where the short-URL service (OpenResty) reads: its Redis DB, its key prefix.
        assert s.short_url is not None, f"{stack}/{service}: the stage runs short URLs but settings.json has no shortUrl"
        assert (s.short_url.db, s.short_url.prefix) == (r["shortUrlDb"], rendered()[""]["shortUrlKeyPrefix"])
    else:
        assert s.short_url is None


def test_the_contract_closes_the_old_gaps() -> None:
    """Not vacuous: the stages do render short URLs and bounded contexts, and tormq gets no Redis."""
    ddd = rendered()["ddd"]
    assert parse_settings(ddd["web"]["settings"]).short_url is not None
    assert parse_settings(rendered()["micro"]["web"]["settings"]).short_url is not None
    assert parse_settings(rendered()["mvc"]["web"]["settings"]).short_url is None
    assert roots_served(handlers_for(parse_settings(ddd["user-data"]["settings"]))) == {"Account", "Profile"}
    assert roots_served(handlers_for(parse_settings(ddd["content-data"]["settings"]))) == {"Post", "Comment"}


def test_the_rendered_uwsgi_ini_runs_the_app() -> None:
    ini = rendered()["mvc"]["web"]["uwsgiIni"]
    port = free_port()
    ini = ini.replace("http-socket = 127.0.0.1:8000", f"http-socket = 127.0.0.1:{port}")
    assert f"127.0.0.1:{port}" in ini
    path = TMP / "uwsgi.ini"
    path.write_text(ini)
    uwsgi = BACKEND / ".venv" / "bin" / "uwsgi"
    if not uwsgi.exists():
        uwsgi = Path(shutil.which("uwsgi") or "uwsgi")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.django_settings", "PYTHONPATH": str(BACKEND)}
    with process([str(uwsgi), "--ini", str(path)], port, env=env, timeout=30):

        def get(p: str) -> tuple[int, Any]:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{p}", timeout=10) as resp:
                return resp.status, json.loads(resp.read())

        assert get("/healthz") == (200, {"status": "ok"})
        assert get("/readyz") == (200, {"status": "ok", "database": "ok"})
        status, doc = get("/openapi.json")
        assert status == 200 and doc["openapi"] == "3.1.0"
