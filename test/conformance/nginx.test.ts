/**
 * nginx.conf from nginxConf() on Debian's real Nginx with the nchan module: `nginx -t` accepts it,
 * a real Nginx proxies to local upstreams (longest-prefix routes, keepalive, forwarded headers,
 * body limit), answers /healthz, and delivers a message published on the internal server to
 * subscribers on the public one. Two replicas started before Redis refuse subscribers until nchan
 * reaches it, then deliver across replicas; the tormq variant passes a websocket upgrade through.
 */
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import { spawnSync } from "child_process";
import { nginxConf, type NginxConfInput, type NginxNchanPush } from "../../components/edge/nginxConf";
import { redisConf } from "../../components/data/redisConf";
import { validateStack } from "../../validate/validateStack";
import type { NginxSpec } from "../../spec/schema";
import { readStackFile } from "../../spec/stackFile";
import { freePort, have, startServer, tmpDir, type Server, conformanceSuite } from "../lib/proc";

jest.setTimeout(90_000);

const NCHAN = "/usr/lib/nginx/modules/ngx_nchan_module.so";
const missing = [...["nginx", "redis-server"].filter((b) => !have(b)), ...(fs.existsSync(NCHAN) ? [] : [`${NCHAN} (libnginx-mod-nchan)`])];

const maybe = conformanceSuite("Nginx conformance", missing);

const { stack, raw } = readStackFile(path.join(__dirname, "../../stacks/Pulumi.mvc.yaml"));
const spec = validateStack(stack, raw).spec;
const nginxSpec = spec.edge.nginx as NginxSpec;
const push = spec.push as NginxNchanPush;

interface Seen {
  readonly path: string;
  readonly method: string;
  readonly headers: http.IncomingHttpHeaders;
  /** Which upstream TCP connection carried the request (1, 2, ...). */
  readonly connection: number;
}

/** A tiny HTTP upstream that answers with its own name and records what reached it. */
async function upstream(name: string): Promise<{ port: number; seen: Seen[]; server: http.Server }> {
  const seen: Seen[] = [];
  let connections = 0;
  const ids = new WeakMap<net.Socket, number>();
  const server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? "", method: req.method ?? "", headers: req.headers, connection: ids.get(req.socket) ?? 0 });
    req.resume();
    req.on("end", () => res.end(`${name} ${req.url}`));
  });
  server.on("connection", (s: net.Socket) => ids.set(s, ++connections));
  // The tormq stand-in: accept the websocket upgrade and echo what comes after it.
  server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket) => {
    seen.push({ path: req.url ?? "", method: req.method ?? "", headers: req.headers, connection: ids.get(socket) ?? 0 });
    socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    socket.on("data", (d: Buffer) => socket.write(d));
    // The http server allows half-open sockets; an upgraded one must close itself or close() waits forever.
    socket.on("end", () => socket.destroy());
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return { port, seen, server };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(
  port: number,
  urlPath: string,
  opts: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path: urlPath, method: opts.method ?? "GET", headers: opts.headers, agent: false },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** Waits until nchan reports `n` subscribers on a channel (GET on the publisher location). */
async function subscribers(internalPort: number, channel: string, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await request(internalPort, `/pub/${channel}`, { headers: { Accept: "text/plain" } });
    const m = /subscribers: (\d+)/.exec(r.body);
    if (m && Number(m[1]) === n) return;
    if (Date.now() > deadline) throw new Error(`channel ${channel}: never ${n} subscribers; last answer ${r.status} ${r.body}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/**
 * Waits until a replica's nchan has its Redis store. nchan connects to Redis only after the workers
 * start, so after the port opens; until then it answers every subscriber and publisher 503 at once
 * (a subscriber turned away so is never counted anywhere). Once connected, channel info answers
 * 200 or 404 (no such channel yet). Returns how many 503s it saw first.
 */
async function nchanStoreReady(internalPort: number): Promise<number> {
  const deadline = Date.now() + 20_000;
  for (let refused = 0; ; refused++) {
    const r = await request(internalPort, "/pub/store-probe", { headers: { Accept: "text/plain" } });
    if (r.status !== 503) return refused;
    if (Date.now() > deadline) throw new Error(`nchan on :${internalPort} never reached its Redis store (still 503)`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/**
 * Node hands a child sockets, not pipes, for stdio, and open("/dev/stdout") on a socket fails
 * (ENXIO). In a pod stdout is a FIFO, where it works; here it is a file in the prefix, which
 * also lets the tests read the access log.
 */
const stdoutFile = (prefix: string) => path.join(prefix, "stdout.log");

/** `nginx -t` on a rendered file, with its own prefix. */
function nginxTest(prefix: string, conf: string) {
  const out = fs.openSync(stdoutFile(prefix), "a");
  try {
    return spawnSync("nginx", ["-t", "-p", prefix, "-c", conf, "-e", "stderr"], {
      encoding: "utf8",
      timeout: 30_000,
      stdio: ["ignore", out, "pipe"],
    });
  } finally {
    fs.closeSync(out);
  }
}

maybe("nginx.conf on a real Nginx with nchan (stage mvc)", () => {
  let dir: string;
  const servers: Server[] = [];
  const https: http.Server[] = [];

  /** Writes a rendered conf into its own prefix directory, checks it with `nginx -t`, starts Nginx, waits for its ports. */
  async function startNginx(name: string, over: Partial<NginxConfInput>): Promise<{ listen: number; internal: number; conf: string }> {
    const prefix = path.join(dir, name);
    fs.mkdirSync(prefix, { recursive: true });
    const listen = await freePort();
    const internal = await freePort();
    const conf = path.join(prefix, "nginx.conf");
    const input: NginxConfInput = {
      nginx: nginxSpec,
      listenPort: listen,
      internalPort: internal,
      modules: [NCHAN],
      upstreams: [],
      listenAddress: "127.0.0.1",
      tmpDir: prefix,
      ...over,
    };
    fs.writeFileSync(conf, nginxConf(input));
    const t = nginxTest(prefix, conf);
    if (t.status !== 0) throw new Error(`nginx -t refused ${conf}:\n${t.stderr}\n${fs.readFileSync(conf, "utf8")}`);
    const t0 = Date.now();
    // exec: the shell becomes Nginx (same PID, so it is stopped by its PID), with stdout on the file.
    const cmd = 'exec nginx -p "$1" -c "$2" -e stderr -g "daemon off;" >>"$3"';
    servers.push(await startServer(`nginx ${name}`, "sh", ["-c", cmd, "sh", prefix, conf, stdoutFile(prefix)], listen));
    console.log(`nginx ${name}: listening ${Date.now() - t0} ms after start`);
    return { listen, internal, conf };
  }

  beforeAll(() => {
    dir = tmpDir("nginx");
    // As root, Nginx workers run as nobody: they must reach the temp paths under this directory.
    fs.chmodSync(dir, 0o755);
  });

  afterAll(async () => {
    for (const s of servers) await s.stop();
    for (const h of https) h.closeAllConnections();
    await Promise.all(https.map((h) => new Promise((r) => h.close(r))));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe("one replica: proxy, health, push", () => {
    let web: Awaited<ReturnType<typeof upstream>>;
    let api: Awaited<ReturnType<typeof upstream>>;
    let ports: { listen: number; internal: number; conf: string };

    beforeAll(async () => {
      web = await upstream("web");
      api = await upstream("api");
      https.push(web.server, api.server);
      ports = await startNginx("mvc", {
        upstreams: [
          { name: "web", host: "127.0.0.1", port: web.port, routes: ["/"] },
          { name: "api", host: "127.0.0.1", port: api.port, routes: ["/api"] },
        ],
        push,
      });
    });

    test("nginx -t accepts it with nchan loaded, and refuses it without the module (so passing means something)", () => {
      const t = nginxTest(path.dirname(ports.conf), ports.conf);
      expect(t.status).toBe(0);
      expect(t.stderr).toMatch(/test is successful/);
      const noModule = path.join(path.dirname(ports.conf), "no-module.conf");
      fs.writeFileSync(noModule, fs.readFileSync(ports.conf, "utf8").replace(/^load_module .*$/m, ""));
      const bad = nginxTest(path.dirname(ports.conf), noModule);
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toMatch(/unknown directive "nchan_/);
    });

    test("/healthz answers on the public and the internal server, without touching an upstream", async () => {
      const before = web.seen.length + api.seen.length;
      for (const port of [ports.listen, ports.internal])
        expect(await request(port, "/healthz")).toMatchObject({ status: 200, body: "ok\n" });
      expect(web.seen.length + api.seen.length).toBe(before);
    });

    test.each([
      ["/", "web /"],
      ["/api", "api /api"],
      ["/api/orders?x=1", "api /api/orders?x=1"],
      ["/apix", "web /apix"],
      ["/orders", "web /orders"],
    ])("longest-prefix routing: %s is served by '%s'", async (urlPath, body) => {
      expect(await request(ports.listen, urlPath)).toMatchObject({ status: 200, body });
    });

    test("forwarded headers: client X-Forwarded-For ignored, a good X-Request-ID kept, a bad one replaced", async () => {
      await request(ports.listen, "/h1", { headers: { "X-Forwarded-For": "6.6.6.6", "X-Request-ID": "req-123" } });
      const kept = web.seen[web.seen.length - 1];
      expect(kept.headers["x-forwarded-for"]).toBe("127.0.0.1");
      expect(kept.headers["x-real-ip"]).toBe("127.0.0.1");
      expect(kept.headers["x-forwarded-proto"]).toBe("http");
      expect(kept.headers["x-request-id"]).toBe("req-123");

      const r = await request(ports.listen, "/h2", { headers: { "X-Request-ID": "bad id\twith spaces" } });
      const minted = web.seen[web.seen.length - 1].headers["x-request-id"];
      expect(minted).toMatch(/^[0-9a-f]{32}$/);
      expect(r.headers["x-request-id"]).toBe(minted);
    });

    test("access log: one JSON object per request on stdout, with the request id; probes are not logged", () => {
      const lines = fs.readFileSync(stdoutFile(path.dirname(ports.conf)), "utf8").split("\n");
      const entries = lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(entries.find((e) => e.request === "GET /h1 HTTP/1.1")).toMatchObject({
        status: 200,
        request_id: "req-123",
        remote: "127.0.0.1",
      });
      expect(entries.filter((e) => String(e.request).includes("/healthz"))).toEqual([]);
    });

    test("upstream keepalive: five client connections reuse one upstream connection, with no Connection header", async () => {
      const from = web.seen.length;
      for (let i = 0; i < 5; i++) expect((await request(ports.listen, `/k${i}`)).status).toBe(200);
      const these = web.seen.slice(from);
      expect(these.map((s) => s.path)).toEqual(["/k0", "/k1", "/k2", "/k3", "/k4"]);
      expect(new Set(these.map((s) => s.connection)).size).toBe(1);
      expect(these.every((s) => s.headers.connection === undefined)).toBe(true);
    });

    test("client_max_body_size: a body over 10m is refused before it reaches the upstream, a small one passes", async () => {
      const from = web.seen.length;
      const big = await new Promise<number>((resolve, reject) => {
        // Announce 11 MiB and send nothing: Nginx answers from the Content-Length alone.
        const req = http.request(
          {
            host: "127.0.0.1",
            port: ports.listen,
            path: "/upload",
            method: "POST",
            headers: { "Content-Length": 11 * 1024 * 1024 },
            agent: false,
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
            req.destroy();
          },
        );
        req.on("error", reject);
        req.flushHeaders();
      });
      expect(big).toBe(413);
      expect(web.seen.length).toBe(from);
      expect((await request(ports.listen, "/upload", { method: "POST", body: "x".repeat(1024) })).status).toBe(200);
      expect(web.seen[web.seen.length - 1]).toMatchObject({ path: "/upload", method: "POST" });
    });

    test("nchan: long-poll and EventSource subscribers on the public server receive a message published internally", async () => {
      const longPoll = request(ports.listen, "/sub/news");
      const eventSource = new Promise<string>((resolve, reject) => {
        const req = http.get(
          { host: "127.0.0.1", port: ports.listen, path: "/sub/news", headers: { Accept: "text/event-stream" }, agent: false },
          (res) => {
            let body = "";
            res.on("data", (d: Buffer) => {
              body += d.toString();
              if (body.includes("data: hello subscribers")) {
                resolve(body);
                req.destroy();
              }
            });
          },
        );
        req.on("error", reject);
      });
      await subscribers(ports.internal, "news", 2);
      const t0 = Date.now();
      const published = await request(ports.internal, "/pub/news", {
        method: "POST",
        body: "hello subscribers",
        headers: { "Content-Type": "text/plain" },
      });
      expect(published.status).toBe(201); // created: the channel had subscribers
      expect(await longPoll).toMatchObject({ status: 200, body: "hello subscribers" });
      expect(await eventSource).toMatch(/^id: .*\ndata: hello subscribers\n/m);
      console.log(`nchan: publish to delivery ${Date.now() - t0} ms`);
    });

    test("nchan: the publisher is not on the public server, and a malformed channel path is a 404", async () => {
      expect((await request(ports.listen, "/pub/news", { method: "POST", body: "spoofed" })).status).toBe(404);
      expect((await request(ports.listen, "/pub", { method: "POST", body: "spoofed" })).status).toBe(404);
      expect((await request(ports.listen, "/sub/news/extra")).status).toBe(404);
      // Nothing was published by those: the channel still holds only the one real message.
      const info = await request(ports.internal, "/pub/news", { headers: { Accept: "text/plain" } });
      expect(info.body).toMatch(/queued messages: 1\b/);
    });
  });

  test("two replicas sharing Redis: started before Redis they refuse subscribers (503), then deliver across replicas once it is up", async () => {
    const redisPort = await freePort();
    const redisDir = path.join(dir, "redis");
    fs.mkdirSync(redisDir);
    fs.writeFileSync(path.join(redisDir, "auth.conf"), "requirepass nchan-secret\n");
    fs.writeFileSync(
      path.join(redisDir, "redis.conf"),
      redisConf(spec.data.redis, { port: redisPort, dir: redisDir, authInclude: path.join(redisDir, "auth.conf") }),
    );
    // What the Nginx startup step writes from the Secret: the password never enters nginx.conf.
    const passwordInclude = path.join(dir, "nchan-redis-password.conf");
    fs.writeFileSync(passwordInclude, "nchan_redis_password nchan-secret;\n");
    const shared: NginxNchanPush = { ...push, redis: { host: "127.0.0.1", port: redisPort, db: 2, passwordInclude } };
    // The replicas start first, as pods may: the window in which nchan has no store yet is then
    // certain rather than a race that only a loaded machine loses.
    const a = await startNginx("replica-a", { push: shared });
    const b = await startNginx("replica-b", { push: shared });
    expect(fs.readFileSync(a.conf, "utf8")).not.toMatch(/nchan-secret/);
    expect((await request(b.listen, "/sub/orders-42")).status).toBe(503);

    servers.push(await startServer("redis-server", "redis-server", [path.join(redisDir, "redis.conf"), "--bind", "127.0.0.1"], redisPort));
    const t0 = Date.now();
    await Promise.all([nchanStoreReady(a.internal), nchanStoreReady(b.internal)]);
    console.log(`nchan over Redis: both replicas reached Redis ${Date.now() - t0} ms after it listened`);

    const t1 = Date.now();
    const onB = request(b.listen, "/sub/orders-42");
    // Redis holds the channel: A's publisher sees B's subscriber. A subscriber B turned away ends
    // its request at once; say so rather than wait for a count that can never come.
    const refused = onB.then((r) => {
      throw new Error(`subscriber on B answered ${r.status} ${r.body} before anything was published`);
    });
    refused.catch(() => undefined); // it rejects once the message arrives too; only the race reads it
    await Promise.race([subscribers(a.internal, "orders-42", 1), refused]);
    expect((await request(a.internal, "/pub/orders-42", { method: "POST", body: "shipped" })).status).toBe(201);
    expect(await onB).toMatchObject({ status: 200, body: "shipped" });
    console.log(`nchan over Redis: subscribe on B, publish on A, delivered in ${Date.now() - t1} ms`);
  });

  test("tormq variant: nginx -t accepts it and a websocket upgrade passes through to the push service", async () => {
    const pushSvc = await upstream("push");
    https.push(pushSvc.server);
    const { listen, conf } = await startNginx("tormq", { push: { kind: "tormq", path: "/push", host: "127.0.0.1", port: pushSvc.port } });
    expect(nginxTest(path.dirname(conf), conf).status).toBe(0);

    const echoed = await new Promise<string>((resolve, reject) => {
      const s = net.connect({ host: "127.0.0.1", port: listen }, () =>
        s.write(
          "GET /push HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
        ),
      );
      let got = "";
      s.on("data", (d: Buffer) => {
        got += d.toString();
        if (/^HTTP\/1\.1 101 /.test(got) && got.endsWith("\r\n\r\n")) s.write("ping-through-nginx");
        if (got.includes("ping-through-nginx")) {
          s.destroy();
          resolve(got);
        }
      });
      s.on("error", reject);
      setTimeout(() => reject(new Error(`no echo through the upgrade; got: ${got}`)), 10_000);
    });
    expect(echoed).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    const seen = pushSvc.seen[pushSvc.seen.length - 1];
    expect(seen.headers.upgrade).toBe("websocket");
    expect(seen.headers.connection).toBe("upgrade");
    expect(seen.headers["x-request-id"]).toMatch(/^[0-9a-f]{32}$/);
  });
});
