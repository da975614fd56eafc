/**
 * Real servers for conformance tests: start on 127.0.0.1, wait until they listen, stop by PID.
 * Every server a test starts is stopped in afterAll, even when the test fails.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

export interface Server {
  readonly name: string;
  readonly proc: ChildProcess;
  /** What the server printed so far (stdout and stderr), for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** A fresh temporary directory for one test's files. */
export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `stagecraft-${prefix}-`));
}

/**
 * A free TCP port on 127.0.0.1, chosen below the kernel's ephemeral range (32768+): a port the OS
 * hands out there can be taken as the source port of some outgoing connection (a busy apiserver
 * opens many to etcd) between this check and the server binding it.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const ok = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.unref();
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}

/** Runs a command to completion; throws with its output when it fails. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {},
): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 120_000, ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** True when a binary is on PATH (or is an absolute path that exists). */
/**
 * Waits until a server's output matches `pattern` (its processes log on their own schedule, e.g.
 * each uWSGI worker announces its loop when it starts it); fails with the output after `timeoutMs`.
 */
export async function outputMatches(server: Server, pattern: RegExp, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!pattern.test(server.output())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${pattern} never appeared in the output:\n${server.output()}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

export function have(bin: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${bin}`]).status === 0;
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

/** Starts a long-running server and resolves once it accepts TCP connections on `port`. */
export async function startServer(
  name: string,
  cmd: string,
  args: string[],
  port: number,
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Server> {
  const proc = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  let exited = false;
  proc.on("exit", () => (exited = true));
  const server: Server = {
    name,
    proc,
    output: () => out,
    stop: async () => {
      if (exited || proc.pid === undefined) return;
      process.kill(proc.pid, "SIGTERM");
      const deadline = Date.now() + 10_000;
      while (!exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (!exited) process.kill(proc.pid, "SIGKILL");
    },
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${name} exited before listening on ${port}:\n${out}`);
    if (await portOpen(port)) return server;
    await new Promise((r) => setTimeout(r, 100));
  }
  await server.stop();
  throw new Error(`${name} did not listen on 127.0.0.1:${port} in time:\n${out}`);
}

/**
 * The `describe` for a conformance file that needs real tools. With all of them present it is the
 * plain `describe`. A missing one skips the file locally, with a note; in CI (CI=true) it fails a
 * test instead, never a silent skip.
 */
export function conformanceSuite(what: string, missing: readonly string[]): jest.Describe {
  if (missing.length === 0) return describe;
  const note = `${what}: missing ${missing.join(", ")} (run bash scripts/servers.sh)`;
  if (process.env.CI === "true") test(`${what} has its tools`, () => expect(note).toBe(`${what}: nothing missing`));
  else console.warn(`skipping ${note}`);
  return describe.skip;
}
