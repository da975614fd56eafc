/**
 * Bad EKS targets are refused before any resource exists, each with the stack, the field path, why,
 * and a fix that really fixes it (the fix command is applied and the rules re-run).
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { NLB_ANNOTATIONS } from "../../../spec/target";
import { EKS_VERSION_WINDOW } from "../../../aws/eksSupport";
import { formatProblem, type SpecProblem } from "../../../spec/errors";
import { stageModel } from "../../../model/stage";
import { validateStack } from "../../../validate/validateStack";
import type { Spec } from "../../../spec/schema";
import { readStackFile } from "../../../spec/stackFile";
import { Target, type EksTargetSpec } from "../../../spec/target";
import { ROOT } from "../../lib/paths";
import { checkEksTarget } from "../../../validate/targetRules";

const STAGES = ["mvc", "split", "micro", "ddd"] as const;

function stageSpec(stage: string): Spec {
  const { stack, raw } = readStackFile(path.join(ROOT, "stacks", `Pulumi.${stage}.yaml`));
  const secrets = Object.fromEntries(Object.keys(raw.secrets).map((k) => [k, "secret" as const]));
  return validateStack(stack, { ...raw, secrets }).spec;
}

/** The example target block (test/fixtures/eks-target.yaml), raw as a stack file holds it. */
function exampleRaw(): Record<string, unknown> {
  const doc = parse(fs.readFileSync(path.join(ROOT, "test", "fixtures", "eks-target.yaml"), "utf8")) as {
    config: Record<string, Record<string, unknown>>;
  };
  return structuredClone(doc.config["stagecraft:target"]);
}

function eks(raw: unknown): EksTargetSpec {
  const t = Target.parse(raw);
  if (t.kind !== "eks") throw new Error("not an eks target");
  return t;
}

/** Applies `pulumi config set --path 'target.a[0].b' v --stack s` commands (joined by &&) to a raw target. */
function applyFix(raw: Record<string, unknown>, fix: string): void {
  for (const cmd of fix.split(" && ")) {
    const m = /^pulumi config set --path 'target\.([^']+)' (\S+) --stack \S+$/.exec(cmd.trim());
    if (!m) throw new Error(`not an applicable fix: ${cmd}`);
    const keys = m[1].split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== "");
    // As the Pulumi CLI stores a --path value: integers as numbers, everything else ('1.35' too) as text.
    const value: unknown = /^\d+$/.test(m[2]) ? Number(m[2]) : m[2];
    let at = raw as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) at = (at[k] ??= {}) as Record<string, unknown>;
    at[keys[keys.length - 1]] = value;
  }
}

const field = (p: SpecProblem) => [p.key, ...p.path].map(String).join(".");

describe("the example EKS target", () => {
  it.each(STAGES)("fits stage %s with no problem", (stage) => {
    expect(checkEksTarget(stage, stageModel(stageSpec(stage)), eks(exampleRaw()))).toEqual([]);
  });

  it("gets the NLB annotations when it names none", () => {
    expect(eks(exampleRaw()).loadBalancerAnnotations).toEqual(NLB_ANNOTATIONS);
    expect(NLB_ANNOTATIONS).toEqual({
      "service.beta.kubernetes.io/aws-load-balancer-type": "external",
      "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
      "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
    });
  });

  it("keeps exactly the annotations a stack gives, an empty map included", () => {
    const internal = { "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal" };
    expect(eks({ ...exampleRaw(), loadBalancerAnnotations: internal }).loadBalancerAnnotations).toEqual(internal);
    expect(eks({ ...exampleRaw(), loadBalancerAnnotations: {} }).loadBalancerAnnotations).toEqual({});
  });

  it("does not share the default map between targets (a mutation cannot leak)", () => {
    const a = eks(exampleRaw());
    a.loadBalancerAnnotations["x"] = "y";
    expect(eks(exampleRaw()).loadBalancerAnnotations).toEqual(NLB_ANNOTATIONS);
  });

  it("local targets get no annotations and no EKS rules", () => {
    for (const raw of [{ kind: "render" }, { kind: "kubeconfig" }]) {
      const t = Target.parse(raw);
      expect(t.loadBalancerAnnotations).toEqual({});
      expect(checkEksTarget("micro", stageModel(stageSpec("micro")), t)).toEqual([]);
    }
  });
});

interface BadCase {
  readonly name: string;
  readonly stage?: (typeof STAGES)[number];
  readonly edit: (raw: Record<string, unknown>) => void;
  readonly spec?: (spec: Spec) => Spec;
  /** The field the problem must name, e.g. `target.region`. */
  readonly field: string;
  readonly message: RegExp;
}

const groups = (raw: Record<string, unknown>) => raw.nodeGroups as Record<string, unknown>[];

const CASES: readonly BadCase[] = [
  { name: "unknown region", edit: (r) => (r.region = "eu-west-9"), field: "target.region", message: /not a region Stagecraft knows/ },
  { name: "GovCloud region", edit: (r) => (r.region = "us-gov-west-1"), field: "target.region", message: /GovCloud and China/ },
  {
    name: "version below the window",
    edit: (r) => (r.kubernetesVersion = "1.29"),
    field: "target.kubernetesVersion",
    message: /outside the supported window 1\.\d+–1\.\d+ \(checked \d{4}-\d{2}-\d{2}\)/,
  },
  {
    name: "version above the window",
    edit: (r) => (r.kubernetesVersion = "1.50"),
    field: "target.kubernetesVersion",
    message: /outside the supported window/,
  },
  {
    name: "instance type with no known sizes",
    edit: (r) => (groups(r)[0].instanceType = "m6i.24xlarge"),
    field: "target.nodeGroups.0.instanceType",
    message: /'m6i\.24xlarge' has no known vCPU, memory and pod limit/,
  },
  {
    name: "CIDR with host bits",
    edit: (r) => (r.vpcCidr = "10.40.7.0/16"),
    field: "target.vpcCidr",
    message: /host bits set/,
  },
  { name: "public CIDR", edit: (r) => (r.vpcCidr = "8.8.0.0/16"), field: "target.vpcCidr", message: /not in a private range/ },
  {
    name: "VPC too large",
    edit: (r) => (r.vpcCidr = "10.0.0.0/12"),
    field: "target.vpcCidr",
    message: /prefix \/12, outside \/16\.\.\/20/,
  },
  { name: "VPC too small", edit: (r) => (r.vpcCidr = "10.40.0.0/24"), field: "target.vpcCidr", message: /prefix \/24/ },
  { name: "octet out of range", edit: (r) => (r.vpcCidr = "10.300.0.0/16"), field: "target.vpcCidr", message: /not an IPv4 CIDR/ },
  {
    name: "duplicate node group names",
    edit: (r) => (groups(r)[1].name = "general"),
    field: "target.nodeGroups.1.name",
    message: /already the name of nodeGroups\[0\]/,
  },
  {
    name: "no general group",
    edit: (r) => (groups(r)[0].workloadClass = "data"),
    field: "target.nodeGroups",
    message: /has no 'general' group/,
  },
  {
    name: "data group thinner than the zones",
    edit: (r) => Object.assign(groups(r)[1], { minSize: 1, desiredSize: 1, maxSize: 1 }),
    field: "target.nodeGroups.1.minSize",
    message: /EBS volume lives in one zone/,
  },
  {
    name: "general nodes too few at rest",
    stage: "micro",
    edit: (r) => {
      Object.assign(groups(r)[0], { instanceType: "m6i.large", minSize: 2, desiredSize: 2, maxSize: 2 });
      r.nodeGroups = [groups(r)[0]];
    },
    field: "target.nodeGroups.0.desiredSize",
    message: /gives 2 'general' nodes at rest, but the 'general' pods \(.*kong.*mysql.*cluster add-ons\) need \d+ at \d+m CPU/,
  },
  {
    name: "general nodes too few at peak (HPA maximum)",
    stage: "micro",
    edit: (r) => Object.assign(groups(r)[0], { instanceType: "m6i.large", minSize: 3, desiredSize: 3, maxSize: 3 }),
    field: "target.nodeGroups.0.maxSize",
    message: /gives 3 'general' nodes at peak \(every HPA at its maximum\)/,
  },
  {
    // 3Gi MySQL pods: one per t3.medium with etcd beside it, so Redis needs a fourth data node.
    name: "data pods need the data group's room",
    stage: "micro",
    spec: (s) => ({ ...s, data: { ...s.data, mysql: { ...s.data.mysql, resources: { ...s.data.mysql.resources, memory: "3Gi" } } } }),
    edit: (r) => Object.assign(groups(r)[1], { instanceType: "t3.medium" }),
    field: "target.nodeGroups.1.desiredSize",
    message: /'data' nodes at rest, but the 'data' pods \(mysql, mysql-replica, redis, etcd\) need/,
  },
];

describe("bad EKS targets", () => {
  it.each(CASES)("$name: names the field, says why, and the fix fixes it", (c) => {
    const stage = c.stage ?? "micro";
    const spec = (c.spec ?? ((x: Spec) => x))(stageSpec(stage));
    const raw = exampleRaw();
    c.edit(raw);
    const problems = checkEksTarget(stage, stageModel(spec), eks(raw));
    const hit = problems.find((p) => field(p) === c.field && c.message.test(p.message));
    expect(hit).toBeDefined();
    if (!hit) return;
    const line = formatProblem(stage, hit);
    expect(line).toMatch(new RegExp(`^stack ${stage}: target\\.`));
    expect(line).toContain(". Fix: ");
    expect(hit.fix).toContain(`--stack ${stage}`);
    applyFix(raw, hit.fix.split(", or ")[0]);
    const after = checkEksTarget(stage, stageModel(spec), eks(raw)).filter((p) => field(p) === c.field);
    expect(after).toEqual([]);
  });

  it("reports every problem at once, not the first only", () => {
    const raw = exampleRaw();
    raw.region = "xx-north-1";
    raw.kubernetesVersion = "1.20";
    raw.vpcCidr = "8.8.0.0/16";
    const fields = checkEksTarget("micro", stageModel(stageSpec("micro")), eks(raw)).map(field);
    expect(fields).toEqual(expect.arrayContaining(["target.region", "target.kubernetesVersion", "target.vpcCidr"]));
  });

  it("suggests the nearest known region and the newest version of the window", () => {
    const raw = exampleRaw();
    raw.region = "eu-wset-1";
    raw.kubernetesVersion = "1.21";
    const problems = checkEksTarget("split", stageModel(stageSpec("split")), eks(raw));
    expect(problems.find((p) => p.path[0] === "region")?.fix).toMatch(/^pulumi config set --path 'target\.region' eu-west-1 --stack split/);
    expect(problems.find((p) => p.path[0] === "kubernetesVersion")?.fix).toBe(
      `pulumi config set --path 'target.kubernetesVersion' ${EKS_VERSION_WINDOW.newest} --stack split`,
    );
  });

  it("a pod no node of the group can hold asks for a larger instance type", () => {
    const spec = stageSpec("micro");
    const big: Spec = {
      ...spec,
      data: { ...spec.data, mysql: { ...spec.data.mysql, resources: { ...spec.data.mysql.resources, memory: "8Gi" } } },
    };
    const raw = exampleRaw();
    groups(raw)[1].instanceType = "t3.medium";
    const problems = checkEksTarget("micro", stageModel(big), eks(raw));
    const hit = problems.find((p) => field(p) === "target.nodeGroups.1.instanceType");
    expect(hit?.message).toMatch(/too small for the 'data' pods: a pod requesting 1000m CPU and 8192Mi memory does not fit/);
    // The smallest type that holds an 8Gi pod after reservations (t3.large's 8 GiB does not), not merely a bigger one.
    expect(hit?.fix).toBe("pulumi config set --path 'target.nodeGroups[1].instanceType' r6i.large --stack micro");
  });

  it("counts the data tier on general nodes when there is no data group", () => {
    const raw = exampleRaw();
    raw.nodeGroups = [{ name: "general", instanceType: "m6i.xlarge", minSize: 2, desiredSize: 2, maxSize: 2 }];
    const problems = checkEksTarget("ddd", stageModel(stageSpec("ddd")), eks(raw));
    expect(problems.map((p) => p.message).join("\n")).toMatch(/'general' pods \(.*mysql.*redis.*etcd.*cluster add-ons\)/);
  });
});
