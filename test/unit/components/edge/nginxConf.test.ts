import * as path from "path";
import { nginxConf, type NginxConfInput, type NginxNchanPush, type NginxUpstream } from "../../../../components/edge/nginxConf";
import { validateStack } from "../../../../validate/validateStack";
import type { NginxSpec, Spec } from "../../../../spec/schema";
import { ROOT } from "../../../lib/paths";
import { readStackFile } from "../../../../spec/stackFile";

function stage(name: string): Spec {
  const { stack, raw } = readStackFile(path.join(ROOT, `stacks/Pulumi.${name}.yaml`));
  return validateStack(stack, raw).spec;
}

/** One nginx directive: `name args...;` or `name args... { block }`. */
interface Directive {
  readonly name: string;
  readonly args: string[];
  readonly block?: Directive[];
}

/** A small nginx config parser, so tests assert on structure (which server, which location), not on substrings. */
function parse(text: string): Directive[] {
  const tokens: { t: string; quoted: boolean }[] = [];
  for (let i = 0; i < text.length;) {
    const c = text[i];
    if (/\s/.test(c)) i++;
    else if (c === "#") while (i < text.length && text[i] !== "\n") i++;
    else if (c === ";" || c === "{" || c === "}") tokens.push({ t: text[i++], quoted: false });
    else if (c === '"' || c === "'") {
      let j = i + 1;
      while (text[j] !== c) j += text[j] === "\\" ? 2 : 1;
      tokens.push({ t: text.slice(i + 1, j), quoted: true });
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s;{}]/.test(text[j])) j++;
      tokens.push({ t: text.slice(i, j), quoted: false });
      i = j;
    }
  }
  let pos = 0;
  const block = (): Directive[] => {
    const out: Directive[] = [];
    while (pos < tokens.length) {
      if (!tokens[pos].quoted && tokens[pos].t === "}") {
        pos++;
        return out;
      }
      const name = tokens[pos++].t;
      const args: string[] = [];
      while (tokens[pos].quoted || (tokens[pos].t !== ";" && tokens[pos].t !== "{")) args.push(tokens[pos++].t);
      if (tokens[pos++].t === "{") out.push({ name, args, block: block() });
      else out.push({ name, args });
    }
    return out;
  };
  return block();
}

const each = (ds: readonly Directive[], name: string) => ds.filter((d) => d.name === name);
const one = (ds: readonly Directive[], name: string): Directive => {
  const found = each(ds, name);
  if (found.length !== 1) throw new Error(`expected one '${name}', found ${found.length}`);
  return found[0];
};
/** Every directive named `name` anywhere under `ds`. */
const deep = (ds: readonly Directive[], name: string): Directive[] =>
  ds.flatMap((d) => [...(d.name === name ? [d] : []), ...deep(d.block ?? [], name)]);
const http = (conf: Directive[]) => one(conf, "http").block ?? [];
const servers = (conf: Directive[]) => each(http(conf), "server").map((s) => s.block ?? []);
const serverOn = (conf: Directive[], port: number) => {
  const found = servers(conf).filter((s) => each(s, "listen").some((l) => l.args[0].endsWith(String(port))));
  if (found.length !== 1) throw new Error(`expected one server on ${port}, found ${found.length}`);
  return found[0];
};
const location = (server: Directive[], ...args: string[]): Directive[] => {
  const found = each(server, "location").filter((l) => l.args.join(" ") === args.join(" "));
  if (found.length !== 1) throw new Error(`expected one location '${args.join(" ")}', found ${found.length}`);
  return found[0].block ?? [];
};
const arg = (ds: readonly Directive[], name: string) => one(ds, name).args.join(" ");

const mvc = stage("mvc");
const nginxSpec = mvc.edge.nginx as NginxSpec;
const mvcPush = mvc.push as NginxNchanPush;
const NCHAN = "/usr/lib/nginx/modules/ngx_nchan_module.so";
const webUpstream: NginxUpstream = { name: "web", host: "web.stagecraft.svc.cluster.local", port: 8000, routes: ["/"] };

function input(over: Partial<NginxConfInput> = {}): NginxConfInput {
  return { nginx: nginxSpec, listenPort: 8080, internalPort: 8081, modules: [NCHAN], upstreams: [webUpstream], push: mvcPush, ...over };
}

describe("nginxConf: stage mvc", () => {
  const text = nginxConf(input());
  const conf = parse(text);
  const pub = serverOn(conf, 8080);
  const internal = serverOn(conf, 8081);

  test("loads the modules first, keeps pid and temp paths under /tmp, logs to stderr/stdout", () => {
    expect(conf[0]).toEqual({ name: "load_module", args: [NCHAN] });
    expect(arg(conf, "pid")).toBe("/tmp/nginx.pid");
    expect(arg(conf, "error_log")).toBe("stderr warn");
    expect(arg(http(conf), "access_log")).toBe("/dev/stdout stagecraft");
    for (const d of ["client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path", "uwsgi_temp_path", "scgi_temp_path"])
      expect(arg(http(conf), d)).toMatch(/^\/tmp\/nginx-[a-z-]+$/);
  });

  test("takes worker_connections, body limit and timeouts from the spec", () => {
    expect(arg(one(conf, "events").block ?? [], "worker_connections")).toBe(String(nginxSpec.workerConnections));
    expect(arg(conf, "worker_processes")).toBe("1"); // 100m of CPU: one worker, not one per node CPU
    expect(arg(http(conf), "client_max_body_size")).toBe("10m");
    expect(arg(http(conf), "proxy_connect_timeout")).toBe("5s");
    expect(arg(http(conf), "proxy_read_timeout")).toBe("60s");
    expect(arg(http(conf), "proxy_send_timeout")).toBe("60s");
  });

  test("keeps upstream connections alive: keepalive, HTTP/1.1, empty Connection header", () => {
    const up = one(http(conf), "upstream");
    expect(up.args).toEqual(["svc-web"]);
    expect(arg(up.block ?? [], "server")).toBe("web.stagecraft.svc.cluster.local:8000");
    expect(arg(up.block ?? [], "keepalive")).toBe("32");
    expect(arg(http(conf), "proxy_http_version")).toBe("1.1");
    const headers = each(http(conf), "proxy_set_header").map((d) => d.args);
    expect(headers).toContainEqual(["Connection", ""]);
    expect(headers).toContainEqual(["X-Forwarded-For", "$remote_addr"]);
    expect(headers).toContainEqual(["X-Forwarded-Proto", "$scheme"]);
    expect(headers).toContainEqual(["X-Request-ID", "$stagecraft_request_id"]);
  });

  test("answers /healthz itself on both servers", () => {
    for (const s of [pub, internal]) expect(arg(location(s, "=", "/healthz"), "return")).toBe("200 ok\\n");
  });

  test("routes / to the web upstream", () => {
    expect(arg(location(pub, "/"), "proxy_pass")).toBe("http://svc-web");
  });

  test("subscriber on the public server, publisher only on the internal one", () => {
    const sub = location(pub, "^~", "/sub/");
    const subRegex = one(sub, "location");
    expect(subRegex.args).toEqual(["~", "^/sub/([A-Za-z0-9_.:-]{1,128})$"]);
    expect(deep(subRegex.block ?? [], "nchan_subscriber")).toHaveLength(1);
    expect(deep(pub, "nchan_publisher")).toHaveLength(0);
    expect(arg(location(pub, "^~", "/pub/"), "return")).toBe("404");
    expect(arg(location(pub, "=", "/pub"), "return")).toBe("404");

    const pubLoc = one(location(internal, "^~", "/pub/"), "location").block ?? [];
    expect(deep(pubLoc, "nchan_publisher")).toHaveLength(1);
    expect(arg(pubLoc, "nchan_message_timeout")).toBe("3600s");
    expect(arg(pubLoc, "nchan_message_buffer_length")).toBe("100");
    expect(deep(internal, "nchan_subscriber")).toHaveLength(0);
    expect(deep(internal, "proxy_pass")).toHaveLength(0);
  });

  test("is deterministic: the same input, or upstreams in another order, give the same text", () => {
    const api: NginxUpstream = { name: "api", host: "api.ns.svc.cluster.local", port: 8000, routes: ["/api"] };
    expect(nginxConf(input())).toBe(text);
    expect(nginxConf(input({ upstreams: [webUpstream, api] }))).toBe(nginxConf(input({ upstreams: [api, webUpstream] })));
  });
});

describe("nginxConf: routes", () => {
  const upstreams: NginxUpstream[] = [
    { name: "web", host: "web", port: 8000, routes: ["/"] },
    { name: "orders", host: "orders", port: 8001, routes: ["/orders", "/api/orders/"] },
    { name: "api", host: "api", port: 8002, routes: ["/api"] },
  ];
  const pub = serverOn(parse(nginxConf(input({ upstreams, push: undefined }))), 8080);

  test.each([
    // [location args, upstream]: a route is a prefix on segment boundaries
    [["=", "/orders"], "svc-orders"],
    [["/orders/"], "svc-orders"],
    [["=", "/api/orders"], "svc-orders"],
    [["/api/orders/"], "svc-orders"],
    [["=", "/api"], "svc-api"],
    [["/api/"], "svc-api"],
    [["/"], "svc-web"],
  ])("location %j goes to %s", (args, upstream) => {
    expect(arg(location(pub, ...args), "proxy_pass")).toBe(`http://${upstream}`);
  });

  test("lists locations longest route first", () => {
    const order = each(pub, "location").map((l) => l.args.join(" "));
    expect(order.slice(1)).toEqual(["= /api/orders", "/api/orders/", "= /orders", "/orders/", "= /api", "/api/", "/"]);
  });

  test("without a '/' route, anything else is a 404", () => {
    const only = serverOn(parse(nginxConf(input({ upstreams: [upstreams[2]], push: undefined }))), 8080);
    expect(arg(location(only, "/"), "return")).toBe("404");
  });

  test("a service with no routes gets no upstream block", () => {
    const conf = parse(nginxConf(input({ upstreams: [webUpstream, { name: "idle", host: "idle", port: 8000, routes: [] }] })));
    expect(each(http(conf), "upstream").map((u) => u.args[0])).toEqual(["svc-web"]);
  });

  test("upstreamKeepalive 0 leaves keepalive out", () => {
    const conf = parse(nginxConf(input({ nginx: { ...nginxSpec, upstreamKeepalive: 0 } })));
    expect(deep(conf, "keepalive")).toHaveLength(0);
  });

  test.each([
    ["100m", undefined, "1"],
    ["2", undefined, "2"],
    ["500m", "2500m", "3"],
  ])("cpu %s (limit %s) gives %s worker(s)", (cpu, cpuLimit, workers) => {
    const nginx = { ...nginxSpec, resources: { ...nginxSpec.resources, cpu, cpuLimit } };
    expect(arg(parse(nginxConf(input({ nginx }))), "worker_processes")).toBe(workers);
  });

  test("listenAddress, tmpDir and resolver are honoured", () => {
    const conf = parse(nginxConf(input({ listenAddress: "127.0.0.1", tmpDir: "/run/edge", resolver: "10.96.0.10" })));
    expect(arg(serverOn(conf, 8080), "listen")).toBe("127.0.0.1:8080 default_server");
    expect(arg(serverOn(conf, 8081), "listen")).toBe("127.0.0.1:8081");
    expect(arg(conf, "pid")).toBe("/run/edge/nginx.pid");
    expect(arg(http(conf), "resolver")).toBe("10.96.0.10 valid=30s");
  });
});

describe("nginxConf: push variants", () => {
  test("nchan with Redis: both endpoints use the shared store, the password comes from an include", () => {
    const push: NginxNchanPush = { ...mvcPush, redis: { host: "redis", port: 6379, db: 2, passwordInclude: "/run/nginx/redis-auth.conf" } };
    const conf = parse(nginxConf(input({ push })));
    const store = each(http(conf), "upstream").find((u) => u.args[0] === "nchan-redis")?.block ?? [];
    expect(arg(store, "nchan_redis_server")).toBe("redis://redis:6379/2");
    expect(arg(store, "include")).toBe("/run/nginx/redis-auth.conf");
    expect(deep(conf, "nchan_redis_pass").map((d) => d.args[0])).toEqual(["nchan-redis", "nchan-redis"]);
    expect(deep(conf, "nchan_redis_password")).toHaveLength(0);
  });

  test("tormq: a websocket-aware proxy location, no nchan, no internal server", () => {
    const conf = parse(nginxConf(input({ push: { kind: "tormq", path: "/push", host: "push.ns.svc.cluster.local", port: 8888 } })));
    expect(servers(conf)).toHaveLength(1);
    expect(deep(conf, "nchan_subscriber")).toHaveLength(0);
    const ws = location(serverOn(conf, 8080), "/push/");
    expect(arg(ws, "proxy_pass")).toBe("http://edge-push");
    const headers = each(ws, "proxy_set_header").map((d) => d.args);
    expect(headers).toContainEqual(["Upgrade", "$http_upgrade"]);
    expect(headers).toContainEqual(["Connection", "$connection_upgrade"]);
    // Redefining proxy_set_header drops the inherited ones: the forwarded headers must be repeated.
    expect(headers).toContainEqual(["X-Request-ID", "$stagecraft_request_id"]);
    expect(arg(ws, "proxy_read_timeout")).toBe("3600s");
    expect(arg(ws, "proxy_buffering")).toBe("off");
    const upgradeMap = each(http(conf), "map").find((m) => m.args[1] === "$connection_upgrade")?.block ?? [];
    expect(upgradeMap.map((d) => [d.name, ...d.args])).toEqual([
      ["default", "upgrade"],
      ["", ""],
    ]);
  });

  test("short URL: its own upstream and route", () => {
    const conf = parse(nginxConf(input({ shortUrl: { host: "shorturl", port: 8080, route: "/s" } })));
    expect(arg(location(serverOn(conf, 8080), "/s/"), "proxy_pass")).toBe("http://edge-shorturl");
  });
});

describe("nginxConf: refuses what nginx would refuse or mis-route", () => {
  const web = (routes: string[]): NginxUpstream => ({ name: "web", host: "web", port: 8000, routes });
  test.each<[string, Partial<NginxConfInput>, RegExp]>([
    [
      "a route taken twice",
      { upstreams: [web(["/a"]), { name: "b", host: "b", port: 1, routes: ["/a/"] }] },
      /'\/a' of service b is already taken by service web/,
    ],
    ["a route on /healthz", { upstreams: [web(["/healthz"])] }, /already taken by the edge health check/],
    ["a route under /healthz", { upstreams: [web(["/healthz/deep"])] }, /lies under '\/healthz', reserved for the edge health check/],
    ["a route under the subscriber path", { upstreams: [web(["/sub/x"])] }, /lies under '\/sub', reserved for the push subscriber/],
    ["a route on the publisher path", { upstreams: [web(["/pub"])] }, /already taken by the push publisher/],
    ["an upstream listed twice", { upstreams: [web(["/a"]), web(["/b"])] }, /upstream 'web' is listed twice/],
    ["a route that is not a path", { upstreams: [web(["api"])] }, /must be a URL path/],
    ["a route with '..'", { upstreams: [web(["/a/../b"])] }, /must be a clean path/],
    ["a host with a space", { upstreams: [{ name: "web", host: "web; evil", port: 8000, routes: ["/"] }] }, /is not a host name/],
    ["the internal port equal to the public one", { internalPort: 8080 }, /internalPort must differ/],
    ["a module that is not a .so path", { modules: ["ngx_nchan_module"] }, /must be an absolute path to a \.so/],
    ["a port out of range", { listenPort: 70000 }, /listenPort must be a TCP port/],
    ["a tormq path on '/'", { push: { kind: "tormq", path: "/", host: "push", port: 8888 } }, /push path must not be '\/'/],
  ])("%s", (_what, over, message) => {
    expect(() => nginxConf(input(over))).toThrow(message);
  });
});
