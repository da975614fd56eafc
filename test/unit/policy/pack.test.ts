/** The rules as @pulumi/policy policies: names, levels, and violations reported with the rule's name. */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { toPolicies } from "../../../policy/pack";
import { RULES } from "../../../policy/rules";
import { deployment, goodContainer, store } from "./resources";

const policies = toPolicies(RULES);
const byName = (n: string) => policies.find((p) => p.name === n);

describe("policy pack wiring", () => {
  test("every rule becomes one policy with its level; names are unique", () => {
    expect(policies.map((p) => [p.name, p.enforcementLevel])).toEqual(RULES.map((r) => [r.name, r.level]));
    expect(new Set(policies.map((p) => p.name)).size).toBe(policies.length);
  });

  test("a resource violation is reported with the rule's name first", async () => {
    const p = byName("workload-image-pinned") as ResourceValidationPolicy;
    const w = deployment("web", [goodContainer({ image: "nginx" })]);
    const reported: string[] = [];
    const validate = p.validateResource as NonNullable<ResourceValidationPolicy["validateResource"]> & ((...a: unknown[]) => void);
    await validate(
      {
        ...w,
        opts: {
          protect: false,
          ignoreChanges: [],
          aliases: [],
          additionalSecretOutputs: [],
          customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        },
      } as never,
      (m: string) => reported.push(m),
    );
    expect(reported).toEqual([
      "workload-image-pinned: Deployment stagecraft/web container web uses image 'nginx' without a tag. Fix: pin a version (nginx:<version>)",
    ]);
  });

  test("a stack violation is reported against the offending resource's URN", async () => {
    const p = byName("etcd-quorum") as StackValidationPolicy;
    const etcd = store("etcd", "registry", "quay.io/coreos/etcd:v3.5.17", 2);
    const reported: [string, string | undefined][] = [];
    await p.validateStack({ resources: [{ ...etcd, opts: {} }] } as never, (m: string, urn?: string) => reported.push([m, urn]));
    expect(reported.map(([m, u]) => [m.split(":")[0], u])).toEqual([
      ["etcd-quorum", etcd.urn],
      ["etcd-quorum", etcd.urn],
    ]);
  });
});
