/**
 * The commands of the app tier's exec probes, as pure functions. Readiness asks "can it serve?",
 * liveness only "is the process wedged?": a liveness check that needs a store would restart every
 * healthy pod when that store is slow (kube-score's pod-probes-identical).
 */

const PORT_MAX = 65535;

/** Readiness of a Celery worker: this node answers a ping through the broker (it can take work). */
export function celeryPingCommand(app: string): string[] {
  return ["sh", "-c", `celery -A ${app} inspect ping --destination "celery@$HOSTNAME" --timeout 10`];
}

/**
 * Liveness of a Celery worker. The only sign that the worker's loop still turns is its answer to
 * the ping, and that travels through the broker; so the ping is asked only while the broker (the
 * cache's Redis, from settings.json) accepts a connection. A broker that is down or unreachable
 * makes the worker unready (readiness), never restarted: restarting would not bring Redis back.
 */
export function celeryLivenessCommand(app: string, settingsFile: string): string[] {
  if (!settingsFile.startsWith("/") || /['"\s\\$`]/.test(settingsFile))
    throw new Error(`healthChecks: settings file '${settingsFile}' must be an absolute path without quotes, spaces or $`);
  const brokerUp =
    `python -c 'import json, socket, sys; c = json.load(open(sys.argv[1]))["cache"]; ` +
    `socket.create_connection((c["host"], c["port"]), 3).close()' ${settingsFile}`;
  return ["sh", "-c", `${brokerUp} || exit 0; ${celeryPingCommand(app)[2]}`];
}

/**
 * Liveness of an RPC server: one request over its own protocol (a 4-byte big-endian length, then
 * a msgpack map) must get a reply within 4 s. The request names no method, so the server answers
 * `bad_input` from its dispatch loop without touching a store: a reply proves the loop turns, which
 * an open socket (the kernel accepts into the backlog of a wedged process too) does not. The
 * msgpack bytes are spelled out: the probe needs nothing but Python's standard library.
 */
export function rpcAnswersCommand(port: number): string[] {
  if (!Number.isInteger(port) || port < 1 || port > PORT_MAX) throw new Error(`healthChecks: port ${port} is not a TCP port`);
  // {"id": "live", "method": "", "args": {}}: fixmap(3), fixstr keys and values, fixmap(0).
  const request = "\\x83\\xa2id\\xa4live\\xa6method\\xa0\\xa4args\\x80";
  const script = [
    "import socket, struct",
    `s = socket.create_connection(("127.0.0.1", ${port}), 4)`,
    "s.settimeout(4)",
    `b = b"${request}"`,
    'f = s.makefile("rb")',
    's.sendall(struct.pack(">I", len(b)) + b)',
    'n, = struct.unpack(">I", f.read(4))',
    'assert 0 < n == len(f.read(n)), "short reply"',
  ].join("; ");
  return ["python", "-c", script];
}
