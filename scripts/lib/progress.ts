/**
 * Runs one long set-up step (a Go build, an apt install) with its output in a log file and, on the
 * terminal, a few lines a person can read: which tool, step n of N, time so far, the expected total
 * on a first run. Go's thousands of `go: downloading` lines go to the log, counted, never shown.
 *
 *   node -r ts-node/register/transpile-only scripts/lib/progress.ts \
 *     --prefix toolchain --step 2/5 --tool pulumi --expect 660 --log .tools/logs/toolchain.log -- go build ...
 *
 * Exit status is the command's; on failure the log's last lines are shown with the log's path.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";

export interface Step {
  /** Which script is talking: `toolchain`, `cluster-tools`. */
  readonly prefix: string;
  readonly step: number;
  readonly of: number;
  /** What is being made, e.g. `pulumi` or `kube-apiserver, kubectl`. */
  readonly tool: string;
  /** Seconds a first run (cold Go caches) took on the reference machine; 0 when unknown. */
  readonly expectS: number;
  readonly log: string;
}

/** 75 -> "1m15s", 3600 -> "1h00m", 9 -> "9s". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

const tag = (p: Step) => `[${p.prefix} ${p.step}/${p.of}]`;
const expected = (p: Step) => (p.expectS > 0 ? `a first run takes ~${duration(p.expectS)}, a cached one seconds` : "");

/** The line printed when the step starts. */
export function startLine(p: Step): string {
  const extra = [expected(p), `output: ${p.log}`].filter(Boolean).join("; ");
  return `${tag(p)} ${p.tool}: building (${extra})`;
}

/** The line printed every so often while the step runs. */
export function progressLine(p: Step, elapsedS: number, downloads: number): string {
  const parts = [`${duration(elapsedS)} so far`];
  if (p.expectS > 0)
    parts.push(elapsedS > p.expectS * 1.5 ? `longer than the usual ~${duration(p.expectS)}` : `of ~${duration(p.expectS)}`);
  if (downloads > 0) parts.push(`${downloads} modules downloaded`);
  return `${tag(p)} ${p.tool}: ${parts.join(", ")}`;
}

/** The line printed when the step ends well. */
export function doneLine(p: Step, elapsedS: number, downloads: number): string {
  return `${tag(p)} ${p.tool}: done in ${duration(elapsedS)}${downloads > 0 ? ` (${downloads} modules downloaded)` : ""}`;
}

/** What a failure shows: the log's last `n` non-empty lines that are not download noise, and where the rest is. */
export function failureText(p: Step, code: number, logTail: string, n = 30): string {
  const lines = logTail.split("\n").filter((l) => l.trim() !== "" && !/^go: downloading /.test(l));
  return [`${tag(p)} ${p.tool}: FAILED (exit ${code}); last lines of ${p.log}:`, ...lines.slice(-n).map((l) => `  ${l}`)].join("\n");
}

/** Parses `--prefix P --step n/N --tool T --expect S --log F -- cmd args...`. */
export function parseArgs(argv: readonly string[]): { step: Step; cmd: string[] } {
  const sep = argv.indexOf("--");
  if (sep < 0 || sep === argv.length - 1)
    throw new Error("usage: progress.ts --step n/N --tool T --log F [--prefix P] [--expect S] -- cmd args...");
  const flags = new Map<string, string>();
  for (let i = 0; i < sep; i += 2) flags.set(argv[i].replace(/^--/, ""), argv[i + 1] ?? "");
  const m = /^(\d+)\/(\d+)$/.exec(flags.get("step") ?? "");
  const tool = flags.get("tool");
  const log = flags.get("log");
  if (!m || !tool || !log) throw new Error("progress.ts needs --step n/N, --tool and --log");
  return {
    step: {
      prefix: flags.get("prefix") ?? "setup",
      step: Number(m[1]),
      of: Number(m[2]),
      tool,
      expectS: Number(flags.get("expect") ?? 0),
      log,
    },
    cmd: argv.slice(sep + 1),
  };
}

/** Runs the command, output appended to the log, progress on `say`. Resolves to its exit code. */
export function run(p: Step, cmd: readonly string[], say: (line: string) => void, everyMs = 30_000): Promise<number> {
  fs.mkdirSync(path.dirname(p.log), { recursive: true });
  const log = fs.openSync(p.log, "a");
  fs.writeSync(log, `\n=== ${new Date().toISOString()} ${p.prefix} ${p.step}/${p.of} ${p.tool}: ${cmd.join(" ")}\n`);
  const from = fs.fstatSync(log).size;
  say(startLine(p));
  const t0 = Date.now();
  let downloads = 0;
  const child = spawn(cmd[0], cmd.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  const take = (d: Buffer) => {
    fs.writeSync(log, d);
    downloads += (d.toString().match(/^go: downloading /gm) ?? []).length;
  };
  child.stdout.on("data", take);
  child.stderr.on("data", take);
  const timer = setInterval(() => say(progressLine(p, (Date.now() - t0) / 1000, downloads)), everyMs);
  return new Promise((resolve) => {
    let finished = false;
    const finish = (code: number) => {
      if (finished) return; // a spawn error can be followed by close
      finished = true;
      clearInterval(timer);
      const elapsed = (Date.now() - t0) / 1000;
      fs.closeSync(log);
      if (code === 0) say(doneLine(p, elapsed, downloads));
      else say(failureText(p, code, fs.readFileSync(p.log).subarray(from).toString()));
      resolve(code);
    };
    child.on("error", (e) => {
      fs.appendFileSync(p.log, `${e.message}\n`);
      finish(127);
    });
    child.on("close", (code, signal) => finish(code ?? (signal ? 128 : 1)));
  });
}

if (require.main === module) {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  const every = Number(process.env.STAGECRAFT_PROGRESS_SECONDS ?? 30) * 1000;
  void run(parsed.step, parsed.cmd, (l) => console.error(l), every).then((code) => process.exit(code));
}
