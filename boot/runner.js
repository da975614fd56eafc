/**
 * Preloaded into every Node process the project's scripts start (NODE_OPTIONS in scripts/env.sh),
 * and inert in all but one: the Pulumi SDK's program runner (`@pulumi/pulumi/cmd/run`), which the
 * language host starts for each preview and up. There it trims start-up work the program never
 * uses, measured in docs/benchmarks.md §1 (a ddd preview: 4.8 s -> 3.5 s wall, 6.3 s -> 4.5 s CPU):
 *
 * 1. Pulumi.yaml's `runtime.options.typescript: false` is honoured. CLI 3.248 hands runtime options
 *    to the language host only by RPC, which the host built from sdk v3.58.0 cannot read, so it
 *    tells the runner "TypeScript" regardless and the runner loads the compiler (~0.35 s) and
 *    ts-node. boot/index.js loads the program's TypeScript itself.
 * 2. The SDK's function serializer (runtime/closure: the TypeScript compiler, @npmcli/arborist,
 *    ~0.4 s to load) is loaded on first use instead of at start-up. Only dynamic providers and
 *    `pulumi.runtime.serializeFunction` use it, and they get the real thing then.
 * 3. The SDK's debug-level log lines are not sent to the engine (three per resource, each an RPC
 *    sent one after another: ~0.7 s of a ddd preview's CPU, ~0.4 s of its wall time). The engine
 *    shows them only with `pulumi --debug`; STAGECRAFT_SDK_DEBUG_LOGS=true sends them again.
 *
 * Plain JavaScript on purpose: it runs before anything that could load TypeScript.
 */
"use strict";
const fs = require("fs");
const Module = require("module");
const path = require("path");

/** The SDK's program runner, as the language host starts it. */
function isProgramRunner(argv) {
  const script = argv[1] ?? "";
  return /[\\/]@pulumi[\\/]pulumi[\\/]cmd[\\/]run([\\/]index\.js)?$/.test(script);
}

/**
 * `runtime.options.typescript` of a Pulumi.yaml's text: true, false, or undefined when it does not
 * say (or cannot be read: then the host's own default stands, as before).
 */
function typescriptOption(text) {
  let doc;
  try {
    // Loaded here, not at the top: every other process this preload starts in never needs it.
    doc = require("yaml").parse(text);
  } catch {
    return undefined;
  }
  const value = doc?.runtime?.options?.typescript;
  return typeof value === "boolean" ? value : undefined;
}

/** Points the runner's TypeScript switch at what the project's Pulumi.yaml (in `dir`) says. */
function honourTypescriptOption(dir, env) {
  for (const name of ["Pulumi.yaml", "Pulumi.yml"]) {
    let text;
    try {
      text = fs.readFileSync(path.join(dir, name), "utf8");
    } catch {
      continue;
    }
    const option = typescriptOption(text);
    if (option !== undefined) env.PULUMI_NODEJS_TYPESCRIPT = String(option);
    return option;
  }
  return undefined;
}

/**
 * The SDK's modules loaded on first use: each file (under @pulumi/pulumi) with the functions it
 * exports. Their importers only copy those functions out at start-up, so a stand-in whose functions
 * load the real module and call through is enough. test/unit/boot/runner.test.ts checks these
 * names against the installed SDK's exports, so an upgrade that adds one fails there, not here.
 */
const DEFERRED = {
  "runtime/closure/serializeClosure.js": ["serializeFunction", "serializeFunctionAsync"],
  "runtime/closure/codePaths.js": ["computeCodePaths", "findWorkspaceRoot"],
};

/** The SDK's log module: its `debug` is replaced once loaded (see 3 above). */
const LOG_MODULE = "log/index.js";

/**
 * The last part of a request for any of those files ("./closure/codePaths", "../log"): the hook
 * resolves only requests that end in one, not each of the SDK's few hundred relative imports.
 */
const REQUEST_NAMES = new Set(
  [...Object.keys(DEFERRED), LOG_MODULE].map((f) => {
    const { dir, name } = path.posix.parse(f);
    return name === "index" ? path.posix.basename(dir) : name;
  }),
);

/** What `log.debug` does instead: nothing, as the SDK's own does when there is no engine. */
const quiet = () => Promise.resolve();

/** Which SDK file `fileName` is, relative to @pulumi/pulumi, or undefined for any other file. */
function sdkFile(fileName) {
  const marker = `${path.sep}node_modules${path.sep}@pulumi${path.sep}pulumi${path.sep}`;
  const at = fileName.lastIndexOf(marker);
  return at < 0
    ? undefined
    : fileName
        .slice(at + marker.length)
        .split(path.sep)
        .join("/");
}

/** A stand-in for a module exporting `names`: each call loads the real module (once) and calls it. */
function deferredModule(names, load) {
  let real;
  const stub = { __esModule: true };
  for (const name of names) {
    stub[name] = (...args) => (real ??= load())[name](...args);
  }
  return stub;
}

/**
 * Hooks module loading for 2 and 3. `quietDebug` false keeps the SDK's debug logs. Returns what the
 * hook did, for the tests.
 */
function installHooks({ quietDebug }) {
  const load = Module._load;
  const did = { deferred: [], loaded: [], quietedLog: false };
  Module._load = function (request, parent, isMain) {
    // Only the SDK's own relative imports of those files are resolved here (Node resolves them again).
    if (
      REQUEST_NAMES.has(path.basename(request, ".js")) &&
      (request.startsWith(".") || request.startsWith("/")) &&
      parent?.filename &&
      sdkFile(parent.filename) !== undefined
    ) {
      const file = sdkFile(Module._resolveFilename(request, parent, isMain));
      const names = file === undefined ? undefined : DEFERRED[file];
      if (names) {
        did.deferred.push(file);
        return deferredModule(names, () => {
          did.loaded.push(file);
          return load.call(Module, request, parent, isMain);
        });
      }
      if (file === LOG_MODULE && quietDebug) {
        const log = load.call(Module, request, parent, isMain);
        // The first load can return the module half-run (log and runtime/settings import each other),
        // before its own `exports.debug = debug`: an accessor whose setter ignores that assignment.
        if (!did.quietedLog) {
          Object.defineProperty(log, "debug", { get: () => quiet, set: () => {}, enumerable: true });
          did.quietedLog = true;
        }
        return log;
      }
    }
    return load.call(Module, request, parent, isMain);
  };
  return did;
}

if (isProgramRunner(process.argv)) {
  honourTypescriptOption(process.cwd(), process.env);
  installHooks({ quietDebug: process.env.STAGECRAFT_SDK_DEBUG_LOGS !== "true" });
}

module.exports = { DEFERRED, deferredModule, honourTypescriptOption, installHooks, isProgramRunner, sdkFile, typescriptOption };
