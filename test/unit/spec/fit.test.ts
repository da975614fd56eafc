/**
 * The target's fit rule (spec/fit.ts) and placement: one rule that shrinks any stage onto the
 * local cluster, so the same live stack stays valid through every stage move.
 */
import * as path from "path";
import { cpuMilli, fitResources, fitSpec, memoryMi } from "../../../spec/fit";
import { readStackFile } from "../../../spec/stackFile";
import { validateStack } from "../../../validate/validateStack";
import { SpecError } from "../../../spec/errors";
import { ROOT } from "../../lib/paths";

const STAGES = ["mvc", "split", "micro", "ddd"];
const local = readStackFile(path.join(ROOT, "stacks/Pulumi.local.yaml"));
const localTarget = local.raw.target as Record<string, unknown>;

/** Stage `stage` under the local stack's target: what the stack holds after `promote --to <stage>`. */
function moved(stage: string) {
  const { raw } = readStackFile(path.join(ROOT, `stacks/Pulumi.${stage}.yaml`));
  return validateStack("local", { ...raw, target: localTarget });
}
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe("quantities", () => {
  test.each([
    ["250m", 250],
    ["1", 1000],
    ["0.5", 500],
  ])("cpu %s = %d m", (q, m) => expect(cpuMilli(q)).toBe(m));
  test.each([
    ["512Mi", 512],
    ["2Gi", 2048],
    ["1024Ki", 1],
  ])("memory %s = %d Mi", (q, m) => expect(memoryMi(q)).toBe(m));
  test("a bad quantity names itself", () => expect(() => cpuMilli("1 core")).toThrow(/'1 core' is not a CPU quantity/));
});

describe("fitResources", () => {
  test("requests shrink; limits keep the stage's own (the default: twice the original request)", () => {
    expect(fitResources({ cpu: "500m", memory: "512Mi", ephemeralStorage: "256Mi" }, { cpu: 0.1, memory: 0.5 })).toEqual({
      cpu: "50m",
      memory: "256Mi",
      cpuLimit: "1000m",
      memoryLimit: "1024Mi",
      ephemeralStorage: "256Mi",
    });
    expect(fitResources({ cpu: "1", memory: "2Gi", cpuLimit: "3", ephemeralStorage: "1Gi" }, { cpu: 0.1, memory: 1 }).cpuLimit).toBe("3");
  });
  test("never below the floor", () => {
    expect(fitResources({ cpu: "10m", memory: "20Mi", ephemeralStorage: "64Mi" }, { cpu: 0.01, memory: 0.01 })).toMatchObject({
      cpu: "5m",
      memory: "16Mi",
    });
  });
  test("factors of 1 change nothing", () => {
    const r = { cpu: "1", memory: "1Gi", ephemeralStorage: "64Mi" };
    expect(fitResources(r, { cpu: 1, memory: 1 })).toBe(r);
  });
});

describe("the local stack's fit holds for every stage (the same target through every move)", () => {
  test.each(STAGES)("stage %s validates under the local target and fits in 1.5 of the node's 2 cores", (stage) => {
    const { model, spec } = moved(stage);
    // Kong is placed on the KWOK nodes (no container): its requests use none of the real node.
    const real = model.workloads.filter((w) => w.name !== "kong");
    const cpu = sum(real.flatMap((w) => Array.from({ length: w.replicas }, () => w.request.cpuMilli)));
    expect(cpu).toBeLessThanOrEqual(1500);
    for (const s of spec.services) expect(s.replicas).toBeLessThanOrEqual(2);
    if (spec.data.etcd) expect(spec.data.etcd.members).toBe(3);
    if (spec.edge.kong) expect(spec.edge.kong.replicas).toBeGreaterThanOrEqual(2);
  });

  test("read replicas are capped, never dropped; the stage file itself is untouched", () => {
    const { raw } = readStackFile(path.join(ROOT, "stacks/Pulumi.split.yaml"));
    const own = validateStack("split", raw).spec;
    const fitted = fitSpec(own, { cpu: 0.15, memory: 0.5, maxReplicas: 1 });
    expect(own.data.mysql.readReplicas).toBeGreaterThan(1);
    expect(fitted.data.mysql.readReplicas).toBe(1);
    expect(fitted.data.mysql.innodbBufferPool).toBe(`${memoryMi(own.data.mysql.innodbBufferPool) / 2}Mi`);
    expect(validateStack("split", raw).spec).toEqual(own);
  });

  test("no fit, no change", () => {
    const { raw } = readStackFile(path.join(ROOT, "stacks/Pulumi.mvc.yaml"));
    const { spec } = validateStack("mvc", raw);
    expect(fitSpec(spec, undefined)).toBe(spec);
  });
});

describe("target fields are validated, naming the stack, the field and the fix", () => {
  const withTarget = (t: Record<string, unknown>) => () => validateStack("local", { ...local.raw, target: { ...localTarget, ...t } });
  test.each([
    [{ fit: { cpu: 0 } }, /target\.fit\.cpu/],
    [{ fit: { cpu: 1.5 } }, /target\.fit\.cpu/],
    [{ fit: { maxReplicas: 0 } }, /target\.fit\.maxReplicas/],
    [{ fit: { cores: 2 } }, /target\.fit/],
    [{ placement: { nginx: {} } }, /target\.placement/],
    [{ placement: { kong: { tolerations: [{ key: "k", operator: "Maybe" }] } } }, /target\.placement\.kong\.tolerations/],
  ])("%j", (t, field) => {
    expect(withTarget(t)).toThrow(SpecError);
    expect(withTarget(t)).toThrow(field);
    expect(withTarget(t)).toThrow(/stack local/);
  });
});

test("the committed local stack holds one stage's spec exactly as its stage file has it (only the target differs)", () => {
  const specs = STAGES.map((s) => readStackFile(path.join(ROOT, `stacks/Pulumi.${s}.yaml`)).raw.spec);
  expect(specs).toContainEqual(local.raw.spec);
});
