/**
 * Stagecraft's multi-object rules over the real engine's render of all four stages: every workload
 * in `rendered/<stage>/` (written through scripts/stage.sh, which also runs the policy pack's
 * per-container rules) must pass baselineViolations (PDBs, spread, own ServiceAccount, labels).
 *
 * Outside CI a missing render skips with a message (run the render first). In CI a missing render
 * fails: the check must never pass by having nothing to look at. Because render.test.ts may run in
 * another jest worker at the same time, CI waits (bounded) for the stage's tree to appear and settle.
 */
import * as fs from "fs";
import * as path from "path";
import { readObjects } from "../../cli/renderTree";
import { validateStack } from "../../validate/validateStack";
import { readStackFile } from "../../spec/stackFile";
import { workloads } from "../../model/workloads";
import { baselineViolations, formatViolation, WORKLOAD_KINDS, type K8sObject } from "../lib/baseline";

const ROOT = path.join(__dirname, "..", "..");
const STAGES = ["mvc", "split", "micro", "ddd"] as const;
const CI = !!process.env.CI;
/** How long CI waits for render.test.ts to write a stage's tree (it renders the four stages in turn). */
const CI_WAIT_MS = Number(process.env.STAGECRAFT_RENDER_WAIT_SECONDS ?? 45 * 60) * 1000;

function listing(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${p}:${fs.statSync(p).size}`);
    }
  };
  walk(dir);
  return out.join("\n");
}

/** Waits until `dir` exists and its files stop changing (render-tree rewrites the tree whole). */
async function settled(dir: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const now = fs.existsSync(dir) ? listing(dir) : "";
    if (now !== "" && now === last) return true;
    last = now;
    await new Promise((r) => setTimeout(r, 2000));
  }
  return false;
}

describe.each(STAGES)("baseline over rendered/%s", (stage) => {
  const dir = path.join(ROOT, "rendered", stage);
  const present = fs.existsSync(dir);
  if (!present && !CI) {
    test.skip(`skipped: ${path.relative(ROOT, dir)} is absent; run the engine render first (npx jest --selectProjects engine test/engine/render.test.ts)`, () =>
      undefined);
    console.warn(
      `baseline over rendered/${stage}: skipped, ${dir} is absent (not in CI). Render it first: npm run stage -- ${stage} render`,
    );
    return;
  }

  let objects: K8sObject[] = [];
  beforeAll(async () => {
    if (!(await settled(dir, present ? 10_000 : CI_WAIT_MS)))
      throw new Error(
        `${dir} is absent in CI after waiting ${CI_WAIT_MS / 1000}s: the engine render (test/engine/render.test.ts) must write it before this check`,
      );
    objects = readObjects(dir);
  }, CI_WAIT_MS + 60_000);

  test("holds every workload the spec implies (the check has something to look at)", () => {
    // By name only: whether each has the right kind and replicas is render.test.ts's business.
    const { stack, raw } = readStackFile(path.join(ROOT, "stacks", `Pulumi.${stage}.yaml`));
    const expected = workloads(validateStack(stack, raw).spec).map((w) => w.name);
    const rendered = objects.filter((o) => (WORKLOAD_KINDS as readonly string[]).includes(o.kind ?? "")).map((o) => o.metadata?.name);
    expect(rendered).toEqual(expect.arrayContaining(expected));
  });

  test("every workload meets the security and reliability baseline", () => {
    const violations = baselineViolations(objects).map(formatViolation);
    if (violations.length > 0) console.error(`rendered/${stage}: ${violations.length} baseline violation(s)\n  ${violations.join("\n  ")}`);
    expect(violations).toEqual([]);
  });
});
