/**
 * The impure side of the real node: running commands, starting and stopping processes by PID,
 * reading what the host looks like, and carrying out a cleanup plan (cleanup.ts decides what).
 */
import * as fs from "fs";
import * as path from "path";
import { spawn, spawnSync } from "child_process";
import { type Observed, type Step, SYSCTLS, describe, sysctlPath } from "./cleanup";

let prefix = "node";
/** The tag in front of log lines ([node], [images]). */
export const setLogPrefix = (p: string) => (prefix = p);
export const log = (s: string) => process.stderr.write(`[${prefix}] ${s}\n`);

export class Fail extends Error {}

/** Runs a command; throws Fail with its output unless it succeeds (or `ok` accepts its status). */
export function sh(cmd: string, args: string[], opts: { input?: string; timeout?: number; allowFail?: boolean } = {}): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", input: opts.input, timeout: opts.timeout ?? 120_000 });
  if (r.error) {
    if (opts.allowFail) return "";
    throw new Fail(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  }
  if (r.status !== 0 && !opts.allowFail) throw new Fail(`${cmd} ${args.join(" ")} exited ${r.status}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

export const which = (bin: string) => spawnSync("sh", ["-c", `command -v ${bin}`], { encoding: "utf8" }).stdout.trim();

// --- processes ------------------------------------------------------------------------------
export interface Proc {
  name: string;
  bin: string;
  args: string[];
}

const pidFile = (pids: string, name: string) => path.join(pids, `${name}.pid`);

/** The recorded PID of NAME if that process still runs BIN (argv[0]): a reused PID is never signalled. */
export function livePid(pids: string, name: string, bin: string): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile(pids, name), "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const argv0 = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
    return argv0 === bin ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Starts a process in its own session (it outlives `up`), output appended to logs/NAME.log. */
export function start(p: Proc, pids: string, logs: string): number {
  const running = livePid(pids, p.name, p.bin);
  if (running) {
    log(`${p.name}: already running (pid ${running})`);
    return running;
  }
  const out = fs.openSync(path.join(logs, `${p.name}.log`), "a");
  const child = spawn(p.bin, p.args, { detached: true, stdio: ["ignore", out, out] });
  fs.closeSync(out);
  if (!child.pid) throw new Fail(`${p.name}: could not start ${p.bin}`);
  child.unref();
  fs.writeFileSync(pidFile(pids, p.name), `${child.pid}\n`);
  log(`${p.name}: started (pid ${child.pid}, log ${path.join(logs, `${p.name}.log`)})`);
  return child.pid;
}

/** Running, and not a zombie: an exited process that was not our child waits for init to reap it. */
export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
};

export async function stopPid(name: string, pid: number, graceMs = 10_000): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(100);
  if (alive(pid)) {
    log(`${name}: still running ${graceMs / 1000}s after SIGTERM, sending SIGKILL`);
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone meanwhile */
    }
    while (alive(pid)) await sleep(50);
  }
  log(`${name}: stopped (pid ${pid})`);
}

export async function stop(p: Proc, pids: string): Promise<void> {
  const pid = livePid(pids, p.name, p.bin);
  if (pid) await stopPid(p.name, pid);
  fs.rmSync(pidFile(pids, p.name), { force: true });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns true; fails naming WHAT, with the tail of NAME's log, if it does not in time. */
export async function waitFor(what: string, secs: number, check: () => boolean, logFile?: string, died?: () => boolean): Promise<void> {
  const deadline = Date.now() + secs * 1000;
  for (;;) {
    let ok = false;
    try {
      ok = check();
    } catch {
      ok = false;
    }
    if (ok) return;
    const tail = () => (logFile && fs.existsSync(logFile) ? `\n${fs.readFileSync(logFile, "utf8").split("\n").slice(-25).join("\n")}` : "");
    if (died?.()) throw new Fail(`exited while waiting for ${what}${tail()}`);
    if (Date.now() > deadline) throw new Fail(`${what}: not reached in ${secs}s${tail()}`);
    await sleep(500);
  }
}

/** Processes whose command line names `needle` (e.g. our containerd socket): the shims of our containerd. */
export function pidsWithArg(needle: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").includes(needle)) out.push(Number(d));
    } catch {
      /* exited */
    }
  }
  return out;
}

// --- host state -----------------------------------------------------------------------------
/** Writes `text` to `file` unless it already holds exactly that; true when it wrote. */
export function writeIfChanged(file: string, text: string): boolean {
  if (fs.existsSync(file) && fs.readFileSync(file, "utf8") === text) return false;
  fs.writeFileSync(file, text);
  return true;
}

export function readSysctl(key: string): string | undefined {
  try {
    return fs.readFileSync(sysctlPath(key), "utf8").trim();
  } catch {
    return undefined;
  }
}

export function writeSysctl(key: string, value: string): void {
  fs.writeFileSync(sysctlPath(key), value);
}

/** Shared places containerd writes to whatever its config says; removed at down if `up` made them. */
export const SHARED_DIRS = ["/run/containerd", "/run/containerd/s"];

/**
 * Saves the sysctls the node changes and which shared dirs did not exist yet, once: an `up` after
 * a crash must not save the changed values.
 */
export function saveHostState(file: string): void {
  if (fs.existsSync(file)) return;
  const saved: Record<string, string> = {};
  for (const k of SYSCTLS) {
    const v = readSysctl(k);
    if (v !== undefined) saved[k] = v;
  }
  const createdDirs = SHARED_DIRS.filter((d) => !fs.existsSync(d));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ sysctls: saved, createdDirs }, null, 2));
}

/**
 * cgroup hierarchies mounted under /sys/fs/cgroup: the v1 controllers, plus (withUnified) the
 * hybrid mode's empty v2 tree, where the kubelet mirrors its kubepods dirs too.
 */
export function cgroupControllers(withUnified = false): string[] {
  const base = "/sys/fs/cgroup";
  if (!fs.existsSync(base)) return [];
  return fs
    .readdirSync(base)
    .map((d) => path.join(base, d))
    .filter((d) => {
      try {
        return (
          fs.statSync(d).isDirectory() &&
          !fs.lstatSync(d).isSymbolicLink() &&
          fs.existsSync(path.join(d, "cgroup.procs")) &&
          (withUnified || !d.endsWith("/unified"))
        );
      } catch {
        return false;
      }
    });
}

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out = [dir];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) out.push(...walk(path.join(dir, e.name)));
  return out;
}

export function observe(cgroupRoot: string, hostChanges: string): Observed {
  const cgroups: Record<string, string[]> = {};
  const pids = new Set<number>();
  for (const c of cgroupControllers(true)) {
    const dirs = walk(path.join(c, cgroupRoot));
    cgroups[c] = dirs;
    for (const d of dirs) {
      try {
        for (const p of fs.readFileSync(path.join(d, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) pids.add(Number(p));
      } catch {
        /* gone */
      }
    }
  }
  const iptables: Observed["iptables"] = [];
  for (const bin of ["iptables", "ip6tables"] as const) {
    if (!which(bin)) continue;
    for (const table of ["filter", "nat", "mangle"]) {
      const listing = sh(bin, ["-w", "5", "-t", table, "-S"], { allowFail: true });
      iptables.push({ bin, table, listing });
    }
  }
  const links = sh("ip", ["-o", "link", "show"], { allowFail: true })
    .split("\n")
    .map((l) => l.split(":")[1]?.trim().split("@")[0])
    .filter((x): x is string => Boolean(x));
  let savedSysctls: Record<string, string> = {};
  let createdDirs: string[] = [];
  try {
    const saved = JSON.parse(fs.readFileSync(hostChanges, "utf8"));
    savedSysctls = saved.sysctls ?? {};
    createdDirs = (saved.createdDirs ?? []).filter((d: string) => SHARED_DIRS.includes(d));
  } catch {
    /* nothing saved: nothing to restore */
  }
  const sysctlsNow = Object.fromEntries(Object.keys(savedSysctls).map((k) => [k, readSysctl(k)]));
  return {
    mountinfo: fs.readFileSync("/proc/self/mountinfo", "utf8"),
    iptables,
    links,
    ipsets: which("ipset") ? sh("ipset", ["list", "-n"], { allowFail: true }).split("\n").filter(Boolean) : [],
    cgroupPids: [...pids].filter((p) => p !== process.pid),
    cgroups,
    savedSysctls,
    sysctlsNow,
    createdDirs,
  };
}

/** Carries out a cleanup plan; a step that fails is reported and the rest still run. */
export function execute(steps: Step[]): string[] {
  const failed: string[] = [];
  for (const s of steps) {
    try {
      switch (s.kind) {
        case "kill":
          try {
            process.kill(s.pid, "SIGKILL");
          } catch {
            /* already gone */
          }
          break;
        case "umount":
          if (spawnSync("umount", [s.path]).status !== 0) sh("umount", ["-l", s.path]);
          break;
        case "iptables":
          sh(s.bin, ["-w", "5", ...s.args]);
          break;
        case "link-del":
          sh("ip", ["link", "del", s.name]);
          break;
        case "ipset-destroy":
          sh("ipset", ["destroy", s.name]);
          break;
        case "sysctl":
          writeSysctl(s.key, s.value);
          break;
        case "rmdir-empty":
          try {
            fs.rmdirSync(s.path);
          } catch {
            /* not empty (someone else's) or gone: leave it */
          }
          break;
        case "rmdir":
          for (let i = 0; ; i++) {
            try {
              fs.rmdirSync(s.path);
              break;
            } catch (e) {
              // A cgroup is busy for a moment after its last process was killed.
              if ((e as NodeJS.ErrnoException).code === "ENOENT") break;
              if (i >= 20) throw e;
              spawnSync("sleep", ["0.1"]);
            }
          }
          break;
      }
    } catch (e) {
      failed.push(`${describe(s)}: ${(e as Error).message}`);
    }
  }
  return failed;
}
