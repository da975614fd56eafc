/**
 * What `npm run cluster -- up` finds before it starts anything, and what it does about it
 * (scripts/cluster.sh runs this first):
 *
 * - this state dir's cluster already up: say so, start nothing, go on (up is idempotent);
 * - PID files whose processes are gone (a crash, a kill, a reboot): say which, drop the files,
 *   start those again (the real node's host leftovers are node/main.ts prepare's);
 * - a port a component needs held by another process (another clone's cluster, a stray server):
 *   refuse before anything starts, naming the port, the component, the holder and its state dir
 *   when it is a cluster's, and the fix (its `down`, or other ports for this one).
 *
 *   node -r ts-node/register/transpile-only scripts/cluster/upCheck.ts STATE [--real-node] \
 *     --component NAME BIN [HOST:PORT=ENV ...] ...
 *
 * With --real-node the node's own processes and ports (node/layout.ts) are checked too.
 *
 * planUp is pure (facts in, decision out); the rest reads /proc.
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { layoutFor, type NodeLayout } from "./node/layout";

export interface Bind {
  readonly host: string;
  readonly port: number;
  /** The environment variable that moves this port (the fix names it). */
  readonly env: string;
}

export interface Component {
  readonly name: string;
  /** The binary the launcher starts (argv[0]): a PID running anything else is not ours. */
  readonly bin: string;
  readonly binds: readonly Bind[];
  /** The PID in pids/NAME.pid, if the file exists. */
  readonly pidFile?: number;
  /** Whether that PID runs `bin` now. */
  readonly pidAlive: boolean;
}

export interface Listener {
  readonly host: string;
  readonly port: number;
  /** The process holding it, when /proc tells (another user's needs root). */
  readonly pid?: number;
  readonly cmdline?: readonly string[];
}

export type UpPlan =
  | { readonly kind: "proceed"; readonly notes: readonly string[]; readonly stalePidFiles: readonly string[] }
  | { readonly kind: "refuse"; readonly message: string };

/** The real node's processes (nodeComponents): two of them cannot share one machine whatever the ports. */
const NODE_PROCESSES = new Set(["containerd", "kubelet", "kube-proxy", "kube-router"]);

const WILDCARD = new Set(["0.0.0.0", "::", "*"]);
/** Two binds clash on the same port when either is a wildcard or both name the same address. */
export const clash = (a: { host: string; port: number }, b: { host: string; port: number }) =>
  a.port === b.port && (a.host === b.host || WILDCARD.has(a.host) || WILDCARD.has(b.host));

/**
 * The cluster state dir a launcher-started process belongs to, read from its arguments: etcd's
 * --data-dir STATE/etcd, the others' STATE/pki/… or STATE/kubeconfigs/… files, the real node's
 * STATE/node/… configs (kube-proxy, kubelet, containerd).
 */
export function stateDirOf(cmdline: readonly string[]): string | undefined {
  const i = cmdline.indexOf("--data-dir");
  if (i >= 0 && cmdline[i + 1]?.endsWith("/etcd")) return path.dirname(cmdline[i + 1]);
  for (const a of cmdline) {
    const m =
      /^(?:--[\w-]+=)?(\/.+?)\/(?:pki|kubeconfigs)\/[^/]+$/.exec(a) ??
      /^(?:--[\w-]+=)?(\/.+?)\/node\/(?:kube-proxy-config\.yaml|kubelet-config\.yaml|containerd\/config\.toml)$/.exec(a);
    if (m) return m[1];
  }
  return undefined;
}

export function planUp(
  state: string,
  components: readonly Component[],
  listeners: readonly Listener[],
  selfPids: ReadonlySet<number> = new Set(),
  upCommand = "npm run cluster -- up",
): UpPlan {
  const running = components.filter((c) => c.pidAlive);
  const stale = components.filter((c) => !c.pidAlive && c.pidFile !== undefined);
  // Clashes grouped by holder (another cluster's state dir, else the process), so each gets one line and one fix.
  const byHolder = new Map<string, { who: string; fix: string; only: boolean; ports: string[]; envs: string[] }>();
  for (const c of components) {
    if (c.pidAlive) continue; // its ports are its own
    for (const b of c.binds) {
      const holder = listeners.find((l) => clash(l, b) && !(l.pid !== undefined && selfPids.has(l.pid)));
      if (!holder) continue;
      const cmd = holder.cmdline?.length ? holder.cmdline : undefined;
      const owner = cmd && stateDirOf(cmd);
      const proc = holder.pid === undefined ? undefined : `pid ${holder.pid} (${cmd ? path.basename(cmd[0]) : "?"})`;
      const [key, who, fix] =
        owner === state
          ? [
              `pid ${holder.pid}`,
              `${proc}, one of this cluster's own processes running without its PID file`,
              `kill ${holder.pid}, then up again`,
            ]
          : owner
            ? [owner, `the cluster in ${owner}`, `stop it (STAGECRAFT_CLUSTER_DIR=${owner} npm run cluster -- down, from its clone)`]
            : proc
              ? [proc, proc, `stop ${proc}`]
              : ["?", "a process not visible from here (another user's without root, or another PID namespace)", "stop it"];
      const g = byHolder.get(key) ?? { who, fix, only: owner === state, ports: [], envs: [] };
      // Another cluster's real node: moving ports is no way out, the bridge and node IP are one per machine.
      if (owner && owner !== state && NODE_PROCESSES.has(path.basename(cmd?.[0] ?? "")) && c.binds.length && NODE_PROCESSES.has(c.name)) {
        g.only = true;
        g.fix = `${fix}: one machine runs one real node (its bridge and node IP are fixed)`;
      }
      g.ports.push(`${b.port} (${c.name}${holder.pid !== undefined && owner && owner !== state ? ` pid ${holder.pid}` : ""})`);
      g.envs.push(`${b.env}=<a free port>`);
      byHolder.set(key, g);
    }
  }
  if (byHolder.size)
    return {
      kind: "refuse",
      message:
        `cannot start the cluster in ${state}; nothing was started.\n` +
        [...byHolder.values()]
          .map(
            (g) =>
              `  port${g.ports.length > 1 ? "s" : ""} ${g.ports.join(", ")} ${g.ports.length > 1 ? "are" : "is"} held by ${g.who}. ` +
              `Fix: ${g.fix}${g.only ? "" : `, or give this cluster other ports: ${g.envs.join(" ")} ${upCommand}`}`,
          )
          .join("\n"),
    };
  const notes: string[] = [];
  if (running.length === components.length)
    notes.push(
      `the cluster in ${state} is already up (${running.map((c) => `${c.name} ${c.pidFile}`).join(", ")}): nothing to start. ` +
        "`npm run cluster -- status` shows it; `npm run cluster -- down` stops it",
    );
  else if (running.length) notes.push(`already running: ${running.map((c) => `${c.name} ${c.pidFile}`).join(", ")}`);
  if (stale.length)
    notes.push(
      `a previous run left PID files of processes that are gone (${stale.map((c) => `${c.name} ${c.pidFile}`).join(", ")}): ` +
        "it crashed or was killed; dropping those files and starting them again",
    );
  return { kind: "proceed", notes, stalePidFiles: stale.map((c) => c.name) };
}

// --- parsing ---------------------------------------------------------------------------------

/** `--component NAME BIN [HOST:PORT=ENV ...]` groups, as scripts/cluster.sh passes them. */
export function parseComponents(args: readonly string[]): { name: string; bin: string; binds: Bind[] }[] {
  const out: { name: string; bin: string; binds: Bind[] }[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] !== "--component") throw new Error(`upCheck: expected --component, got '${args[i]}'`);
    const name = args[++i];
    const bin = args[++i];
    if (!name || !bin) throw new Error("upCheck: --component needs NAME and BIN");
    const binds: Bind[] = [];
    while (i + 1 < args.length && args[i + 1] !== "--component") {
      const m = /^(.+):(\d+)=(\w+)$/.exec(args[++i]);
      if (!m) throw new Error(`upCheck: '${args[i]}' is not HOST:PORT=ENV`);
      binds.push({ host: m[1], port: Number(m[2]), env: m[3] });
    }
    out.push({ name, bin, binds });
  }
  return out;
}

/** The real node's processes (node/main.ts starts them) and the ports they bind, from its layout. */
export function nodeComponents(l: NodeLayout, bin: string, containerd: string): { name: string; bin: string; binds: Bind[] }[] {
  return [
    { name: "containerd", bin: containerd, binds: [] },
    {
      name: "kubelet",
      bin: path.join(bin, "kubelet"),
      binds: [
        { host: l.nodeIp, port: l.ports.kubelet, env: "STAGECRAFT_NODE_KUBELET_PORT" },
        { host: "127.0.0.1", port: l.ports.kubeletHealthz, env: "STAGECRAFT_NODE_KUBELET_HEALTHZ_PORT" },
      ],
    },
    {
      name: "kube-proxy",
      bin: path.join(bin, "kube-proxy"),
      binds: [
        { host: "127.0.0.1", port: l.ports.proxyHealthz, env: "STAGECRAFT_NODE_PROXY_HEALTHZ_PORT" },
        { host: "127.0.0.1", port: l.ports.proxyMetrics, env: "STAGECRAFT_NODE_PROXY_METRICS_PORT" },
      ],
    },
    // kube-router's health server listens on every address.
    {
      name: "kube-router",
      bin: path.join(bin, "kube-router"),
      binds: [{ host: "0.0.0.0", port: l.ports.routerHealth, env: "STAGECRAFT_NODE_ROUTER_HEALTH_PORT" }],
    },
  ];
}

/** A hex address of /proc/net/tcp{,6}: 32-bit words in host (little-endian) byte order. */
function procAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => (w.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
  if (bytes.length === 4) return bytes.join(".");
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255) return bytes.slice(12).join("."); // v4-mapped
  if (bytes.every((b) => b === 0)) return "::";
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(":");
}

/** Listening sockets (state 0A) of /proc/net/tcp or tcp6: address, port and socket inode. */
export function parseProcNetTcp(text: string): { host: string; port: number; inode: number }[] {
  return text
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 9 && f[3] === "0A")
    .map((f) => {
      const [addr, port] = f[1].split(":");
      return { host: procAddress(addr), port: parseInt(port, 16), inode: Number(f[9]) };
    });
}

// --- the host --------------------------------------------------------------------------------

const read = (p: string) => {
  try {
    return fs.readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
};
const cmdlineOf = (pid: number) => read(`/proc/${pid}/cmdline`)?.split("\0").filter(Boolean);

function listeners(): Listener[] {
  const socks = [...parseProcNetTcp(read("/proc/net/tcp") ?? ""), ...parseProcNetTcp(read("/proc/net/tcp6") ?? "")];
  const byInode = new Map<number, number>();
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${d}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${d}/fd/${fd}`));
        if (m) byInode.set(Number(m[1]), Number(d));
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return socks.map((s) => {
    const pid = byInode.get(s.inode);
    return { host: s.host, port: s.port, pid, cmdline: pid === undefined ? undefined : cmdlineOf(pid) };
  });
}

function main(argv: string[]): number {
  const [state, ...rest] = argv;
  if (!state) {
    process.stderr.write("usage: upCheck.ts STATE [--real-node] --component NAME BIN [HOST:PORT=ENV ...] ...\n");
    return 2;
  }
  const realNode = rest[0] === "--real-node";
  const wanted = parseComponents(realNode ? rest.slice(1) : rest);
  if (realNode) {
    const tools = process.env.STAGECRAFT_TOOLS || path.resolve(__dirname, "../../.tools");
    const containerd = spawnSync("sh", ["-c", "command -v containerd"], { encoding: "utf8" }).stdout.trim() || "/usr/bin/containerd";
    wanted.push(...nodeComponents(layoutFor(state, process.env), path.join(tools, "bin"), containerd));
  }
  const pids = path.join(state, "pids");
  const components: Component[] = wanted.map((c) => {
    const raw = read(path.join(pids, `${c.name}.pid`))?.trim();
    const pidFile = raw && /^\d+$/.test(raw) ? Number(raw) : undefined;
    const argv0 = pidFile === undefined ? undefined : cmdlineOf(pidFile)?.[0];
    return { ...c, pidFile, pidAlive: argv0 === c.bin };
  });
  const plan = planUp(state, components, listeners(), new Set([process.pid]), `npm run cluster -- up${realNode ? " --real-node" : ""}`);
  if (plan.kind === "refuse") {
    process.stderr.write(`[cluster] error: ${plan.message}\n`);
    return 1;
  }
  for (const n of plan.notes) process.stderr.write(`[cluster] ${n}\n`);
  for (const name of plan.stalePidFiles) fs.rmSync(path.join(pids, `${name}.pid`), { force: true });
  return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
