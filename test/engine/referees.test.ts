/**
 * Outside referees over every rendered stage (globalSetup renders them once through the real
 * engine): kube-score, with its short, justified ignore list and the findings still waiting for a
 * fix in components/ (test/lib/kubeScore.ts); and YAML 1.1 readers (kubectl, Helm) must read
 * every manifest the way the engine meant it, both the tree in rendered/<stage> and the
 * provider's raw output it was made from.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { readObjects } from "../../cli/renderTree";
import { findings, kubeScoreArgs, pendingFor, stalePending, type Finding, type ScoredObject } from "../lib/kubeScore";
import { formatAmbiguity, yaml11Ambiguities } from "../lib/yaml11";
import { STAGES } from "./globalSetup";

const ROOT = path.join(__dirname, "..", "..");
const TOOLS = process.env.STAGECRAFT_TOOLS ?? path.join(ROOT, ".tools");
/** Kinds kube-score has checks for (ConfigMaps, Secrets, ServiceAccounts and Namespaces it passes over). */
const SCORED_KINDS = [
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "Job",
  "CronJob",
  "Service",
  "NetworkPolicy",
  "PodDisruptionBudget",
  "HorizontalPodAutoscaler",
  "Ingress",
];

function yamlFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

function kubeScore(stage: string): Finding[] {
  const files = yamlFiles(path.join(ROOT, "rendered", stage));
  expect(files.length).toBeGreaterThan(20);
  const r = spawnSync(path.join(TOOLS, "bin", "kube-score"), kubeScoreArgs(files), { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  // kube-score exits 1 when it grades anything critical; the JSON is on stdout either way.
  const scored = JSON.parse(r.stdout) as ScoredObject[];
  // It scores every object of the kinds it knows: the check had the whole stage to look at.
  const known = readObjects(path.join(ROOT, "rendered", stage)).filter((o) => SCORED_KINDS.includes(o.kind));
  expect(scored.map((o) => `${o.type_meta.kind}/${o.object_meta.name}`).sort()).toEqual(
    known.map((o) => `${o.kind}/${o.metadata.name}`).sort(),
  );
  return findings(scored);
}

describe("kube-score over every rendered stage", () => {
  const all: Finding[] = [];
  let stagesScored = 0;

  test.each(STAGES)("stage %s: no finding outside the ignore list and the pending list", (stage) => {
    const found = kubeScore(stage);
    stagesScored++;
    all.push(...found);
    const unexpected = found.filter((f) => !pendingFor(f)).map((f) => f.text);
    if (unexpected.length > 0)
      console.error(`kube-score over rendered/${stage}: ${unexpected.length} new finding(s)\n  ${unexpected.join("\n  ")}`);
    expect(unexpected).toEqual([]);
  });

  test("every pending finding still fires somewhere (a fixed one must leave the list)", () => {
    // Every stage was scored, every object of it (kubeScore checks that): no finding at all is then
    // a clean result, not a check that did not run.
    expect(stagesScored).toBe(STAGES.length);
    expect(stalePending(all)).toEqual([]);
  });
});

describe.each(STAGES)("YAML 1.1 readers over stage %s", (stage) => {
  test.each([
    ["rendered tree", path.join(ROOT, "rendered", stage)],
    ["provider's raw output", path.join(ROOT, ".pulumi-state", "render", stage, "raw")],
  ])("read the %s as YAML 1.2 does", (_what, dir) => {
    const files = yamlFiles(dir);
    expect(files.length).toBeGreaterThan(20);
    const ambiguous = files.flatMap((f) =>
      yaml11Ambiguities(fs.readFileSync(f, "utf8")).map((a) => `${path.relative(ROOT, f)}: ${formatAmbiguity(a)}`),
    );
    expect(ambiguous).toEqual([]);
  });
});
