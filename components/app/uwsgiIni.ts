/**
 * `uwsgi.ini` of a Django web service: uWSGI master + worker processes, each running gevent.
 * A pure function of the service spec; the AppService component mounts it from a ConfigMap.
 */
import type { ServiceSpec, UwsgiSpec } from "../../spec/schema";

/** Plugins Debian's uwsgi needs for this file (uwsgi-plugin-python3, uwsgi-plugin-gevent-python3). */
export const DEBIAN_UWSGI_PLUGINS: readonly string[] = ["python3", "gevent_python3"];

export interface UwsgiIniInput {
  /** A web service with `uwsgi` set. */
  readonly service: ServiceSpec;
  readonly httpPort: number;
  /** The WSGI callable, e.g. `app.wsgi:application`. */
  readonly module: string;
  /** Plugins to load first: DEBIAN_UWSGI_PLUGINS for Debian's uwsgi; none for a pip-built uwsgi (gevent built in). */
  readonly plugins?: readonly string[];
  /** Address of the http-socket; default all addresses (a pod). Tests pass 127.0.0.1. */
  readonly bindAddress?: string;
}

/**
 * Seconds a pod needs to stop cleanly: a request that started just before SIGTERM may run until
 * harakiri, and uWSGI waits at most this long for it (worker-reload-mercy). The pod's
 * terminationGracePeriodSeconds must cover this plus any preStop delay.
 */
export function uwsgiDrainSeconds(uwsgi: UwsgiSpec): number {
  return uwsgi.harakiri + 5;
}

const MODULE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(:[A-Za-z_][A-Za-z0-9_]*)?$/;
const PLUGIN = /^[a-z0-9_]+$/;
const ADDRESS = /^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/;

function fail(service: string, what: string): never {
  throw new Error(`uwsgiIni: service ${service}: ${what}`);
}

export function uwsgiIni(input: UwsgiIniInput): string {
  const { service } = input;
  if (service.kind !== "web") fail(service.name, `is a ${service.kind} service; only web services run under uWSGI`);
  const u = service.uwsgi;
  if (!u) fail(service.name, "has no uwsgi settings (spec.services[].uwsgi)");
  if (!Number.isInteger(input.httpPort) || input.httpPort < 1 || input.httpPort > 65535)
    fail(service.name, `httpPort ${input.httpPort} is not a TCP port`);
  if (!MODULE.test(input.module)) fail(service.name, `module '${input.module}' must be a dotted module path with an optional ':callable'`);
  const plugins = input.plugins ?? [];
  for (const p of plugins) if (!PLUGIN.test(p)) fail(service.name, `plugin '${p}' must be a plugin name such as 'python3'`);
  if (input.bindAddress !== undefined && !ADDRESS.test(input.bindAddress))
    fail(service.name, `bindAddress '${input.bindAddress}' is not an address`);

  const lines = [
    "[uwsgi]",
    `; Rendered by Stagecraft for service ${service.name} (components/app/uwsgiIni.ts): do not edit.`,
    "; An unknown option is an error, not a silent no-op.",
    "strict = true",
    // Plugins first: their options (gevent) are unknown until they are loaded.
    ...(plugins.length > 0 ? [`plugins = ${plugins.join(",")}`] : []),
    "",
    "; Plain HTTP: nginx proxies here. Not http11-socket: its keep-alive hangs on any response",
    "; without Content-Length (streaming), so each response ends by closing the connection.",
    `http-socket = ${input.bindAddress ?? ""}:${input.httpPort}`,
    `listen = ${u.listen}`,
    `buffer-size = ${u.bufferSize}`,
    "",
    `module = ${input.module}`,
    "need-app = true",
    "single-interpreter = true",
    "; Each worker imports the app after the fork: connection pools (database, Redis) opened at",
    "; import are never shared between processes, and gevent's hub is never forked.",
    "lazy-apps = true",
    "",
    "master = true",
    `processes = ${u.processes}`,
    `gevent = ${u.asyncCores}`,
    "; Patch before the app is imported (plain gevent-monkey-patch runs after it), so every socket",
    "; and lock the app creates is cooperative.",
    "gevent-early-monkey-patch = true",
    "",
    `harakiri = ${u.harakiri}`,
    `max-requests = ${u.maxRequests}`,
    "",
    "; Kubernetes stops a pod with SIGTERM: finish the requests in flight, then exit (not reload).",
    "die-on-term = true",
    "hook-master-start = unix_signal:15 gracefully_kill_them_all",
    `worker-reload-mercy = ${uwsgiDrainSeconds(u)}`,
    "vacuum = true",
    "",
  ];
  return lines.join("\n");
}
