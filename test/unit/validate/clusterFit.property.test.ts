/**
 * The fit check for any stage, fit rule and node size: a node with what the pods ask (or more) free
 * is never refused; a node short of it by any amount always is, and the problem names the shortfall;
 * every factor the fix suggests makes the stage fit once applied.
 */
import fc from "fast-check";
import { formatProblem } from "../../../spec/errors";
import { checkClusterFit, demands } from "../../../validate/clusterFit";
import { validateStack } from "../../../validate/validateStack";
import { kwokNodes, localRaw, localTarget, realNode } from "../../lib/clusterNodes";

const stage = fc.constantFrom("mvc", "split", "micro", "ddd");
const fit = fc.record({
  cpu: fc.integer({ min: 5, max: 100 }).map((n) => n / 100),
  memory: fc.integer({ min: 5, max: 100 }).map((n) => n / 100),
  maxReplicas: fc.integer({ min: 2, max: 4 }),
});
const used = fc.record({ cpuMilli: fc.integer({ min: 0, max: 500 }), memoryMi: fc.integer({ min: 0, max: 1024 }) });

/** What the stage's real-node pods ask, derived by validateStack exactly as the check does. */
function asked(st: string, f: object) {
  const raw = localRaw(st, { ...localTarget, fit: f });
  const { model, target } = validateStack("local", raw);
  const probe = [realNode({ allocatable: { cpuMilli: 1e9, memoryMi: 1e9 } }), ...kwokNodes];
  const real = demands(model.workloads, target, probe).filter((d) => !d.nodes.some((n) => n.fake));
  const of = (r: "cpu" | "memory") => real.find((d) => d.resource === r)?.asked ?? 0;
  const biggest = (r: "cpuMilli" | "memoryMi") => Math.max(...model.workloads.filter((w) => w.name !== "kong").map((w) => w.request[r]));
  return { raw, cpu: of("cpu"), memory: of("memory"), biggest };
}

const settings = { numRuns: 40 };

describe("checkClusterFit (property)", () => {
  test("a node with at least what the pods ask free is never refused", () => {
    fc.assert(
      fc.property(stage, fit, used, fc.nat(2000), fc.nat(4096), (st, f, u, slackCpu, slackMem) => {
        let a;
        try {
          a = asked(st, f);
        } catch {
          return; // this fit breaks another rule of the stage (validation refuses it before any check)
        }
        const node = realNode({
          used: u,
          allocatable: { cpuMilli: a.cpu + u.cpuMilli + slackCpu, memoryMi: a.memory + u.memoryMi + slackMem },
        });
        expect(checkClusterFit("local", a.raw, [node, ...kwokNodes])).toEqual([]);
      }),
      settings,
    );
  });

  test("a node short by any amount is refused, naming the stack, target.fit, the node and the amount; the suggested factor fits", () => {
    fc.assert(
      fc.property(stage, fit, used, fc.integer({ min: 1, max: 3000 }), (st, f, u, short) => {
        let a;
        try {
          a = asked(st, f);
        } catch {
          return;
        }
        const node = realNode({ used: u, allocatable: { cpuMilli: a.cpu + u.cpuMilli - short, memoryMi: 1e7 } });
        const nodes = [node, ...kwokNodes];
        const problems = checkClusterFit("local", a.raw, nodes);
        expect(problems.length).toBeGreaterThan(0);
        const msg = problems.map((p) => formatProblem("local", p)).join("\n");
        expect(msg).toMatch(/^stack local: target\.fit /);
        expect(msg).toContain("stagecraft-node");
        if (a.cpu - short >= a.biggest("cpuMilli")) expect(msg).toContain(`${short}m CPU more allocatable`);
        const m = /'target\.fit\.cpu' ([\d.]+)/.exec(problems[0].fix);
        if (m) {
          const fixed = localRaw(st, { ...localTarget, fit: { ...f, cpu: Number(m[1]) } });
          expect(checkClusterFit("local", fixed, nodes)).toEqual([]);
        }
      }),
      settings,
    );
  });
});
