/**
 * The program's TypeScript, transpiled once and kept: a require hook for the project's own `.ts`
 * files that looks up each file's JavaScript by the hash of everything the output depends on (the
 * TypeScript version, tsconfig.json's compilerOptions, the file's name and its text) and transpiles
 * only on a miss. A cached build can never be stale: a changed file, option or compiler is a new
 * key. Transpiling is what ts-node does (transpile only; types are tsc's job, in `npm test`), but
 * ts-node does it again on every run: most of a preview's start-up (see docs/benchmarks.md).
 *
 * Plain JavaScript on purpose: it is what loads the TypeScript, so it cannot be TypeScript.
 */
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

/** Where the transpiled files live: one file per key, shared by every copy of the program. */
function defaultCacheDir(root) {
  return path.join(root, "node_modules", ".cache", "stagecraft-ts");
}

/** The cache key of one file: every input its transpiled output depends on. */
function cacheKey(tsVersion, compilerOptionsJson, fileName, source) {
  const h = crypto.createHash("sha256");
  for (const part of [tsVersion, compilerOptionsJson, path.basename(fileName), source]) h.update(part).update("\0");
  return h.digest("hex");
}

/** The TypeScript version installed for `root`, read from its package.json (cheap: no compiler load). */
function typescriptVersion(root) {
  const pkg = require.resolve("typescript/package.json", { paths: [root] });
  return JSON.parse(fs.readFileSync(pkg, "utf8")).version;
}

/** tsconfig.json's compilerOptions as written (their text is part of every key). */
function tsconfigOptions(root) {
  const text = fs.readFileSync(path.join(root, "tsconfig.json"), "utf8");
  return JSON.stringify(JSON.parse(text).compilerOptions ?? {});
}

/**
 * Transpiles one file as ts-node's transpile-only mode does (isolatedModules holds, so a file needs
 * no other file), with its source map inline so stack traces still name the .ts line. The map
 * names the file by its base name, so one entry serves every copy of the program.
 */
function transpile(ts, root, fileName, source) {
  const json = JSON.parse(fs.readFileSync(path.join(root, "tsconfig.json"), "utf8"));
  const { options, errors } = ts.convertCompilerOptionsFromJson(json.compilerOptions ?? {}, root);
  if (errors.length) throw new Error(`tsconfig.json: ${ts.flattenDiagnosticMessageText(errors[0].messageText, "\n")}`);
  const out = ts.transpileModule(source, {
    fileName: path.basename(fileName),
    reportDiagnostics: true,
    compilerOptions: {
      ...options,
      noEmit: false,
      declaration: false,
      sourceMap: false,
      inlineSourceMap: true,
      inlineSources: false,
      outDir: undefined,
    },
  });
  const syntax = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (syntax.length) {
    const d = syntax[0];
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    throw new SyntaxError(
      `${fileName}${where ? `:${where.line + 1}:${where.character + 1}` : ""}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`,
    );
  }
  return out.outputText;
}

/** Entries kept at most; a miss beyond it drops the oldest half (a dropped entry costs one transpile). */
const MAX_ENTRIES = 2000;

/** Every edit adds an entry; keep the folder from growing without bound. */
function prune(cacheDir, max = MAX_ENTRIES) {
  const names = fs.readdirSync(cacheDir).filter((n) => n.endsWith(".js"));
  if (names.length <= max) return 0;
  const aged = names.map((n) => [n, fs.statSync(path.join(cacheDir, n)).mtimeMs]).sort((a, b) => a[1] - b[1]);
  const drop = aged.slice(0, names.length - Math.floor(max / 2));
  for (const [n] of drop) fs.rmSync(path.join(cacheDir, n), { force: true });
  return drop.length;
}

/** Writes `text` to `file` atomically (runs in parallel may fill the same entry). */
function writeAtomic(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString("hex")}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/**
 * A compiler for the project's files: `compile(fileName, source)` returns the JavaScript, from the
 * cache when it holds the key, else transpiled (and stored; a cache that cannot be written, e.g. a
 * read-only node_modules, only costs the transpile). `stats` counts hits and misses.
 */
function createCompiler(root, cacheDir = defaultCacheDir(root)) {
  const tsVersion = typescriptVersion(root);
  const optionsJson = tsconfigOptions(root);
  let ts;
  const stats = { hits: 0, misses: 0 };
  const outputs = new Map();
  function compile(fileName, source) {
    const file = path.join(cacheDir, `${cacheKey(tsVersion, optionsJson, fileName, source)}.js`);
    let js;
    try {
      js = fs.readFileSync(file, "utf8");
      stats.hits++;
    } catch {
      ts ??= require(require.resolve("typescript", { paths: [root] }));
      js = transpile(ts, root, fileName, source);
      stats.misses++;
      try {
        writeAtomic(file, js);
        prune(cacheDir);
      } catch {
        // Not cached: the next run transpiles again, and is still correct.
      }
    }
    outputs.set(fileName, js);
    return js;
  }
  return { compile, stats, outputs };
}

/** Distinct frames kept formatted at most; past it the cache starts again (a miss only costs a mapping). */
const MAX_FRAMES = 10000;

/**
 * Formats a stack's frames as V8 does, the project's own frames (`own(fileName)`) mapped through
 * `wrapCallSite` (source-map-support's). The SDK reads a stack for every promise and resource it
 * makes, nearly always through the same few frames of ours: mapping one costs a source-map lookup
 * and a copy of the frame, about 0.1 ms, a few hundred milliseconds of a preview (thousands of
 * stacks, measured with the engine). So each mapped frame is formatted once and kept, keyed by what
 * its text depends on: V8's own text of the frame (function, receiver type, file, line, column,
 * async/new/eval) and the name its caller's mapped position gives it (source-map-support names a
 * mapped frame's function by the name at its call site). The text is the same as without the cache.
 */
function createFrameFormatter(own, wrapCallSite, max = MAX_FRAMES) {
  const cache = new Map();
  return function format(frames) {
    const state = { nextPosition: null, curPosition: null };
    const lines = [];
    for (let i = frames.length - 1; i >= 0; i--) {
      const f = frames[i];
      if (own(f.getFileName() ?? "")) {
        const key = `${f}\0${(state.nextPosition && state.nextPosition.name) || ""}`;
        let hit = cache.get(key);
        if (hit === undefined) {
          if (cache.size >= max) cache.clear();
          hit = { text: `\n    at ${wrapCallSite(f, state)}`, position: state.curPosition };
          cache.set(key, hit);
        }
        lines.push(hit.text);
        // (a mapped frame's position names the function it calls, the next frame up; others name none)
        state.curPosition = hit.position;
      } else {
        lines.push(`\n    at ${f}`);
        state.curPosition = null;
      }
      state.nextPosition = state.curPosition;
    }
    return lines.reverse().join("");
  };
}

/**
 * Stack traces name the .ts lines of the project's own files, through their inline source maps
 * (@cspotcode/source-map-support, which ts-node brings). Only those frames are mapped: the SDK
 * reads a stack for every promise and resource it makes (runtime/debuggable.js, Resource.callsites),
 * and source-map-support's own hook, which the language host's ts-node installs, copies every frame
 * of every one of them: a tenth of a preview's start-up. Other frames print as V8 prints them.
 */
function mapOwnFrames(own, outputs) {
  let sms;
  try {
    sms = require(require.resolve("@cspotcode/source-map-support", { paths: [__dirname] }));
  } catch {
    return; // Without it, stack traces name the transpiled lines: still correct, less helpful.
  }
  // Where the map of a file of ours is: in the output we compiled, not in the .ts on disk.
  sms.install({ environment: "node", retrieveFile: (p) => outputs.get(p) ?? null });
  const format = createFrameFormatter(own, sms.wrapCallSite);
  Error.prepareStackTrace = function (error, frames) {
    const head = error instanceof Error ? Error.prototype.toString.call(error) : String(error);
    return head + format(frames);
  };
}

/**
 * Installs the hook for `.ts` files under `root` (not in node_modules), in place of any other
 * (ts-node's, which the language host registers), and lets stack traces map through the inline
 * source maps. Returns the compiler (its stats say what the cache did).
 */
function install(root) {
  const compiler = createCompiler(root);
  const previous = require.extensions[".ts"];
  const own = (f) => f.startsWith(root + path.sep) && !f.includes(`${path.sep}node_modules${path.sep}`);
  require.extensions[".ts"] = function (module, fileName) {
    if (!own(fileName)) {
      if (previous) return previous(module, fileName);
      throw new Error(`${fileName}: no TypeScript loader for files outside ${root}`);
    }
    module._compile(compiler.compile(fileName, fs.readFileSync(fileName, "utf8")), fileName);
  };
  mapOwnFrames(own, compiler.outputs);
  return compiler;
}

module.exports = { cacheKey, createCompiler, createFrameFormatter, defaultCacheDir, install, prune, transpile };
