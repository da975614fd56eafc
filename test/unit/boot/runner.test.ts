/**
 * boot/runner.js, the preload for the SDK's program runner: it acts in the runner only, reads
 * Pulumi.yaml's `typescript` option as a host that honours it would, defers the SDK's function
 * serializer without breaking it, and keeps debug log lines from the engine unless asked.
 *
 * Module loading is Node's, not jest's (jest has its own registry), so the hooks run in child
 * processes.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../../lib/paths";
import { tmpDir } from "../../lib/proc";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- plain JavaScript by design (it runs before TypeScript can load)
const runner = require(path.join(ROOT, "boot", "runner.js")) as {
  DEFERRED: Record<string, string[]>;
  isProgramRunner(argv: string[]): boolean;
  typescriptOption(text: string): boolean | undefined;
  honourTypescriptOption(dir: string, env: Record<string, string | undefined>): boolean | undefined;
  sdkFile(fileName: string): string | undefined;
};

const RUNNER = path.join(ROOT, "boot", "runner.js");
const SDK = path.join(ROOT, "node_modules", "@pulumi", "pulumi");

/** A Node expression: how many of the serializer's heavy modules (TypeScript, arborist) are loaded. */
const HEAVY_LOADED = "Object.keys(require.cache).filter((k) => /node_modules\\/(typescript|@npmcli\\/arborist)\\//.test(k)).length";

/** Runs `script` in a plain Node process from the project root; returns its last stdout line as JSON. */
function inNode(script: string, env: NodeJS.ProcessEnv = {}): Record<string, unknown> {
  const r = spawnSync(process.execPath, ["-e", script], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, NODE_OPTIONS: "", STAGECRAFT_SDK_DEBUG_LOGS: "", ...env },
  });
  if (r.status !== 0) throw new Error(`node exited ${r.status}: ${r.stderr}`);
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}

describe("isProgramRunner", () => {
  test("is true for the runner the language host starts, as Node names it", () => {
    expect(runner.isProgramRunner(["/usr/bin/node", `${SDK}/cmd/run/index.js`, "--monitor"])).toBe(true);
    expect(runner.isProgramRunner(["/usr/bin/node", `${SDK}/cmd/run`])).toBe(true);
  });
  test("is false for every other process: jest, scripts, the policy pack's host, node -e", () => {
    expect(runner.isProgramRunner(["/usr/bin/node", `${ROOT}/node_modules/.bin/jest`])).toBe(false);
    expect(runner.isProgramRunner(["/usr/bin/node", `${SDK}/cmd/run-policy-pack/index.js`])).toBe(false);
    expect(runner.isProgramRunner(["/usr/bin/node", `${SDK}/cmd/run-plugin/index.js`])).toBe(false);
    expect(runner.isProgramRunner(["/usr/bin/node"])).toBe(false);
  });
});

describe("typescriptOption", () => {
  test("reads runtime.options.typescript", () => {
    expect(runner.typescriptOption("name: a\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n")).toBe(false);
    expect(runner.typescriptOption("name: a\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n")).toBe(true);
  });
  test("is undefined when the file does not say, or says something else, or cannot be read", () => {
    expect(runner.typescriptOption("name: a\nruntime: nodejs\n")).toBeUndefined();
    expect(runner.typescriptOption("name: a\nruntime:\n  name: nodejs\n  options:\n    typescript: 'no'\n")).toBeUndefined();
    expect(runner.typescriptOption("name: [a\n")).toBeUndefined();
  });
  test("the project's own Pulumi.yaml turns it off (boot/ loads the TypeScript)", () => {
    expect(runner.typescriptOption(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"))).toBe(false);
  });
});

describe("honourTypescriptOption", () => {
  test("sets the runner's switch from Pulumi.yaml, or Pulumi.yml", () => {
    for (const name of ["Pulumi.yaml", "Pulumi.yml"]) {
      const dir = tmpDir("runner");
      fs.writeFileSync(path.join(dir, name), "name: a\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n");
      const env: Record<string, string | undefined> = { PULUMI_NODEJS_TYPESCRIPT: "true" };
      expect(runner.honourTypescriptOption(dir, env)).toBe(false);
      expect(env.PULUMI_NODEJS_TYPESCRIPT).toBe("false");
    }
  });
  test("leaves the host's setting alone when the file is silent or missing", () => {
    const dir = tmpDir("runner");
    const env: Record<string, string | undefined> = { PULUMI_NODEJS_TYPESCRIPT: "true" };
    expect(runner.honourTypescriptOption(dir, env)).toBeUndefined();
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: a\nruntime: nodejs\n");
    expect(runner.honourTypescriptOption(dir, env)).toBeUndefined();
    expect(env.PULUMI_NODEJS_TYPESCRIPT).toBe("true");
  });
});

describe("sdkFile", () => {
  test("names a file by its path inside @pulumi/pulumi, and nothing else", () => {
    expect(runner.sdkFile(`${SDK}/runtime/closure/codePaths.js`)).toBe("runtime/closure/codePaths.js");
    expect(runner.sdkFile(`${ROOT}/node_modules/@pulumi/kubernetes/index.js`)).toBeUndefined();
    expect(runner.sdkFile(`${ROOT}/boot/runner.js`)).toBeUndefined();
  });
});

describe("the deferred modules", () => {
  test("export exactly the functions the stand-ins forward (an SDK upgrade that adds one fails here)", () => {
    const files = Object.keys(runner.DEFERRED);
    const out = inNode(
      `const r = {}; for (const f of ${JSON.stringify(files)}) { const m = require(${JSON.stringify(SDK)} + "/" + f);` +
        ` r[f] = Object.keys(m).filter((k) => k !== "__esModule").map((k) => [k, typeof m[k]]); }` +
        " console.log(JSON.stringify(r));",
    );
    for (const f of files) {
      expect(out[f]).toEqual(runner.DEFERRED[f].map((n) => [n, "function"]).sort((a, b) => a[0].localeCompare(b[0])));
    }
  });

  test("are not loaded with the SDK, and load and work on first use", () => {
    const out = inNode(
      `const did = require(${JSON.stringify(RUNNER)}).installHooks({ quietDebug: true });` +
        ` const heavy = () => ${HEAVY_LOADED};` +
        ' const pulumi = require("@pulumi/pulumi"); const before = heavy();' +
        " pulumi.runtime.serializeFunction(() => 6 * 7).then((f) =>" +
        " console.log(JSON.stringify({ before, after: heavy(), did, text: f.text })));",
    );
    expect(out.before).toBe(0);
    expect(out.after).toBeGreaterThan(0);
    expect(out.did).toMatchObject({ deferred: Object.keys(runner.DEFERRED), loaded: ["runtime/closure/serializeClosure.js"] });
    expect(out.text).toContain("6 * 7");
  });

  test("without the hooks the SDK loads them at start-up (what the hooks save)", () => {
    const out = inNode('require("@pulumi/pulumi");' + ` console.log(JSON.stringify({ heavy: ${HEAVY_LOADED} }));`);
    expect(out.heavy).toBeGreaterThan(0);
  });
});

describe("the SDK's debug log lines", () => {
  /** What reaches a fake engine when the SDK logs one debug and one info line. */
  function engineGets(quietDebug: boolean): unknown {
    return inNode(
      `require(${JSON.stringify(RUNNER)}).installHooks({ quietDebug: ${quietDebug} });` +
        ' const log = require("@pulumi/pulumi/log"); const state = require("@pulumi/pulumi/runtime/state");' +
        " const sent = []; const engine = { log: (req, cb) => { sent.push(req.getSeverity() + ':' + req.getMessage()); cb(); } };" +
        ' state.withLocalStorage(() => { state.getStore().settings.engine = engine; return Promise.all([log.debug("d"), log.info("i")]); })' +
        ".then(() => console.log(JSON.stringify({ sent })));",
    ).sent;
  }
  test("are not sent to the engine; other levels are", () => {
    expect(engineGets(true)).toEqual(["1:i"]);
  });
  test("are sent when asked (STAGECRAFT_SDK_DEBUG_LOGS=true)", () => {
    expect(engineGets(false)).toEqual(["0:d", "1:i"]);
  });
});

describe("the preload (NODE_OPTIONS=--require boot/runner.js)", () => {
  /**
   * A process Node names as the SDK's runner (a script at .../@pulumi/pulumi/cmd/run/index.js, in a
   * project folder holding `pulumiYaml`) that reports what the preload did to it.
   */
  function asRunner(pulumiYaml: string, env: NodeJS.ProcessEnv = {}): Record<string, unknown> {
    const project = tmpDir("runner");
    fs.writeFileSync(path.join(project, "Pulumi.yaml"), pulumiYaml);
    const script = path.join(project, "node_modules", "@pulumi", "pulumi", "cmd", "run", "index.js");
    fs.mkdirSync(path.dirname(script), { recursive: true });
    fs.writeFileSync(
      script,
      `const log = require(${JSON.stringify(path.join(SDK, "log"))});` +
        " console.log(JSON.stringify({ typescript: process.env.PULUMI_NODEJS_TYPESCRIPT, sdkDebug: String(log.debug).includes('getEngine') }));",
    );
    const r = spawnSync(process.execPath, [script], {
      cwd: project,
      encoding: "utf8",
      env: {
        ...process.env,
        STAGECRAFT_SDK_DEBUG_LOGS: "",
        PULUMI_NODEJS_TYPESCRIPT: "true",
        ...env,
        NODE_OPTIONS: `--require "${RUNNER}"`,
      },
    });
    if (r.status !== 0) throw new Error(`node exited ${r.status}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }
  const TS_OFF = "name: a\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n";

  test("acts in the runner: Pulumi.yaml's typescript option, debug lines kept from the engine", () => {
    expect(asRunner(TS_OFF)).toEqual({ typescript: "false", sdkDebug: false });
    expect(asRunner("name: a\nruntime: nodejs\n")).toEqual({ typescript: "true", sdkDebug: false });
  });
  test("STAGECRAFT_SDK_DEBUG_LOGS=true keeps the SDK's debug lines", () => {
    expect(asRunner(TS_OFF, { STAGECRAFT_SDK_DEBUG_LOGS: "true" })).toEqual({ typescript: "false", sdkDebug: true });
  });
  test("does nothing elsewhere: a plain Node process keeps the SDK as it is", () => {
    const out = inNode(
      'const log = require("@pulumi/pulumi/log");' +
        " console.log(JSON.stringify({ sdkDebug: String(log.debug).includes('getEngine'), typescript: process.env.PULUMI_NODEJS_TYPESCRIPT }));",
      { NODE_OPTIONS: `--require "${RUNNER}"`, PULUMI_NODEJS_TYPESCRIPT: "true" },
    );
    expect(out).toEqual({ sdkDebug: true, typescript: "true" });
  });
});
