/**
 * Outside referees over every rendered stage (globalSetup renders them once through the real
 * engine): kube-score with its short, justified ignore list (test/lib/kubeScore.ts), and YAML 1.1
 * readers (kubectl, Helm, kube-score's own) must read every manifest the way the engine meant it,
 * both the tree in rendered/<stage> and the provider's raw output it was made from.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { findings, kubeScoreArgs, type ScoredObject } from "../lib/kubeScore";
import { formatAmbiguity, yaml11Ambiguities } from "../lib/yaml11";
import { STAGES } from "./globalSetup";

const ROOT = path.join(__dirname, "..", "..");
const TOOLS = process.env.STAGECRAFT_TOOLS ?? path.join(ROOT, ".tools");

function yamlFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

describe.each(STAGES)("outside referees over stage %s", (stage) => {
  const rendered = path.join(ROOT, "rendered", stage);
  const raw = path.join(ROOT, ".pulumi-state", "render", stage, "raw");

  test("kube-score finds nothing outside its ignore list", () => {
    const files = yamlFiles(rendered);
    expect(files.length).toBeGreaterThan(20);
    const r = spawnSync(path.join(TOOLS, "bin", "kube-score"), kubeScoreArgs(files), { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (r.error) throw r.error;
    // kube-score exits 1 when it grades anything critical; the JSON is on stdout either way.
    const scored = JSON.parse(r.stdout) as ScoredObject[];
    expect(scored.length).toBe(files.length);
    const found = findings(scored);
    if (found.length > 0) console.error(`kube-score over rendered/${stage}: ${found.length} finding(s)\n  ${found.join("\n  ")}`);
    expect(found).toEqual([]);
  });

  test.each([
    ["rendered tree", rendered],
    ["provider's raw output", raw],
  ])("YAML 1.1 and 1.2 read the %s the same", (_what, dir) => {
    const files = yamlFiles(dir);
    expect(files.length).toBeGreaterThan(20);
    const ambiguous = files.flatMap((f) =>
      yaml11Ambiguities(fs.readFileSync(f, "utf8")).map((a) => `${path.relative(ROOT, f)}: ${formatAmbiguity(a)}`),
    );
    expect(ambiguous).toEqual([]);
  });
});
