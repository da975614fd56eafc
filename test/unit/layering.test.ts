/**
 * One way down. Each folder imports only from folders below it (or from itself), so a reader can
 * learn the project bottom-up and the program (`pulumi up` loads index.ts and what it imports) never
 * pulls in the CLI, the tests or the scripts. No file-level import cycle anywhere.
 *
 *   spec -> model -> cost -> aws -> validate -> components (lib -> tiers -> stage) -> index.ts -> cli, policy
 */
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../lib/paths";

/** Rank of each layer: a file may import a file of equal or lower rank only. */
const LAYERS: readonly (readonly [prefix: string, rank: number])[] = [
  ["spec/", 0],
  ["model/", 1],
  ["cost/", 2],
  ["aws/", 3],
  ["validate/", 4],
  ["components/lib/", 5],
  ["components/platform/", 6],
  ["components/data/", 6],
  ["components/app/", 6],
  ["components/edge/", 6],
  ["components/stage/", 7],
  ["index.ts", 8],
  ["cli/", 9],
  ["policy/", 9],
];

/** The component tiers sit side by side: none imports another (the Stage wires them). */
const SIDE_BY_SIDE = ["components/platform/", "components/data/", "components/app/", "components/edge/"];

function sources(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.name === "node_modules") return [];
    return e.isDirectory() ? sources(p) : e.name.endsWith(".ts") ? [p] : [];
  });
}

const layerOf = (file: string) => LAYERS.find(([prefix]) => file === prefix || file.startsWith(prefix));

/** Relative imports of a file, as repo-relative paths of the files they name. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  return [...text.matchAll(/(?:from\s+|import\()"(\.[^"]+)"/g)].map((m) => {
    const target = path.resolve(path.dirname(path.join(ROOT, file)), m[1]);
    const withExt = [`${target}.ts`, path.join(target, "index.ts"), target].find((c) => fs.existsSync(c)) ?? target;
    return path.relative(ROOT, withExt);
  });
}

const product = [
  "index.ts",
  ...["spec", "model", "cost", "aws", "validate", "components", "cli", "policy"].flatMap((d) => sources(path.join(ROOT, d))),
].map((f) => path.relative(ROOT, path.resolve(ROOT, f)));

test("every product file belongs to a layer", () => {
  expect(product.filter((f) => !layerOf(f))).toEqual([]);
});

test.each(product.map((f) => [f]))("%s imports only from its own layer or below", (file) => {
  const [prefix, rank] = layerOf(file) ?? ["", -1];
  const wrong = importsOf(file).filter((target) => {
    const to = layerOf(target);
    if (!to) return /^(test|scripts)\//.test(target) || !target.endsWith(".json");
    if (to[1] > rank) return true;
    return SIDE_BY_SIDE.includes(prefix) && SIDE_BY_SIDE.includes(to[0]) && to[0] !== prefix;
  });
  expect(wrong).toEqual([]);
});

test("no file-level import cycle", () => {
  const graph = new Map(product.map((f) => [f, importsOf(f).filter((t) => t.endsWith(".ts"))]));
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (f: string, trail: string[]): void => {
    state.set(f, "open");
    for (const t of graph.get(f) ?? []) {
      if (state.get(t) === "open") cycles.push([...trail.slice(trail.indexOf(t)), f, t].join(" -> "));
      else if (!state.has(t)) visit(t, [...trail, f]);
    }
    state.set(f, "done");
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f, []);
  expect(cycles).toEqual([]);
});
