/**
 * The program's transpile cache (boot/transpileCache.js): a hit serves what a miss stored, any
 * change of the file, its name, tsconfig's options or the compiler is a miss (a stale entry cannot
 * be served), and the code it serves runs with stack traces that name the .ts lines.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../../lib/paths";
import { tmpDir } from "../../lib/proc";

interface Compiler {
  compile(fileName: string, source: string): string;
  readonly stats: { hits: number; misses: number };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- plain JavaScript by design (it loads the TypeScript)
const boot = require(path.join(ROOT, "boot", "transpileCache.js")) as {
  cacheKey(tsVersion: string, options: string, fileName: string, source: string): string;
  createCompiler(root: string, cacheDir?: string): Compiler;
  prune(cacheDir: string, max?: number): number;
  createFrameFormatter(
    own: (fileName: string) => boolean,
    wrapCallSite: (frame: NodeJS.CallSite, state: FrameState) => { toString(): string },
    max?: number,
  ): (frames: NodeJS.CallSite[]) => string;
};

/** source-map-support's state between frames: a mapped frame's position names its caller. */
interface FrameState {
  nextPosition: { name?: string } | null;
  curPosition: { name?: string } | null;
}

/** The frames V8 gives for a stack through `outer` -> `inner` (defined in this file). */
function framesHere(): NodeJS.CallSite[] {
  const previous = Error.prepareStackTrace;
  Error.prepareStackTrace = (_e, frames) => frames;
  try {
    const inner = (): NodeJS.CallSite[] => new Error().stack as unknown as NodeJS.CallSite[];
    const outer = (): NodeJS.CallSite[] => inner();
    return outer();
  } finally {
    Error.prepareStackTrace = previous;
  }
}

/** A project folder like the program's: tsconfig.json and node_modules (linked). */
function project(): { root: string; cache: string } {
  const root = tmpDir("boot");
  fs.copyFileSync(path.join(ROOT, "tsconfig.json"), path.join(root, "tsconfig.json"));
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(root, "node_modules"));
  return { root, cache: path.join(root, "cache") };
}

const SOURCE = "interface A {\n  x: number;\n}\nexport const double = (a: A): number => a.x * 2;\n";

describe("cacheKey", () => {
  const base = ["5.9.2", '{"strict":true}', "/p/a.ts", SOURCE] as const;
  test("is the same for the same inputs, wherever the program is copied", () => {
    expect(boot.cacheKey(...base)).toBe(boot.cacheKey(base[0], base[1], "/elsewhere/a.ts", base[3]));
  });
  test.each<[string, [string, string, string, string]]>([
    ["the compiler version", ["5.9.3", base[1], base[2], base[3]]],
    ["tsconfig's options", [base[0], '{"strict":false}', base[2], base[3]]],
    ["the file's name", [base[0], base[1], "/p/b.ts", base[3]]],
    ["one character of the source", [base[0], base[1], base[2], base[3].replace("* 2", "* 3")]],
  ])("changes with %s", (_what, other) => {
    expect(boot.cacheKey(...other)).not.toBe(boot.cacheKey(...base));
  });
});

describe("createCompiler", () => {
  test("a miss transpiles and stores; the next compiler of the same project hits and gets the same code", () => {
    const { root, cache } = project();
    const file = path.join(root, "a.ts");
    const first = boot.createCompiler(root, cache);
    const js = first.compile(file, SOURCE);
    expect(first.stats).toEqual({ hits: 0, misses: 1 });
    expect(js).toContain("a.x * 2");
    expect(js).not.toContain("interface");
    expect(fs.readdirSync(cache)).toHaveLength(1);

    const second = boot.createCompiler(root, cache);
    expect(second.compile(file, SOURCE)).toBe(js);
    expect(second.stats).toEqual({ hits: 1, misses: 0 });
  });

  test("an edited file is never served from its old entry", () => {
    const { root, cache } = project();
    const file = path.join(root, "a.ts");
    boot.createCompiler(root, cache).compile(file, SOURCE);
    const c = boot.createCompiler(root, cache);
    expect(c.compile(file, SOURCE.replace("* 2", "* 3"))).toContain("a.x * 3");
    expect(c.stats).toEqual({ hits: 0, misses: 1 });
  });

  test("a change of tsconfig.json's compilerOptions misses too", () => {
    const { root, cache } = project();
    const file = path.join(root, "a.ts");
    boot.createCompiler(root, cache).compile(file, SOURCE);
    const tsconfig = JSON.parse(fs.readFileSync(path.join(root, "tsconfig.json"), "utf8")) as { compilerOptions: Record<string, unknown> };
    tsconfig.compilerOptions.target = "ES2020";
    fs.writeFileSync(path.join(root, "tsconfig.json"), JSON.stringify(tsconfig));
    const c = boot.createCompiler(root, cache);
    c.compile(file, SOURCE);
    expect(c.stats).toEqual({ hits: 0, misses: 1 });
  });

  test("a syntax error names the file, line and column, and nothing is stored", () => {
    const { root, cache } = project();
    const c = boot.createCompiler(root, cache);
    expect(() => c.compile(path.join(root, "bad.ts"), "export const x = ;\n")).toThrow(/bad\.ts:1:18: Expression expected/);
    expect(fs.existsSync(cache) ? fs.readdirSync(cache) : []).toEqual([]);
  });

  test("a cache that cannot be written costs only the transpile", () => {
    const { root } = project();
    const blocked = path.join(root, "not-a-dir");
    fs.writeFileSync(blocked, "");
    const c = boot.createCompiler(root, path.join(blocked, "cache"));
    expect(c.compile(path.join(root, "a.ts"), SOURCE)).toContain("a.x * 2");
  });
});

describe("prune", () => {
  test("past the limit, the oldest entries go until half the limit is left; under it, nothing", () => {
    const dir = tmpDir("boot-prune");
    for (let i = 0; i < 12; i++) {
      const f = path.join(dir, `${i}.js`);
      fs.writeFileSync(f, "");
      fs.utimesSync(f, 1000 + i, 1000 + i);
    }
    expect(boot.prune(dir, 12)).toBe(0);
    expect(boot.prune(dir, 10)).toBe(7);
    expect(fs.readdirSync(dir).sort()).toEqual(["10.js", "11.js", "7.js", "8.js", "9.js"]);
  });
});

describe("createFrameFormatter", () => {
  const ownFile = (f: string) => f === __filename;
  /** A stand-in for wrapCallSite: shows the name its caller's position gives it, and gives its own frame a position named after the line. */
  const wrapper = () => {
    const calls: string[] = [];
    const wrap = (f: NodeJS.CallSite, state: FrameState) => {
      const text = `mapped ${f.getLineNumber()}:${f.getColumnNumber()} below=${state.nextPosition?.name ?? "-"}`;
      calls.push(text);
      state.curPosition = { name: `n${f.getLineNumber()}` };
      return { toString: () => text };
    };
    return { calls, wrap };
  };

  test("maps only the project's own frames; the others print as V8 prints them", () => {
    const frames = framesHere();
    const { calls, wrap } = wrapper();
    const lines = createFormat(wrap)(frames).split("\n    at ").slice(1);
    expect(lines).toHaveLength(frames.length);
    frames.forEach((f, i) => expect(lines[i]).toEqual(ownFile(f.getFileName() ?? "") ? expect.stringMatching(/^mapped /) : `${f}`));
    expect(calls.length).toBe(frames.filter((f) => ownFile(f.getFileName() ?? "")).length);
    // A mapped frame is told its mapped caller's position (source-map-support names functions by the call site).
    expect(lines[0]).toContain(`below=n${frames[1].getLineNumber()}`);
  });

  test("a frame seen again is served formatted, with the same text, without mapping it again", () => {
    const { calls, wrap } = wrapper();
    const format = createFormat(wrap);
    const frames = framesHere();
    const first = format(frames);
    const mapped = calls.length;
    expect(mapped).toBeGreaterThan(0);
    expect(format(frames)).toBe(first);
    expect(calls.length).toBe(mapped);
    // `outer` without its caller is another key (no name from a call site): mapped again; `inner` is not.
    format(frames.slice(0, 2));
    expect(calls.length).toBe(mapped + 1);
  });

  test("past its limit the cache starts again instead of growing", () => {
    const { calls, wrap } = wrapper();
    const format = boot.createFrameFormatter(ownFile, wrap, 1);
    const frames = framesHere();
    format(frames);
    const once = calls.length;
    format(frames);
    expect(calls.length).toBeGreaterThan(once);
  });

  function createFormat(wrap: ReturnType<typeof wrapper>["wrap"]) {
    return boot.createFrameFormatter(ownFile, wrap);
  }
});

describe("install", () => {
  test("a project's .ts files run through the cache, and a thrown error names the .ts line", () => {
    const { root } = project();
    // The cache is node_modules/.cache (shared through the link): a comment unique to this run makes the first run miss.
    const unique = `// ${root}\n`;
    fs.writeFileSync(
      path.join(root, "lib.ts"),
      unique + "type N = number;\n\nexport function boom(n: N): N {\n  if (n > 0) throw new Error('boom');\n  return n;\n}\n",
    );
    fs.writeFileSync(
      path.join(root, "main.ts"),
      unique +
        "import { boom } from './lib';\nexport const value: number = boom(0);\nexport const trace = (): string => { try { boom(1); return ''; } catch (e) { return (e as Error).stack ?? ''; } };\n",
    );
    const script = [
      `const c = require(${JSON.stringify(path.join(ROOT, "boot", "transpileCache.js"))}).install(${JSON.stringify(root)});`,
      `const m = require(${JSON.stringify(path.join(root, "main.ts"))});`,
      // Twice: the second trace comes through the formatted-frame cache and must read the same.
      "const [t1, t2] = [1, 2].map(() => m.trace());",
      "console.log(JSON.stringify({ value: m.value, stats: c.stats, trace: t1.split('\\n')[1], same: t1 === t2 }));",
    ].join("\n");
    const run = () => spawnSync(process.execPath, ["-e", script], { cwd: root, encoding: "utf8" });
    const first = run();
    expect(first.stderr).toBe("");
    expect(JSON.parse(first.stdout)).toEqual({
      value: 0,
      stats: { hits: 0, misses: 2 },
      trace: expect.stringContaining(`${path.join(root, "lib.ts")}:5:20`),
      same: true,
    });
    expect(JSON.parse(run().stdout).stats).toEqual({ hits: 2, misses: 0 });
  });
});
