/**
 * uwsgi.ini from uwsgiIni() on Debian's real uWSGI with its python3 and gevent plugins, serving a
 * minimal Django project generated here: it answers, runs gevent (patched before the app import),
 * recycles a stuck worker (harakiri) and finishes requests in flight on SIGTERM.
 */
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { spawnSync } from "child_process";
import { DEBIAN_UWSGI_PLUGINS, uwsgiIni } from "../../components/app/uwsgiIni";
import { validateStack } from "../../validate/validateStack";
import type { ServiceSpec } from "../../spec/schema";
import { readStackFile } from "../../spec/stackFile";
import { conformanceSuite, freePort, have, outputMatches, startServer, tmpDir, type Server } from "../lib/proc";

jest.setTimeout(90_000);

const PLUGIN_DIR = "/usr/lib/uwsgi/plugins";
/** Debian's uwsgi embeds the system Python: Django and gevent must import there. */
const SYSTEM_PYTHON = "/usr/bin/python3";
const missing = [
  ...["uwsgi"].filter((b) => !have(b)),
  ...DEBIAN_UWSGI_PLUGINS.map((p) => path.join(PLUGIN_DIR, `${p}_plugin.so`)).filter((f) => !fs.existsSync(f)),
  ...(spawnSync(SYSTEM_PYTHON, ["-c", "import django, gevent"]).status === 0 ? [] : ["python3-django / python3-gevent"]),
];

const maybe = conformanceSuite("uWSGI conformance", missing);

/** A Django project in a few lines: settings, two views, the WSGI module the ini names. */
function writeDjangoProject(dir: string): void {
  const app = path.join(dir, "app");
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, "__init__.py"), "");
  fs.writeFileSync(
    path.join(app, "settings.py"),
    ['SECRET_KEY = "conformance"', "DEBUG = False", 'ALLOWED_HOSTS = ["*"]', 'ROOT_URLCONF = "app.urls"', "INSTALLED_APPS = []", ""].join(
      "\n",
    ),
  );
  fs.writeFileSync(
    path.join(app, "wsgi.py"),
    [
      "import os, socket",
      "import gevent.socket",
      "# True only if gevent patched the socket module before this import.",
      "PATCHED_AT_IMPORT = socket.socket is gevent.socket.socket",
      'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings")',
      "from django.core.wsgi import get_wsgi_application",
      "application = get_wsgi_application()",
      "",
    ].join("\n"),
  );
  fs.writeFileSync(
    path.join(app, "urls.py"),
    [
      "import os, socket, time",
      "import django, gevent.socket",
      "from django.http import JsonResponse",
      "from django.urls import path",
      "from app import wsgi",
      "def hello(request):",
      '    return JsonResponse({"django": django.get_version(), "pid": os.getpid(),',
      '                         "patched_at_import": wsgi.PATCHED_AT_IMPORT, "patched_now": socket.socket is gevent.socket.socket})',
      "def slow(request):",
      '    time.sleep(float(request.GET.get("s", "1")))',
      '    return JsonResponse({"slept": request.GET.get("s", "1")})',
      'urlpatterns = [path("hello", hello), path("slow", slow)]',
      "",
    ].join("\n"),
  );
}

interface Reply {
  status: number;
  body: string;
}

function get(port: number, urlPath: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: urlPath, agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

const { stack, raw } = readStackFile(path.join(__dirname, "../../stacks/Pulumi.mvc.yaml"));
const web = validateStack(stack, raw).spec.services.find((s) => s.name === "web") as ServiceSpec;

maybe("uwsgi.ini on Debian's uWSGI with Django (stage mvc web)", () => {
  let dir: string;
  const servers: Server[] = [];

  /** Renders the ini for `service`, starts uWSGI on a free port and waits until it listens. */
  async function start(name: string, service: ServiceSpec): Promise<{ server: Server; port: number }> {
    const port = await freePort();
    const ini = path.join(dir, `${name}.ini`);
    fs.writeFileSync(
      ini,
      uwsgiIni({ service, httpPort: port, module: "app.wsgi:application", plugins: DEBIAN_UWSGI_PLUGINS, bindAddress: "127.0.0.1" }),
    );
    const t0 = Date.now();
    const server = await startServer(`uwsgi ${name}`, "uwsgi", ["--ini", ini], port, { cwd: dir });
    servers.push(server);
    // The socket is bound before the lazy workers import Django: wait for the app to answer.
    for (
      let r = await get(port, "/hello").catch(() => undefined);
      r?.status !== 200;
      r = await get(port, "/hello").catch(() => undefined)
    ) {
      if (Date.now() - t0 > 30_000) throw new Error(`uwsgi ${name} never answered:\n${server.output()}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    console.log(`uwsgi ${name}: answering ${Date.now() - t0} ms after start`);
    return { server, port };
  }

  beforeAll(() => {
    dir = tmpDir("uwsgi");
    writeDjangoProject(dir);
  });

  afterAll(async () => {
    for (const s of servers) await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("strict mode: uWSGI refuses the ini with an unknown option added (so acceptance means something)", () => {
    const bad = path.join(dir, "bad.ini");
    fs.writeFileSync(
      bad,
      uwsgiIni({ service: web, httpPort: 1, module: "app.wsgi:application", plugins: DEBIAN_UWSGI_PLUGINS }) + "no-such-option = 1\n",
    );
    const r = spawnSync("uwsgi", ["--ini", bad], { cwd: dir, encoding: "utf8", timeout: 30_000 });
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/unknown config directive: no-such-option/);
  });

  describe("the mvc web service: 4 processes x 100 gevent cores", () => {
    let server: Server;
    let port: number;
    beforeAll(async () => {
      ({ server, port } = await start("web", web));
    });

    test("Django answers over the http-socket, with gevent patched before the app was imported", async () => {
      const r = await get(port, "/hello");
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toMatchObject({ patched_at_import: true, patched_now: true });
      expect(server.output()).toMatch(/spawned uWSGI worker 4 \(pid: \d+, cores: 100\)/);
      // Each worker announces its gevent loop when it starts it, on its own schedule.
      await outputMatches(server, /running gevent loop engine/);
    });

    test("gevent: 20 one-second requests finish together, not 4 at a time", async () => {
      const t0 = Date.now();
      const replies = await Promise.all(Array.from({ length: 20 }, () => get(port, "/slow?s=1")));
      const elapsed = Date.now() - t0;
      expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
      // 4 blocking processes would need 5 s; cooperative greenlets need about 1 s.
      expect(elapsed).toBeLessThan(3_000);
    });

    test("SIGTERM: the request in flight completes, then the master exits", async () => {
      const inFlight = get(port, "/slow?s=2");
      await new Promise((r) => setTimeout(r, 300));
      const exited = new Promise<number | null>((r) => server.proc.on("exit", (code) => r(code)));
      server.proc.kill("SIGTERM");
      const r = await inFlight;
      expect(r).toEqual({ status: 200, body: '{"slept": "2"}' });
      await exited;
      expect(server.output()).toMatch(/waiting for 1 running requests/);
    });
  });

  test("harakiri: a request stuck past the limit is cut and its worker recycled", async () => {
    const uwsgi = { ...(web.uwsgi as NonNullable<ServiceSpec["uwsgi"]>), processes: 1, harakiri: 2 };
    const { server, port } = await start("harakiri", { ...web, uwsgi });
    const t0 = Date.now();
    const stuck = await get(port, "/slow?s=20").then(
      (r) => `answered ${r.status}`,
      (e: Error) => `cut: ${e.message}`,
    );
    expect(stuck).toMatch(/^cut: /);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(server.output()).toMatch(/HARAKIRI/);
    // The recycled worker serves again.
    const deadline = Date.now() + 10_000;
    let again = await get(port, "/hello").catch(() => undefined);
    while (again?.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      again = await get(port, "/hello").catch(() => undefined);
    }
    expect(again?.status).toBe(200);
  });
});
