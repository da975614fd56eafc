/**
 * Benchmark (a script, not a test): `npm run bench`. Everything is measured in one run, as ratios,
 * because these machines are noisy. Writes docs/benchmarks.md.
 *
 * 1. `pulumi preview` of each stage against the engine floor: the same engine previewing the same
 *    objects loaded from plain YAML (`yaml.v2.ConfigGroup` over the stage's rendered manifests),
 *    both with the project's defaults (scripts/env.sh: ts-node transpiles only); and the stage's
 *    preview with ts-node's type check back on, for the record.
 * 2. Preview time for 5 to 100 application services (split's service cloned), to show growth.
 * 3. The unit-test suite's wall time, against the mvc preview.
 * 4. On a local KWOK cluster of its own (scripts/cluster.sh, temp state, free ports): `pulumi up
 *    --skip-preview` of each stage against `kubectl apply --server-side` of the same rendered
 *    manifests followed by the waits pulumi's awaits stand for (rollouts, Jobs), and against the
 *    floor's `up` of them; then no-op `pulumi preview`s of the live ddd stack and of its floor.
 *    One run each of the `up`s (one cannot be repeated on the same state).
 * 5. `BENCH_ONLY=node`, not part of `npm run bench` (it needs the local cluster's real node up:
 *    `npm run local`): the same comparison on that node, where pods run, beside the live stack
 *    (namespace `stagecraft`, never touched). Each stage is the live stack `local`'s target (`fit`,
 *    Kong on KWOK nodes, local images) with the stage's spec, in namespaces of the benchmark's own;
 *    kubectl applies the objects a `pulumi preview --show-secrets` of that stack would create (a
 *    render target can hold neither `fit` nor placement, and redacts the Secrets a real pod reads),
 *    data tier first (applyPhases: all at once, a migration Job fails before MySQL is bootstrapped).
 *    One run each, pulumi then kubectl per stage (kubectl's Secrets come from pulumi's run: a preview
 *    masks their values); namespaces and their volumes deleted between runs.
 *    Rewrites section 5 of docs/benchmarks.md.
 * Each figure is the median of RUNS runs after one warm-up; previews start from empty state.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { copyProgram, PROGRAM_FILES } from "../test/lib/program";
import { freePort } from "../test/lib/proc";
import { preflight } from "./preflight/main";
import { parseNodes } from "./preflight/cluster";
import { readStackFile } from "../spec/stackFile";
import { checkClusterFit } from "../validate/clusterFit";
import {
  applyPhases,
  applyStream,
  benchStackText,
  benchVolumes,
  fillSecrets,
  jobsDone,
  previewObjects,
  sectionOf,
  since,
  timeline,
  waitsOf,
  withHeadroom,
  withSection,
} from "./lib/benchNode";

const ROOT = path.join(__dirname, "..");
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
// BENCH_STAGES=mvc,ddd narrows a quick run; the published table has all four.
const STAGES = (process.env.BENCH_STAGES ?? "mvc,split,micro,ddd").split(",");
const SIZES = [5, 10, 20, 40, 100];

function sh(script: string, cwd: string, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync("bash", ["-c", `source ${ROOT}/scripts/env.sh && ${script}`], {
    cwd,
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
}

/** Median wall time of `RUNS` runs (after one warm-up), in seconds. */
function time(label: string, fn: () => void): number {
  fn();
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)];
  console.error(`[bench] ${label}: ${samples.map((s) => s.toFixed(1)).join(" / ")} s, median ${median.toFixed(1)}`);
  return median;
}

/** The project copies (program, stack files, state) the benchmark makes, removed when it exits. */
const scratch: string[] = [];
process.on("exit", () => {
  for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
});
function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `stagecraft-bench-${prefix}-`));
  scratch.push(dir);
  return dir;
}

/** A throwaway copy of a Pulumi program with its own stacks folder and backend. */
function project(name: string, files: Record<string, string>, copy: readonly string[]): string {
  const dir = copyProgram(ROOT, scratchDir(name), copy);
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
  fs.mkdirSync(path.join(dir, ".backend"));
  return dir;
}

/** Preview of `stack` in a fresh project copy, from empty state. Returns the resource count too. */
function previewer(dir: string, stack: string, extraEnv: NodeJS.ProcessEnv = {}): () => number {
  const env = { PULUMI_BACKEND_URL: `file://${dir}/.backend`, ...extraEnv };
  sh(`pulumi stack select --create ${stack} --non-interactive >/dev/null`, dir, env);
  return () => {
    const out = JSON.parse(sh(`pulumi preview --json --non-interactive --stack ${stack}`, dir, env)) as { steps?: unknown[] };
    return out.steps?.length ?? 0;
  };
}

/** The stage program on a stack file. */
function stageProject(stack: string, stackText: string): string {
  return project(`stage-${stack}`, { [`stacks/Pulumi.${stack}.yaml`]: stackText }, PROGRAM_FILES);
}

/** The floor: the same engine and provider, the same objects, read from the rendered YAML. */
function floorProject(stage: string): string {
  const files = fs
    .readdirSync(path.join(ROOT, "rendered", stage), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => path.join(ROOT, "rendered", stage, f));
  return floorOf(`floor-${stage}`, { renderYamlToDirectory: path.join(os.tmpdir(), `floor-${stage}`) }, files);
}

/**
 * The floor on a live cluster: the stage's rendered objects moved into namespace `ns` (as kubectl
 * gets them), through a provider on `kubeconfig` configured as the stage's is (components/platform/provider.ts).
 */
function liveFloorProject(stage: string, kubeconfig: string, ns: string): string {
  const stream = path.join(scratchDir(`floor-${stage}`), "objects.yaml");
  fs.writeFileSync(stream, renderedStream(stage, ns));
  return floorOf(`floor-live-${stage}`, { kubeconfig, namespace: ns, deleteUnreachable: false }, [stream]);
}

/** A project whose program is one `yaml.v2.ConfigGroup` over `files`, through a provider with `providerArgs`. */
function floorOf(name: string, providerArgs: Record<string, unknown>, files: string[]): string {
  // Plain JavaScript under the stage's own runtime options (Pulumi.yaml), so the runner treats both
  // alike (`typescript: false`: no ts-node for either, boot/runner.js) and so would any other host.
  const index = [
    'const k8s = require("@pulumi/kubernetes");',
    `const provider = new k8s.Provider("k8s", ${JSON.stringify(providerArgs)});`,
    `new k8s.yaml.v2.ConfigGroup("floor", { files: ${JSON.stringify(files)} }, { provider });`,
    "",
  ].join("\n");
  const runtime = fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8").match(/^runtime:\n(?: .*\n)*/m)?.[0];
  if (!runtime) throw new Error("Pulumi.yaml has no runtime section for the floor to copy");
  return project(
    name,
    {
      "Pulumi.yaml": `name: floor\n${runtime}`,
      "package.json": JSON.stringify({ name: "floor", main: "index.js" }),
      "index.js": index,
      [`Pulumi.floor.yaml`]: "config: {}\n",
    },
    ["tsconfig.json"],
  );
}

/** split's stack file with `n` application services: `web` plus n-1 clones of `account`. */
function scaledStack(n: number): string {
  const doc = parseDocument(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.split.yaml"), "utf8"));
  const spec = doc.getIn(["config", "stagecraft:spec"]) as { toJSON(): Record<string, unknown> };
  const s = spec.toJSON() as {
    services: Record<string, unknown>[];
    workers: unknown[];
    data: { mysql: Record<string, unknown>; redis: Record<string, unknown> };
    stage: string;
  };
  const web = { ...s.services[0], calls: [] };
  const template = s.services.find((x) => x.name === "account") as Record<string, unknown>;
  const clones = Array.from({ length: n - 1 }, (_, i) => {
    const name = `svc${i + 1}`;
    return {
      ...template,
      name,
      routes: [`/${name}`],
      mysql: { schema: name, user: name, pool: 5 },
      redis: { db: 0, prefix: `${name}:`, pool: 10 },
    };
  });
  s.services = [web, ...clones];
  s.workers = [];
  s.stage = `split-${n}`;
  s.data.mysql.maxConnections = 100000;
  s.data.redis.maxclients = 100000;
  doc.setIn(["config", "stagecraft:spec"], doc.createNode(s));
  return doc.toString();
}

/**
 * Median wall times of `RUNS` runs of `a` and of `b` (after one warm-up of each), in seconds. The
 * runs alternate, a b a b …, so a change of load on a shared machine weighs on both sides alike.
 */
function timePair(labels: [string, string], a: () => void, b: () => void): [number, number] {
  a();
  b();
  const samples: [number[], number[]] = [[], []];
  for (let i = 0; i < RUNS; i++)
    [a, b].forEach((fn, j) => {
      const t0 = process.hrtime.bigint();
      fn();
      samples[j].push(Number(process.hrtime.bigint() - t0) / 1e9);
    });
  return samples.map((s, j) => {
    s.sort((x, y) => x - y);
    const median = s[Math.floor(s.length / 2)];
    console.error(`[bench] ${labels[j]}: ${s.map((x) => x.toFixed(1)).join(" / ")} s, median ${median.toFixed(1)}`);
    return median;
  }) as [number, number];
}

/** Wall time of one run, in seconds. */
function once(label: string, fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.error(`[bench] ${label}: ${s.toFixed(1)} s`);
  return s;
}

/** The stage's rendered manifests as one YAML stream, moved into namespace `ns`. */
function renderedStream(stage: string, ns: string): string {
  const dir = path.join(ROOT, "rendered", stage);
  const files = fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".yaml"));
  // The Namespace first: everything else lives in it.
  files.sort((a, b) => Number(b.startsWith("platform/namespace-")) - Number(a.startsWith("platform/namespace-")) || a.localeCompare(b));
  return files
    .map((f) => {
      const o = parseDocument(fs.readFileSync(path.join(dir, f), "utf8")).toJS() as { kind: string; metadata: Record<string, string> };
      if (o.kind === "Namespace") o.metadata.name = ns;
      else o.metadata.namespace = ns;
      // JSON, so kubectl's YAML 1.1 reader sees strings like `off` as the strings they are.
      return JSON.stringify(o);
    })
    .join("\n---\n");
}

/** A no-op preview of the live ddd stack and of its floor: median seconds and each one's change summary. */
interface NoopPreview {
  stage: number;
  floor: number;
  stageSteps: string;
  floorSteps: string;
}

/**
 * Section 4: `up` of each stage against kubectl + waits and against the floor (the same objects as one
 * ConfigGroup) on a local cluster, and a no-op preview of the live ddd stack and of its floor.
 */
async function clusterRows(): Promise<{ rows: string[]; noop: NoopPreview }> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "stagecraft-bench-cluster-"));
  const env: NodeJS.ProcessEnv = { STAGECRAFT_CLUSTER_DIR: path.join(work, "cluster"), STAGECRAFT_CLUSTER_PVS: "160" };
  for (const k of ["API", "ETCD", "ETCD_PEER", "KCM", "SCHEDULER"]) env[`STAGECRAFT_CLUSTER_${k}_PORT`] = String(await freePort());
  const kubeconfig = path.join(work, "cluster", "kubeconfig");
  const bin = path.join(process.env.STAGECRAFT_TOOLS ?? path.join(ROOT, ".tools"), "bin", "kubectl");
  const kubectl = (args: string, input?: string) =>
    execFileSync(bin, ["--kubeconfig", kubeconfig, ...args.split(" ")], { input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  sh("bash scripts/cluster.sh up >/dev/null 2>&1", ROOT, env);
  const rows: string[] = [];
  const noop: NoopPreview = { stage: 0, floor: 0, stageSteps: "", floorSteps: "" };
  /** Stack `stack` of project `dir` on its own file backend: created, brought up once (timed), and then previewable. */
  const upOnce = (label: string, dir: string, stack: string) => {
    const e = { ...env, PULUMI_BACKEND_URL: `file://${dir}/.backend` };
    sh(`pulumi stack select --create ${stack} --non-interactive >/dev/null`, dir, e);
    const seconds = once(label, () => sh(`pulumi up --yes --skip-preview --non-interactive --stack ${stack} >/dev/null`, dir, e));
    /** A `pulumi preview` of the stack as it now is; returns its change summary ("132 same"). */
    const preview = () => {
      const out = JSON.parse(sh(`pulumi preview --json --non-interactive --stack ${stack}`, dir, e)) as {
        changeSummary?: Record<string, number>;
      };
      return Object.entries(out.changeSummary ?? {})
        .map(([op, n]) => `${n} ${op}`)
        .join(", ");
    };
    return { seconds, preview };
  };
  try {
    for (const stage of STAGES) {
      // kubectl: apply everything server-side, then wait as pulumi's awaits do (Services excepted).
      const ns = `kubectl-${stage}`;
      const k = once(`kubectl apply --server-side + waits, ${stage}`, () => {
        kubectl("apply --server-side --field-manager=bench -f -", renderedStream(stage, ns));
        const workloads = kubectl(`-n ${ns} get deployments,statefulsets -o name`).split("\n").filter(Boolean);
        for (const w of workloads) kubectl(`-n ${ns} rollout status ${w} --timeout=600s`);
        kubectl(`-n ${ns} wait --for=condition=complete job --all --timeout=600s`);
      });
      // pulumi: the stage program on this cluster, a namespace of its own.
      const doc = parseDocument(fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${stage}.yaml`), "utf8"));
      doc.setIn(["config", "stagecraft:target"], doc.createNode({ kind: "kubeconfig", kubeconfig, namespace: `pulumi-${stage}` }));
      const u = upOnce(`pulumi up ${stage}`, stageProject(stage, doc.toString()), stage);
      // The floor: the same objects as one ConfigGroup (no order among them), in a namespace of its own.
      const f = upOnce(`pulumi up of the floor, ${stage}`, liveFloorProject(stage, kubeconfig, `floor-${stage}`), "floor");
      rows.push(
        `| ${stage} | ${u.seconds.toFixed(1)} | ${f.seconds.toFixed(1)} | ${k.toFixed(1)} | **${(u.seconds / k).toFixed(2)}×** | ${(f.seconds / k).toFixed(2)}× | ${(u.seconds / f.seconds).toFixed(2)}× |`,
      );
      if (stage === "ddd")
        [noop.stage, noop.floor] = timePair(
          ["no-op preview of the live ddd stack", "no-op preview of the live floor"],
          () => (noop.stageSteps = u.preview()),
          () => (noop.floorSteps = f.preview()),
        );
    }
  } finally {
    sh("bash scripts/cluster.sh down >/dev/null 2>&1", ROOT, env);
    fs.rmSync(work, { recursive: true, force: true });
  }
  return { rows, noop };
}

/** Blocks this (synchronous) benchmark for `ms`: it polls the cluster between steps. */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const NODE_HEADING = "## 5.";

/**
 * Section 5: `up` against kubectl + waits on the local cluster's real node, beside the live stack.
 * Returns the section's Markdown; each run's workload timeline goes to artifacts/bench-node/.
 */
function nodeSection(): string {
  const tools = process.env.STAGECRAFT_TOOLS ?? path.join(ROOT, ".tools");
  const kubeconfig = path.resolve(process.env.BENCH_NODE_KUBECONFIG ?? path.join(tools, "cluster", "kubeconfig"));
  if (!fs.existsSync(kubeconfig)) throw new Error(`no cluster at ${kubeconfig}: bring the real node up first (npm run local)`);
  const bin = path.join(tools, "bin", "kubectl");
  // Every call is bounded: the waits below carry their own --timeout, and nothing may hang the run.
  const kubectl = (args: string[], input?: string) =>
    execFileSync(bin, ["--kubeconfig", kubeconfig, ...args], { input, encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: 700_000 });
  const artifacts = path.join(ROOT, "artifacts", "bench-node");
  fs.mkdirSync(artifacts, { recursive: true });
  const localText = fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.local.yaml"), "utf8");
  const used: string[] = [];

  /** Deletes bench namespaces, waits until they are gone, then until their claims' volumes are. */
  const clear = (namespaces: string[]) => {
    kubectl(["delete", "namespace", ...namespaces, "--ignore-not-found", "--wait=false"]);
    const until = (what: string, s: number, done: () => boolean) => {
      const end = Date.now() + s * 1000;
      while (!done()) {
        if (Date.now() > end) throw new Error(`bench: ${what} still there after ${s} s`);
        sleep(2000);
      }
    };
    until(`namespaces ${namespaces.join(", ")}`, 600, () => {
      const present = kubectl(["get", "namespaces", "-o", "name"]).split("\n");
      return namespaces.every((ns) => !present.includes(`namespace/${ns}`));
    });
    const volumes = () => benchVolumes(kubectl(["get", "pv", "-o", "json"]), namespaces);
    // The node's provisioner deletes a released volume with its directory; only what it leaves is deleted here.
    try {
      until("volumes of the bench namespaces", 120, () => volumes().length === 0);
    } catch {
      const left = volumes();
      console.error(`[bench] the provisioner left ${left.join(", ")}: deleting them`);
      kubectl(["delete", "pv", ...left, "--ignore-not-found", "--wait=false"]);
      until("volumes of the bench namespaces", 120, () => volumes().length === 0);
    }
  };

  /** Each workload's creation and last Ready (a Job: completion), in seconds from `t0`, kept as an artifact. */
  const record = (ns: string, t0: number, file: string) => {
    const lines = timeline(kubectl(["-n", ns, "get", "deployments,statefulsets,jobs,pods", "-o", "json"])).map(
      (w) => `${w.kind}/${w.name}: created +${since(t0, w.created) ?? "?"} s, done +${since(t0, w.done) ?? "never"} s`,
    );
    fs.writeFileSync(path.join(artifacts, `${file}.timeline.txt`), `${lines.join("\n")}\n`);
    fs.writeFileSync(path.join(artifacts, `${file}.events.json`), kubectl(["-n", ns, "get", "events", "-o", "json"]));
    console.error(`[bench] ${file}:\n  ${lines.join("\n  ")}`);
  };

  const rows: string[] = [];
  const notes: string[] = [];
  const started = new Date();
  try {
    for (const stage of STAGES) {
      const nsK = `bench-kubectl-${stage}`;
      const nsP = `bench-pulumi-${stage}`;
      used.push(nsK, nsP);
      clear([nsK, nsP]);
      const stageText = fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${stage}.yaml`), "utf8");
      const dir = project(`node-${stage}`, {}, PROGRAM_FILES);
      const stackFile = (ns: string) => path.join(dir, "stacks", `Pulumi.${ns}.yaml`);
      const write = (fitCpu?: number) => {
        for (const ns of [nsK, nsP]) fs.writeFileSync(stackFile(ns), benchStackText(localText, stageText, kubeconfig, ns, fitCpu));
      };
      // The stage's requests against what the node has free beside the live stack (the pre-flight's
      // check, with headroom for the Jobs and surges it leaves out); if they do not fit, the largest
      // lower `fit.cpu` that does (limits, and so what the pods may burn, stay the stage's), stated
      // in the table.
      const nodes = withHeadroom(
        parseNodes(kubectl(["get", "nodes", "-o", "json"]), kubectl(["get", "pods", "-A", "-o", "json"]), nsP),
        Number(process.env.BENCH_NODE_HEADROOM_MILLI ?? 250),
      );
      const fitsWith = (fitCpu?: number) => {
        write(fitCpu);
        const { stack, raw } = readStackFile(stackFile(nsP));
        return checkClusterFit(stack, raw, nodes).length === 0;
      };
      const candidates = [undefined, ...Array.from({ length: 11 }, (_, i) => (14 - i) / 100)];
      const fitting = candidates.findIndex((c) => fitsWith(c));
      const fitCpu = candidates[fitting];
      write(fitCpu);
      // The pre-flight itself, as `npm run stage` runs it: fit (again) and the node's images.
      if (fitting < 0 || preflight(stackFile(nsP)) !== 0) {
        notes.push(
          `${stage}: not measured: ${fitting < 0 ? "its pods do not fit the node beside the live stack even at fit.cpu 0.04" : "the pre-flight failed"} (its message is in the run's output).`,
        );
        continue;
      }
      const fitNote =
        fitCpu === undefined
          ? `${String(parseDocument(localText).getIn(["config", "stagecraft:target", "fit", "cpu"]))} (local's)`
          : `${fitCpu} (lowered)`;
      const penv = { PULUMI_BACKEND_URL: `file://${dir}/.backend` };
      for (const ns of [nsK, nsP]) sh(`pulumi stack select --create ${ns} --non-interactive >/dev/null`, dir, penv);
      // What pulumi would create, as it would send it (secrets included), in kubectl's namespace.
      const objects = previewObjects(sh(`pulumi preview --json --show-secrets --non-interactive --stack ${nsK}`, dir, penv), nsK);
      const load = os.loadavg()[0];

      // pulumi first: the preview masks every Secret's values, which kubectl then takes from the
      // Secrets this run created (passwords derive from the stack's seed and purpose alone).
      let t0 = Date.now();
      const verbose = process.env.BENCH_NODE_VERBOSE === "1" ? " -v=5 --logtostderr" : "";
      const log = path.join(artifacts, `${stage}-pulumi.log`);
      const u = once(`node: pulumi up ${stage}`, () =>
        sh(`pulumi up --yes --skip-preview --non-interactive --stack ${nsP}${verbose} >${log} 2>&1`, dir, penv),
      );
      record(nsP, t0, `${stage}-pulumi`);
      const filled = fillSecrets(objects, kubectl(["-n", nsP, "get", "secrets", "-o", "json"]), nsP, nsK);
      clear([nsP]);

      t0 = Date.now();
      const k = once(`node: kubectl apply --server-side + waits, ${stage} (${objects.length} objects)`, () => {
        for (const phase of applyPhases(filled)) {
          kubectl(["apply", "--server-side", "--field-manager=bench", "-f", "-"], applyStream(phase));
          const { rollouts, jobs } = waitsOf(phase);
          for (const w of rollouts) kubectl(["-n", nsK, "rollout", "status", w, "--timeout=600s"]);
          // Polled, not `kubectl wait`: a failed Job ends the run at once instead of at the timeout.
          const end = Date.now() + 600_000;
          while (jobs.length && !jobsDone(kubectl(["-n", nsK, "get", "jobs", "-o", "json"]), jobs)) {
            if (Date.now() > end) throw new Error(`bench: ${jobs.join(", ")} not complete after 600 s`);
            sleep(500);
          }
        }
      });
      record(nsK, t0, `${stage}-kubectl`);
      clear([nsK]);
      fs.rmSync(dir, { recursive: true, force: true });
      rows.push(
        `| ${stage} | ${fitNote} | ${objects.length} | ${u.toFixed(1)} | ${k.toFixed(1)} | **${(u / k).toFixed(2)}×** | ${load.toFixed(1)} |`,
      );
    }
  } finally {
    if (used.length) clear(used);
  }
  const ended = new Date();
  const hhmm = (d: Date) => d.toISOString().slice(11, 16);
  return [
    `${NODE_HEADING} \`up\` on the real node against kubectl + waits`,
    "",
    "The local cluster's real node (`npm run local`: 2 cores, pods run in containerd), beside the live",
    "stack `local` in namespace `stagecraft`, which is never touched. Each stage is the live stack's",
    "target (`fit`, Kong placed on the KWOK nodes, the local images) holding the stage's spec (as",
    "`stagecraft promote` writes it), in namespaces of the benchmark's own (`bench-pulumi-<stage>`,",
    "`bench-kubectl-<stage>`), temp state. pulumi runs `up --skip-preview` from empty state (no policy",
    "pack, as in section 4). kubectl applies, server-side, the objects a `pulumi preview --show-secrets`",
    "of that stack would create (a render target can hold neither `fit` nor a placement and redacts",
    "the Secrets real pods read; the preview masks Secrets' values too, so kubectl's are the ones",
    "pulumi's run just created: derived from the stack's seed, the same in any namespace), in the one",
    "order a real node needs (scripts/lib/benchNode.ts `applyPhases`): the Namespace, NetworkPolicies",
    "and data tier first, waited for, then the app and edge tiers at once; each step waits as section",
    "4 does (`rollout status` of every Deployment and StatefulSet, every Job complete). All at once, a",
    "migration Job runs before MySQL's bootstrap has made its user and exhausts its backoffLimit (seen",
    "for mvc: `web-migrate` Failed, so `kubectl wait` never returns). One run each, pulumi then kubectl",
    "per stage; each namespace and its volumes are deleted, and gone, before the next run. Each run's",
    "workload timeline (created, last pod Ready or Job complete, from the objects' timestamps) is in",
    "`artifacts/bench-node/`. A stage whose requests do not fit beside the live stack runs at the",
    "largest lower `fit.cpu` that fits with 250m CPU to spare (the late-rows Jobs and surge pods the",
    "pre-flight's check at rest leaves out; without it micro's Jobs stayed Pending), limits unchanged,",
    "as the `fit.cpu` column says.",
    "",
    `\`npm run local\`, then \`BENCH_ONLY=node${process.env.BENCH_STAGES ? ` BENCH_STAGES=${process.env.BENCH_STAGES}` : ""} npx ts-node --transpile-only scripts/bench.ts\`,`,
    `${started.toISOString().slice(0, 10)}, ${hhmm(started)} to ${hhmm(ended)} UTC, on ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}.`,
    "",
    "| stage | fit.cpu | objects | pulumi up s | kubectl apply + waits s | ratio | load average (1 min) at the stage's start |",
    "|---|---|---|---|---|---|---|",
    ...rows,
    ...(notes.length ? ["", ...notes] : []),
    "",
  ].join("\n");
}

/** Section 1: each stage's preview against its floor (and with ts-node's type check on). */
function previewRows(): { rows: string[]; times: Record<string, number> } {
  const rows1: string[] = [];
  const previewTimes: Record<string, number> = {};
  for (const stage of STAGES) {
    const text = fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${stage}.yaml`), "utf8");
    const stagePreview = previewer(stageProject(stage, text), stage);
    // What every preview did before scripts/env.sh turned ts-node's type check off (tsc in npm test does it).
    const checkedPreview = previewer(stageProject(stage, text), stage, { PULUMI_NODEJS_TRANSPILE_ONLY: "false" });
    const floorPreview = previewer(floorProject(stage), "floor");
    let objects = 0;
    let floorObjects = 0;
    const [t, f] = timePair(
      [`preview ${stage}`, `floor ${stage}`],
      () => void (objects = stagePreview()),
      () => void (floorObjects = floorPreview()),
    );
    const tc = time(`preview ${stage}, ts-node type check on`, () => void checkedPreview());
    previewTimes[stage] = t;
    rows1.push(
      `| ${stage} | ${objects} | ${floorObjects} | ${t.toFixed(1)} | ${f.toFixed(1)} | **${(t / f).toFixed(2)}×** | ${tc.toFixed(1)} | ${(tc / f).toFixed(2)}× |`,
    );
  }
  return { rows: rows1, times: previewTimes };
}

/**
 * Renders every stage afresh: the floor and the kubectl rows read rendered/, and a render left by an
 * older checkout (or none, on a fresh clone) would compare different objects.
 */
function renderStages(): void {
  sh("bash scripts/toolchain.sh >/dev/null", ROOT);
  for (const stage of STAGES) sh(`bash scripts/stage.sh ${stage} render >/dev/null`, ROOT);
}

async function main(): Promise<void> {
  renderStages();

  const { rows: rows1, times: previewTimes } = previewRows();

  const rows2: string[] = [];
  let base = 0;
  for (const n of SIZES) {
    const stack = `scale${n}`;
    const run = previewer(stageProject(stack, scaledStack(n)), stack);
    let objects = 0;
    const t = time(`preview ${n} services`, () => void (objects = run()));
    if (n === SIZES[0]) base = t;
    rows2.push(`| ${n} | ${objects} | ${t.toFixed(1)} | ${(t / base).toFixed(2)}× | ${((t / objects) * 1000).toFixed(0)} |`);
  }

  const unit = time("unit suite", () => sh("npx jest --selectProjects unit --silent >/dev/null 2>&1", ROOT));
  const live = await clusterRows();

  const host = `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`;
  const md = [
    "# Benchmarks",
    "",
    `Measured by \`npm run bench\` (scripts/bench.ts) in one run on ${host}, ${new Date().toISOString().slice(0, 10)}.`,
    `Each time is the median of ${RUNS} runs (upper middle for an even count) after a warm-up; every preview starts from empty state with the`,
    "real engine built by scripts/toolchain.sh. Absolute seconds vary from machine to machine and run to",
    "run; the ratios are the result.",
    "",
    "## 1. Stage preview against the engine floor",
    "",
    "Floor: the same engine and provider previewing the same objects, read from the stage's rendered",
    "manifests with `yaml.v2.ConfigGroup`. The ratio is what Stagecraft's program (validation,",
    "components, the Helm chart renders) costs on top of the engine's own work. Both run with the",
    "project's defaults (scripts/env.sh): the language host registers ts-node for both, transpile only;",
    "the stage's program then loads through boot/, from a transpile cache keyed by each file's content",
    "(so a stale build cannot run), and the floor's one-file program through ts-node. Stage and floor",
    "runs alternate, so a change of load weighs on both. `type check on` is the stage's preview with",
    "ts-node loading and type-checking the program (`PULUMI_NODEJS_TRANSPILE_ONLY=false`), as every",
    "preview ran before; the type check is tsc's, in `npm test`.",
    "",
    "| stage | steps (Stagecraft) | steps (floor) | Stagecraft s | floor s | ratio | type check on s | ratio, type check on |",
    "|---|---|---|---|---|---|---|---|",
    ...rows1,
    "",
    "## 2. Preview time as application services grow",
    "",
    "split's stack with `web` plus clones of `account` (each a chart render, Secret, Job-free service).",
    "",
    "| services | steps | preview s | vs 5 services | ms per step |",
    "|---|---|---|---|---|",
    ...rows2,
    "",
    "## 3. Unit-test suite",
    "",
    `\`jest --selectProjects unit\`: ${unit.toFixed(1)} s, ${(unit / previewTimes.mvc).toFixed(2)}× one preview of mvc.`,
    "",
    "## 4. `up` on a local cluster against kubectl, and a no-op preview of a live stack",
    "",
    "A KWOK cluster of the benchmark's own (scripts/cluster.sh). `pulumi up --skip-preview` of each stage",
    "from empty state, with the provider's awaits (Deployments and StatefulSets ready, Jobs complete,",
    "LoadBalancer Services given an address), against `kubectl apply --server-side` of the same rendered manifests",
    "followed by `kubectl rollout status` of every Deployment and StatefulSet and `kubectl wait` for",
    "every Job. One run each.",
    "",
    "In-cluster Services skip the provider's 10 s Endpoints wait (`pulumi.com/skipAwait`, components/platform/awaits.ts and the",
    "chart's Service); a LoadBalancer Service is awaited until its status lists an address (`pulumi.com/waitFor`), without",
    "that 10 s wait; the workload and Job awaits stay.",
    "",
    "The floor is the same engine and provider applying the same objects as one `yaml.v2.ConfigGroup`",
    "(no order among them, the provider's awaits on each), in a namespace of its own: what `up` costs",
    "before the stage's order (a migration Job after its database, callers after callees).",
    "",
    "| stage | pulumi up s | floor up s | kubectl apply + waits s | up / kubectl | floor / kubectl | up / floor |",
    "|---|---|---|---|---|---|---|",
    ...live.rows,
    "",
    `No-op \`pulumi preview\` of the live ddd stack: ${live.noop.stage.toFixed(1)} s (${live.noop.stageSteps}); of its floor, previewed`,
    `in turn with it: ${live.noop.floor.toFixed(1)} s (${live.noop.floorSteps}); **${(live.noop.stage / live.noop.floor).toFixed(2)}×** (medians of ${RUNS}).`,
    "",
  ].join("\n");
  fs.mkdirSync(path.join(ROOT, "docs"), { recursive: true });
  // Section 5 needs the real node, so `npm run bench` keeps the last one measured.
  const doc = path.join(ROOT, "docs", "benchmarks.md");
  const node = fs.existsSync(doc) ? sectionOf(fs.readFileSync(doc, "utf8"), NODE_HEADING) : undefined;
  const all = node ? withSection(md, NODE_HEADING, node) : md;
  fs.writeFileSync(doc, all);
  console.log(all);
}

if (process.env.BENCH_ONLY === "previews") {
  renderStages();
  console.log(previewRows().rows.join("\n"));
} else if (process.env.BENCH_ONLY === "node") {
  const section = nodeSection();
  const doc = path.join(ROOT, "docs", "benchmarks.md");
  fs.writeFileSync(doc, withSection(fs.readFileSync(doc, "utf8"), NODE_HEADING, section));
  console.log(section);
} else if (process.env.BENCH_ONLY === "cluster") {
  renderStages();
  void clusterRows().then((r) =>
    console.log(
      [
        ...r.rows,
        `no-op preview of live ddd: ${r.noop.stage.toFixed(1)} s (${r.noop.stageSteps}); of its floor: ${r.noop.floor.toFixed(1)} s (${r.noop.floorSteps})`,
      ].join("\n"),
    ),
  );
} else
  void main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
