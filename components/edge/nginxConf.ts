/**
 * `nginx.conf` of the edge load balancer, as a pure function of the stage spec.
 *
 * The pod runs Nginx as non-root on a read-only root filesystem: the pid file and every temp path
 * live under a writable directory (an emptyDir on /tmp), logs go to stderr/stdout, and the file is
 * self-contained (no include of /etc/nginx/mime.types or conf.d) so the image cannot change it.
 * Output is deterministic: the same input gives byte-identical text, so previews only show real changes.
 */
import type { NginxSpec, PushSpec } from "../../spec/schema";

/** A backend that the edge routes to: one per web service (or rpc service with an HTTP face) with routes. */
export interface NginxUpstream {
  /** Service name; the upstream block is `svc-<name>`. */
  readonly name: string;
  /** In-cluster DNS name of its Service (a ClusterIP: resolved once at start, stable for the Service's life). */
  readonly host: string;
  readonly port: number;
  /** URL paths routed to it; `/orders` serves `/orders` and `/orders/...`, never `/ordersx`. */
  readonly routes: readonly string[];
}

/** nchan's shared store. Without it every Nginx replica keeps its own channels. */
export interface NchanRedis {
  readonly host: string;
  readonly port: number;
  /** Logical DB, apart from the app's, so nchan keys never mix with the cache. */
  readonly db: number;
  /**
   * File holding `nchan_redis_password <password>;`, written at startup from the Secret onto an
   * emptyDir: the password is never in this ConfigMap.
   */
  readonly passwordInclude?: string;
}

/** The nchan push endpoints (stage mvc): subscriber public, publisher on the internal server only. */
export type NginxNchanPush = Extract<PushSpec, { kind: "nchan" }> & {
  /**
   * Set it when Nginx runs more than one replica: a message published through one pod must reach
   * subscribers held by the others. Memory storage is per pod.
   */
  readonly redis?: NchanRedis;
};

/** The tormq push service (stage split): Nginx only proxies its websocket path. */
export interface NginxTormqPush {
  readonly kind: "tormq";
  /** Public websocket path (spec.push.path). */
  readonly path: string;
  /** In-cluster DNS name of the push Service. */
  readonly host: string;
  readonly port: number;
  /** Seconds an idle websocket stays open; Nginx closes it after that. Default one hour. */
  readonly idleTimeoutSeconds?: number;
}

export type NginxPush = NginxNchanPush | NginxTormqPush;

export interface NginxShortUrl {
  readonly host: string;
  readonly port: number;
  readonly route: string;
}

export interface NginxConfInput {
  /** spec.edge.nginx */
  readonly nginx: NginxSpec;
  /** PORTS.nginx (8080: Nginx runs as non-root). */
  readonly listenPort: number;
  /** Second server for cluster-internal use only (nchan publisher). Only rendered with nchan push. */
  readonly internalPort: number;
  /** Absolute `.so` paths to `load_module`, in load order (order matters: ndk before lua). */
  readonly modules: readonly string[];
  readonly upstreams: readonly NginxUpstream[];
  readonly push?: NginxPush;
  readonly shortUrl?: NginxShortUrl;
  /** DNS resolver for names Nginx resolves at run time (nchan's Redis); upstream Services resolve at start. */
  readonly resolver?: string;
  /** Address the servers bind; default all IPv4 addresses (a pod). Tests pass 127.0.0.1. */
  readonly listenAddress?: string;
  /** Writable directory for the pid file and temp paths; default /tmp (an emptyDir in the pod). */
  readonly tmpDir?: string;
}

/** Paths the edge answers itself; no service route may take them. */
export const HEALTH_PATH = "/healthz";

const ROUTE = /^\/[A-Za-z0-9_\-/.]*$/;
const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$/;
const SAFE_PATH = /^\/[A-Za-z0-9_\-/.]+$/;
const UPSTREAM_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Channel ids subscribers and publishers may name: no '/', no spaces, bounded length. */
const CHANNEL_ID = "([A-Za-z0-9_.:-]{1,128})";

function fail(what: string): never {
  throw new Error(`nginxConf: ${what}`);
}

function checkPort(what: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`${what} must be a TCP port (1-65535), got ${port}`);
}

function checkHost(what: string, host: string): void {
  if (!HOST.test(host)) fail(`${what} '${host}' is not a host name or address`);
}

/** `/orders/` and `/orders` are the same route; `/` stays `/`. */
function normalise(route: string, what: string): string {
  if (!ROUTE.test(route)) fail(`${what} '${route}' must be a URL path starting with '/'`);
  if (route.includes("//") || route.split("/").some((seg) => seg === "." || seg === "..")) fail(`${what} '${route}' must be a clean path`);
  return route.length > 1 ? route.replace(/\/+$/, "") : route;
}

/** Whole CPUs the pod may use: one worker each (`auto` would count the node's CPUs, not the pod's). */
function workerProcesses(nginx: NginxSpec): number {
  const q = nginx.resources.cpuLimit ?? nginx.resources.cpu;
  const cpus = q.endsWith("m") ? Number(q.slice(0, -1)) / 1000 : Number(q);
  return Math.max(1, Math.ceil(cpus));
}

/** Indents a block of lines by `n` levels of two spaces. */
const indent = (lines: readonly string[], n = 1): string[] => lines.map((l) => (l === "" ? l : "  ".repeat(n) + l));

/** Headers every proxied request carries. nginx is the edge, so a client's X-Forwarded-For is not trusted. */
const FORWARD_HEADERS = [
  "proxy_set_header Host $host;",
  "proxy_set_header X-Real-IP $remote_addr;",
  "proxy_set_header X-Forwarded-For $remote_addr;",
  "proxy_set_header X-Forwarded-Proto $scheme;",
  "proxy_set_header X-Forwarded-Host $host;",
  "proxy_set_header X-Forwarded-Port $server_port;",
  "proxy_set_header X-Request-ID $stagecraft_request_id;",
];

/**
 * Locations for one route. A route is a path prefix on segment boundaries: `/orders` gets an exact
 * location and a `/orders/` prefix location. Nginx picks the longest matching prefix whatever the
 * order; the caller sorts for stable, readable output.
 */
function routeLocations(route: string): string[] {
  return route === "/" ? ["/"] : [`= ${route}`, `${route}/`];
}

/** A location block on a route prefix that nginx's regex locations cannot override (`^~`). */
function reservedLocations(route: string, body: readonly string[]): string[] {
  return [`location = ${route} {`, ...indent(body), "}", `location ^~ ${route}/ {`, ...indent(body), "}"];
}

interface Location {
  readonly route: string;
  readonly lines: readonly string[];
}

/** Tracks which paths are taken, so two owners of one path fail here rather than in `nginx -t`. */
class Routes {
  private readonly taken: { route: string; who: string; reserved: boolean }[] = [
    { route: HEALTH_PATH, who: "the edge health check", reserved: true },
  ];

  /** A reserved path owns its whole subtree (`/sub` owns `/sub/...`); a service route only itself. */
  claim(route: string, who: string, reserved: boolean): void {
    const within = (a: string, b: string) => b !== "/" && (a === b || a.startsWith(`${b}/`));
    for (const t of this.taken) {
      if (t.route === route) fail(`route '${route}' of ${who} is already taken by ${t.who}`);
      if (t.reserved && within(route, t.route)) fail(`route '${route}' of ${who} lies under '${t.route}', reserved for ${t.who}`);
      if (reserved && within(t.route, route)) fail(`route '${t.route}' of ${t.who} lies under '${route}', reserved for ${who}`);
    }
    this.taken.push({ route, who, reserved });
  }
}

function checkNchan(push: NginxNchanPush, input: NginxConfInput, routes: Routes): { sub: string; pub: string } {
  checkPort("internalPort", input.internalPort);
  if (input.internalPort === input.listenPort) fail(`internalPort must differ from listenPort (${input.listenPort})`);
  const sub = normalise(push.subscriberPath, "push subscriberPath");
  const pub = normalise(push.publisherPath, "push publisherPath");
  if (sub === "/" || pub === "/") fail("push paths must not be '/'");
  routes.claim(sub, "the push subscriber", true);
  routes.claim(pub, "the push publisher (internal server only)", true);
  if (!Number.isInteger(push.messageTimeoutSeconds) || push.messageTimeoutSeconds < 1)
    fail("push messageTimeoutSeconds must be a positive whole number");
  if (!Number.isInteger(push.messageBufferLength) || push.messageBufferLength < 1)
    fail("push messageBufferLength must be a positive whole number");
  const r = push.redis;
  if (r) {
    checkHost("push.redis.host", r.host);
    checkPort("push.redis.port", r.port);
    if (!Number.isInteger(r.db) || r.db < 0 || r.db > 15) fail(`push.redis.db must be 0-15, got ${r.db}`);
    if (r.passwordInclude !== undefined && !SAFE_PATH.test(r.passwordInclude))
      fail(`push.redis.passwordInclude '${r.passwordInclude}' must be an absolute path`);
  }
  return { sub, pub };
}

const HEALTH = ["access_log off;", "default_type text/plain;", 'return 200 "ok\\n";'];

/** `<prefix>/<channel>`: a nested regex takes the channel id; anything else under the prefix is a 404. */
function channelLocation(prefix: string, body: readonly string[]): string[] {
  return [`location ^~ ${prefix}/ {`, `  location ~ "^${prefix}/${CHANNEL_ID}$" {`, ...indent(body, 2), "  }", "  return 404;", "}"];
}

/** The cluster-internal server: the backend publishes here. Its port is only on the ClusterIP Service. */
function internalServer(push: NginxNchanPush, pub: string, listen: string, store: readonly string[]): string[] {
  return [
    "",
    "# Cluster-internal: the backend publishes here. Its port is only on the ClusterIP Service.",
    "server {",
    ...indent([
      `listen ${listen};`,
      "server_name _;",
      "",
      `location = ${HEALTH_PATH} {`,
      ...indent(HEALTH),
      "}",
      "",
      ...channelLocation(pub, [
        "nchan_publisher;",
        "nchan_channel_id $1;",
        `nchan_message_timeout ${push.messageTimeoutSeconds}s;`,
        `nchan_message_buffer_length ${push.messageBufferLength};`,
        ...store,
      ]),
      "",
      "location / {",
      "  return 404;",
      "}",
    ]),
    "}",
  ];
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
/** Longest route first (readability only: nginx picks the longest prefix whatever the order), then by name. */
const byRoute = (a: Location, b: Location) => b.route.length - a.route.length || (a.route < b.route ? -1 : a.route > b.route ? 1 : 0);

/** Refuses input that would make nginx.conf invalid or unsafe, before anything is written. */
function checkInput(input: NginxConfInput): void {
  checkPort("listenPort", input.listenPort);
  if (!SAFE_PATH.test(input.tmpDir ?? "/tmp"))
    fail(`tmpDir '${input.tmpDir}' must be an absolute path of letters, digits, '_', '-', '.', '/'`);
  if (input.listenAddress !== undefined) checkHost("listenAddress", input.listenAddress);
  for (const m of input.modules) if (!SAFE_PATH.test(m) || !m.endsWith(".so")) fail(`module '${m}' must be an absolute path to a .so file`);
  if (input.resolver !== undefined && !/^[A-Za-z0-9.:[\]]+( [A-Za-z0-9.:[\]]+)*$/.test(input.resolver))
    fail(`resolver '${input.resolver}' must be one or more addresses separated by spaces`);
}

interface Upstream {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/** Where the public server sends traffic: one upstream and its locations per backend, sorted. */
function backends(input: NginxConfInput, routes: Routes): { upstreams: Upstream[]; locations: Location[] } {
  const { push, shortUrl } = input;
  const upstreams: Upstream[] = [];
  const locations: Location[] = [];
  const seen = new Set<string>();
  for (const u of input.upstreams) {
    if (!UPSTREAM_NAME.test(u.name)) fail(`upstream name '${u.name}' must be a DNS label`);
    if (seen.has(u.name)) fail(`upstream '${u.name}' is listed twice`);
    seen.add(u.name);
    checkHost(`upstream ${u.name} host`, u.host);
    checkPort(`upstream ${u.name} port`, u.port);
    if (u.routes.length === 0) continue; // nothing routes to it: no block to keep alive
    upstreams.push({ name: `svc-${u.name}`, host: u.host, port: u.port });
    for (const r of u.routes) {
      const route = normalise(r, `service ${u.name} route`);
      routes.claim(route, `service ${u.name}`, false);
      locations.push({ route, lines: [`proxy_pass http://svc-${u.name};`] });
    }
  }
  if (shortUrl) {
    checkHost("shortUrl.host", shortUrl.host);
    checkPort("shortUrl.port", shortUrl.port);
    const route = normalise(shortUrl.route, "shortUrl route");
    routes.claim(route, "the short-URL service", false);
    upstreams.push({ name: "edge-shorturl", host: shortUrl.host, port: shortUrl.port });
    locations.push({ route, lines: ["proxy_pass http://edge-shorturl;"] });
  }
  if (push?.kind === "tormq") {
    upstreams.push({ name: "edge-push", host: push.host, port: push.port });
    locations.push(tormqLocation(push, routes));
  }
  return { upstreams: upstreams.sort(byName), locations: locations.sort(byRoute) };
}

/**
 * The tormq websocket location: pass the upgrade through and let an idle socket live. No stickiness
 * needed: a websocket stays on the pod it opened on, and ZeroMQ fans messages out to every replica.
 * Any proxy_set_header here drops the inherited ones, so the forwarded headers are repeated.
 */
function tormqLocation(push: NginxTormqPush, routes: Routes): Location {
  checkHost("push.host", push.host);
  checkPort("push.port", push.port);
  const route = normalise(push.path, "push path");
  if (route === "/") fail("push path must not be '/'");
  routes.claim(route, "the push service", true);
  const idle = push.idleTimeoutSeconds ?? 3600;
  if (!Number.isInteger(idle) || idle < 1) fail(`push.idleTimeoutSeconds must be a positive whole number, got ${idle}`);
  return {
    route,
    lines: [
      "proxy_pass http://edge-push;",
      ...FORWARD_HEADERS,
      "proxy_set_header Upgrade $http_upgrade;",
      "proxy_set_header Connection $connection_upgrade;",
      `proxy_read_timeout ${idle}s;`,
      `proxy_send_timeout ${idle}s;`,
      "proxy_buffering off;",
    ],
  };
}

function upstreamBlocks(upstreams: readonly Upstream[], keepalive: number): string[] {
  return upstreams.flatMap((u) => [
    "",
    `upstream ${u.name} {`,
    `  server ${u.host}:${u.port};`,
    ...(keepalive > 0 ? [`  keepalive ${keepalive};`] : []),
    "}",
  ]);
}

function nchanRedisBlock(redis: NginxNchanPush["redis"]): string[] {
  if (!redis) return [];
  return [
    "",
    "# nchan's shared store: a message published through one replica reaches subscribers on all of them.",
    "upstream nchan-redis {",
    `  nchan_redis_server redis://${redis.host}:${redis.port}/${redis.db};`,
    ...(redis.passwordInclude ? [`  include ${redis.passwordInclude};`] : []),
    "}",
  ];
}

/** The public server's body: health, the push subscriber (nchan), every route, a 404 catch-all. */
function publicServer(
  listen: string,
  locations: readonly Location[],
  nchan: { sub: string; pub: string } | undefined,
  store: readonly string[],
): string[] {
  const out: string[] = [`listen ${listen} default_server;`, "server_name _;", "", `location = ${HEALTH_PATH} {`, ...indent(HEALTH), "}"];
  if (nchan) {
    out.push(
      "",
      "# Push: clients subscribe here (websocket, EventSource, long-poll); the channel is the last path segment.",
      ...channelLocation(nchan.sub, ["nchan_subscriber;", "nchan_channel_id $1;", ...store]),
      "# The publisher is on the internal server only: never reachable here, not even through a catch-all route.",
      ...reservedLocations(nchan.pub, ["return 404;"]),
    );
  }
  for (const loc of locations) {
    out.push("");
    for (const l of routeLocations(loc.route)) out.push(`location ${l} {`, ...indent(loc.lines), "}");
  }
  if (!locations.some((l) => l.route === "/")) out.push("", "location / {", "  return 404;", "}");
  return out;
}

/** The http context's settings shared by every server: limits, temp paths, logs, proxy defaults. */
function httpSettings(nginx: NginxSpec, tmp: string, resolver: string | undefined): string[] {
  const { connect, read, send } = nginx.timeouts;
  return [
    "default_type application/octet-stream;",
    "server_tokens off;",
    "sendfile on;",
    "tcp_nodelay on;",
    "keepalive_timeout 65s;",
    `client_max_body_size ${nginx.clientMaxBodySize};`,
    "",
    "# The root filesystem is read-only: every temp path sits on the writable tmp volume.",
    `client_body_temp_path ${tmp}/nginx-client-body;`,
    `proxy_temp_path ${tmp}/nginx-proxy;`,
    `fastcgi_temp_path ${tmp}/nginx-fastcgi;`,
    `uwsgi_temp_path ${tmp}/nginx-uwsgi;`,
    `scgi_temp_path ${tmp}/nginx-scgi;`,
    ...(resolver ? ["", `resolver ${resolver} valid=30s;`] : []),
    "",
    "# Keep a well-formed X-Request-ID from the client, otherwise mint one.",
    "map $http_x_request_id $stagecraft_request_id {",
    "  default $request_id;",
    '  "~^[A-Za-z0-9._:-]{1,128}$" $http_x_request_id;',
    "}",
    "# Websocket upgrade when asked; otherwise an empty Connection header keeps upstream keepalive.",
    "map $http_upgrade $connection_upgrade {",
    "  default upgrade;",
    '  "" "";',
    "}",
    "",
    "log_format stagecraft escape=json",
    `  '{"time":"$time_iso8601","remote":"$remote_addr","request":"$request","status":$status,'`,
    `  '"bytes":$body_bytes_sent,"duration":$request_time,"upstream":"$upstream_addr",'`,
    `  '"upstream_duration":"$upstream_response_time","request_id":"$stagecraft_request_id","user_agent":"$http_user_agent"}';`,
    "access_log /dev/stdout stagecraft;",
    "",
    "# Upstream keepalive needs HTTP/1.1 and an empty Connection header.",
    "proxy_http_version 1.1;",
    'proxy_set_header Connection "";',
    ...FORWARD_HEADERS,
    `proxy_connect_timeout ${connect}s;`,
    `proxy_read_timeout ${read}s;`,
    `proxy_send_timeout ${send}s;`,
    "add_header X-Request-ID $stagecraft_request_id always;",
  ];
}

export function nginxConf(input: NginxConfInput): string {
  checkInput(input);
  const { nginx, push } = input;
  const tmp = input.tmpDir ?? "/tmp";
  const addr = input.listenAddress === undefined ? "" : `${input.listenAddress}:`;
  const routes = new Routes();
  const nchanPush = push?.kind === "nchan" ? push : undefined;
  const nchan = nchanPush ? checkNchan(nchanPush, input, routes) : undefined;
  const { upstreams, locations } = backends(input, routes);
  const store = nchanPush?.redis ? ["nchan_redis_pass nchan-redis;"] : [];
  const workerConnections = nginx.workerConnections;
  const lines: string[] = [
    "# Rendered by Stagecraft from the stage spec (components/edge/nginxConf.ts): do not edit.",
    ...input.modules.map((m) => `load_module ${m};`),
    "",
    `worker_processes ${workerProcesses(nginx)};`,
    // A proxied request holds two descriptors: the client's and the upstream's.
    `worker_rlimit_nofile ${workerConnections * 2 + 64};`,
    `pid ${tmp}/nginx.pid;`,
    "error_log stderr warn;",
    "",
    "events {",
    `  worker_connections ${workerConnections};`,
    "}",
    "",
    "http {",
    ...indent([
      ...httpSettings(nginx, tmp, input.resolver),
      ...upstreamBlocks(upstreams, nginx.upstreamKeepalive),
      ...nchanRedisBlock(nchanPush?.redis),
      "",
      "server {",
      ...indent(publicServer(`${addr}${input.listenPort}`, locations, nchan, store)),
      "}",
      ...(nchan && nchanPush ? internalServer(nchanPush, nchan.pub, `${addr}${input.internalPort}`, store) : []),
    ]),
    "}",
    "",
  ];
  return lines.join("\n");
}
