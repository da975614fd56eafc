/**
 * A stage that does not fit its cluster's nodes is refused before `pulumi up`, naming the stack,
 * `target.fit`, the node, what is asked and free, and fixes that really fix it (applied, re-checked).
 */
import * as path from "path";
import { formatProblem, type SpecProblem } from "../../../spec/errors";
import type { RawStack } from "../../../spec/config";
import { readStackFile } from "../../../spec/stackFile";
import { checkClusterFit, demands, eligibleNodes, tolerates } from "../../../validate/clusterFit";
import { validateStack } from "../../../validate/validateStack";
import { ROOT } from "../../lib/paths";
import { kwokNodes, localRaw, localTarget, realNode } from "../../lib/clusterNodes";

const STAGES = ["mvc", "split", "micro", "ddd"] as const;

/** Applies a `pulumi config set --path 'target.X.Y' V` fix to a raw stack (what the user would run). */
function apply(raw: RawStack, fix: string): RawStack {
  const m = /pulumi config set --path 'target\.fit\.(\w+)' ([\d.]+)/.exec(fix);
  if (!m) throw new Error(`no target.fit command in: ${fix}`);
  const t = structuredClone(raw.target) as Record<string, Record<string, number>>;
  t.fit = { ...(t.fit ?? {}), [m[1]]: Number(m[1] === "maxReplicas" ? parseInt(m[2], 10) : m[2]) };
  return { ...raw, target: t };
}
const text = (ps: SpecProblem[]) => ps.map((p) => formatProblem("local", p)).join("\n");

describe("the committed local stack fits the local cluster at every stage", () => {
  test.each(STAGES)("%s: no problem; Kong's pods confined to the KWOK nodes, the rest to the real node", (stage) => {
    const raw = localRaw(stage);
    expect(checkClusterFit("local", raw, [realNode(), ...kwokNodes])).toEqual([]);
    const { model, target } = validateStack("local", raw);
    for (const d of demands(model.workloads, target, [realNode(), ...kwokNodes])) {
      const names = d.workloads.map((w) => w.name);
      if (d.nodes.some((n) => n.fake)) expect(names).toEqual(["kong"]);
      else expect(names).not.toContain("kong");
    }
  });
});

describe("a stage that does not fit", () => {
  const noFit = { ...localTarget };
  delete noFit.fit;

  test("without target.fit, stage mvc asks 3500m of a 2-core node: the stack, the field, the node, the numbers, the fix", () => {
    const problems = checkClusterFit("local", localRaw("mvc", noFit), [realNode(), ...kwokNodes]);
    expect(problems).toHaveLength(1);
    const msg = text(problems);
    expect(msg).toMatch(/^stack local: target\.fit is not set, so stage mvc's pods ask 3500m CPU on node stagecraft-node/);
    expect(msg).toMatch(/1900m CPU free \(2000m CPU allocatable, 100m CPU taken by pods of other namespaces\)/);
    expect(msg).toMatch(/web 3×500m/);
    expect(msg).toMatch(/Fix: lower the cpu requests: pulumi config set --path 'target\.fit\.cpu' 0\.\d+ --stack local/);
    expect(msg).toMatch(/a bigger node: 1600m CPU more allocatable on node stagecraft-node/);
  });

  test.each(STAGES)("%s: the suggested cpu factor fits, and one step (0.01) more does not", (stage) => {
    const raw = localRaw(stage, { ...localTarget, fit: { cpu: 0.9, memory: 0.5, maxReplicas: 2 } });
    const nodes = [realNode(), ...kwokNodes];
    const problems = checkClusterFit("local", raw, nodes);
    expect(problems.length).toBeGreaterThan(0);
    const fixed = apply(raw, problems[0].fix);
    expect(checkClusterFit("local", fixed, nodes)).toEqual([]);
    const factor = (fixed.target as { fit: { cpu: number } }).fit.cpu;
    expect(factor).toBeLessThan(0.9);
    const above = apply(raw, `pulumi config set --path 'target.fit.cpu' ${(factor + 0.01).toFixed(2)}`);
    expect(checkClusterFit("local", above, nodes)).not.toEqual([]);
  });

  test("memory: a small node gets the memory fix, and it fits once applied", () => {
    const nodes = [realNode({ allocatable: { cpuMilli: 8000, memoryMi: 1500 } }), ...kwokNodes];
    const raw = localRaw("mvc");
    const problems = checkClusterFit("local", raw, nodes);
    expect(text(problems)).toMatch(/asking \d+Mi memory on node stagecraft-node, which has 1430Mi memory free/);
    expect(problems[0].fix).toMatch(/'target\.fit\.memory'/);
    expect(checkClusterFit("local", apply(raw, problems[0].fix), nodes)).toEqual([]);
  });

  test("maxReplicas is offered when capping the replicas alone makes it fit, and that fix works", () => {
    // mvc at cpu 0.15 asks 527m with 3 replicas a service, 452m with 2: 480m free between them.
    const raw = localRaw("mvc", { ...localTarget, fit: { cpu: 0.15, memory: 0.5, maxReplicas: 3 } });
    const nodes = [realNode({ allocatable: { cpuMilli: 580, memoryMi: 8192 } }), ...kwokNodes];
    const problems = checkClusterFit("local", raw, nodes);
    const cap = problems[0].fix.split("; ").find((f) => f.includes("maxReplicas"));
    expect(cap).toBeDefined();
    expect(cap).toMatch(/'target\.fit\.maxReplicas' 2 --stack local/);
    expect(checkClusterFit("local", apply(raw, cap ?? ""), nodes)).toEqual([]);
  });

  test("a cap that breaks another rule is not offered (split's push needs 2 replicas)", () => {
    const raw = localRaw("split", { ...localTarget, fit: { cpu: 0.15, memory: 0.5, maxReplicas: 2 } });
    const problems = checkClusterFit("local", raw, [realNode({ allocatable: { cpuMilli: 1000, memoryMi: 8192 } }), ...kwokNodes]);
    expect(problems).toHaveLength(1);
    expect(problems[0].fix).not.toMatch(/maxReplicas/);
  });

  test("pods of other namespaces count; the stack's own (replaced by the up) are not passed in", () => {
    const nodes = (cpu: number) => [realNode({ used: { cpuMilli: cpu, memoryMi: 0 } }), ...kwokNodes];
    expect(checkClusterFit("local", localRaw("mvc"), nodes(100))).toEqual([]);
    expect(text(checkClusterFit("local", localRaw("mvc"), nodes(1800)))).toMatch(/1800m CPU taken by pods of other namespaces/);
  });

  test("one pod bigger than any node it may use is named, even when the sum would fit", () => {
    const big = localRaw("mvc", { ...localTarget, fit: { cpu: 1, memory: 0.5, maxReplicas: 1 } });
    const nodes = [
      realNode({ name: "n1", allocatable: { cpuMilli: 900, memoryMi: 8192 }, used: { cpuMilli: 0, memoryMi: 0 } }),
      realNode({ name: "n2", allocatable: { cpuMilli: 3000, memoryMi: 8192 }, used: { cpuMilli: 2100, memoryMi: 0 } }),
      ...kwokNodes,
    ];
    expect(text(checkClusterFit("local", big, nodes))).toMatch(
      /one mysql pod asking 1000m CPU, more than any node it may use has free \(900m CPU\)/,
    );
  });

  test("a placement no node matches: Kong's pods have nowhere to go", () => {
    const raw = localRaw("micro");
    const msg = text(checkClusterFit("local", raw, [realNode()]));
    expect(msg).toMatch(/^stack local: target\.placement\.kong leaves no schedulable node for kong's pods/);
    expect(msg).toMatch(/"type":"kwok"/);
  });

  test("cordoned or NotReady nodes give nothing", () => {
    expect(text(checkClusterFit("local", localRaw("mvc"), [realNode({ schedulable: false }), ...kwokNodes]))).toMatch(
      /no schedulable node for nginx's pods.*stagecraft-node \(not schedulable\)/,
    );
  });

  test("a render target has no cluster: nothing to check", () => {
    const { raw } = readStackFile(path.join(ROOT, "stacks/Pulumi.mvc.yaml"));
    expect(checkClusterFit("mvc", raw, [])).toEqual([]);
  });
});

describe("scheduling rules, as Kubernetes applies them", () => {
  const taint = { key: "stagecraft.local/fake", value: "true", effect: "NoSchedule" };
  test.each([
    [{ key: "stagecraft.local/fake", operator: "Equal" as const, value: "true", effect: "NoSchedule" as const }, true],
    [{ key: "stagecraft.local/fake", operator: "Exists" as const }, true],
    [{ key: "", operator: "Exists" as const }, true],
    [{ key: "stagecraft.local/fake", operator: "Equal" as const, value: "false" }, false],
    [{ key: "stagecraft.local/fake", operator: "Equal" as const, value: "true", effect: "NoExecute" as const }, false],
    [{ key: "other", operator: "Exists" as const }, false],
  ])("%j tolerates the KWOK taint: %s", (tol, ok) => {
    expect(tolerates({ nodeSelector: {}, tolerations: [tol] }, taint)).toBe(ok);
  });
  test("PreferNoSchedule never excludes; a missing label does", () => {
    const n = realNode({ taints: [{ key: "soft", effect: "PreferNoSchedule" }] });
    expect(eligibleNodes({ nodeSelector: {}, tolerations: [] }, [n])).toEqual([n]);
    expect(eligibleNodes({ nodeSelector: { type: "kwok" }, tolerations: [] }, [n])).toEqual([]);
  });
});
