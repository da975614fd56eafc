/** The EKS component's pure parts: address plan, zones, kubeconfig, IAM documents, placement, sizing. */
import * as path from "path";
import { classDemands, nodeCapacityOf, weakestNode } from "../../../aws/eksCapacity";
import { amiTypeFor, DATA_TAINT, DATA_TAINT_EKS, DATA_TOLERATION, dataPlacement, WORKLOAD_CLASS_LABEL } from "../../../aws/eksDefaults";
import { irsaTrustPolicy, loadBalancerControllerPolicy, serviceTrustPolicy } from "../../../aws/eksIam";
import { eksKubeconfig } from "../../../aws/eksKubeconfig";
import { formatCidr, isPrivateRange, parseCidr, pickZones, subnetPlan, subnetTags } from "../../../aws/eksNetwork";
import { EKS_VERSION_WINDOW, minorOf, versionInWindow } from "../../../aws/eksSupport";
import { validateStack } from "../../../validate/validateStack";
import { readStackFile } from "../../../spec/stackFile";
import { ROOT } from "../../lib/paths";
import { Target } from "../../../spec/target";
import { workloads } from "../../../model/workloads";

const toRange = (cidr: string) => {
  const c = parseCidr(cidr);
  if (!c) throw new Error(cidr);
  return { first: c.base, last: c.base + 2 ** (32 - c.prefix) - 1 };
};

describe("subnetPlan", () => {
  // Every allowed prefix and zone count: the domain is small enough to check whole.
  const cases = [16, 17, 18, 19, 20].flatMap((prefix) => [2, 3, 4, 5, 6].map((zones) => ({ prefix, zones })));

  it.each(cases)("/$prefix over $zones zones: subnets inside the VPC, disjoint, one pair per zone", ({ prefix, zones }) => {
    const vpc = `10.40.0.0/${prefix}`;
    const plan = subnetPlan(vpc, zones);
    expect(plan.private).toHaveLength(zones);
    expect(plan.public).toHaveLength(zones);
    const outer = toRange(vpc);
    const ranges = [...plan.private, ...plan.public].map(toRange).sort((a, b) => a.first - b.first);
    for (const r of ranges) expect(r.first >= outer.first && r.last <= outer.last).toBe(true);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i].first).toBeGreaterThan(ranges[i - 1].last);
    // AWS's smallest subnet is /28; an NLB needs 8 free addresses in each of its subnets.
    for (const s of plan.public) expect(parseCidr(s)?.prefix).toBeLessThanOrEqual(26);
  });

  it("keeps a zone's subnets where they are when zones are added", () => {
    const two = subnetPlan("10.40.0.0/16", 2);
    const three = subnetPlan("10.40.0.0/16", 3);
    expect(three.private.slice(0, 2)).toEqual(two.private);
    expect(three.public.slice(0, 2)).toEqual(two.public);
  });

  it("gives /16 the expected blocks", () => {
    expect(subnetPlan("10.40.0.0/16", 2)).toEqual({
      private: ["10.40.0.0/19", "10.40.32.0/19"],
      public: ["10.40.224.0/22", "10.40.228.0/22"],
    });
  });

  it.each(["10.40.0.1/16", "10.40.0.0/15", "10.40.0.0/21", "x"])("refuses %s", (cidr) => {
    expect(() => subnetPlan(cidr, 2)).toThrow();
  });

  it("refuses one zone and seven", () => {
    expect(() => subnetPlan("10.40.0.0/16", 1)).toThrow(/zones/);
    expect(() => subnetPlan("10.40.0.0/16", 7)).toThrow(/zones/);
  });
});

describe("CIDR helpers", () => {
  it.each([
    ["10.0.0.0/16", true],
    ["172.16.0.0/16", true],
    ["172.31.0.0/16", true],
    ["172.32.0.0/16", false],
    ["192.168.0.0/16", true],
    ["100.64.0.0/16", false],
    ["8.8.0.0/16", false],
  ])("%s private: %s", (cidr, expected) => {
    expect(isPrivateRange(parseCidr(cidr) ?? { base: 0, prefix: 0 })).toBe(expected);
  });

  it("round-trips", () => {
    for (const c of ["0.0.0.0/0", "10.40.224.0/22", "255.255.255.255/32"])
      expect(formatCidr(parseCidr(c) ?? { base: -1, prefix: 0 })).toBe(c);
    expect(parseCidr("256.0.0.0/8")).toBeUndefined();
    expect(parseCidr("10.0.0.0/33")).toBeUndefined();
  });
});

describe("pickZones", () => {
  it("skips zones EKS refuses, by zone id", () => {
    expect(pickZones(["us-east-1a", "us-east-1b", "us-east-1c"], ["use1-az3", "use1-az1", "use1-az2"], 2, "us-east-1")).toEqual([
      "us-east-1b",
      "us-east-1c",
    ]);
  });

  it("fails clearly when the region has too few", () => {
    expect(() => pickZones(["us-west-1a", "us-west-1b"], ["usw1-az1", "usw1-az2"], 2, "us-west-1")).toThrow(
      /us-west-1 offers 1 availability zones EKS accepts.*asks for 2/,
    );
  });
});

it("subnet tags name the cluster and the load balancer role", () => {
  expect(subnetTags("c", "public")).toEqual({ "kubernetes.io/role/elb": "1", "kubernetes.io/cluster/c": "shared" });
  expect(subnetTags("c", "private")).toEqual({ "kubernetes.io/role/internal-elb": "1", "kubernetes.io/cluster/c": "shared" });
});

describe("eksKubeconfig", () => {
  const args = {
    clusterName: "stagecraft-ddd",
    endpoint: "https://x.eks.amazonaws.com",
    certificateAuthorityData: "Q0E=",
    region: "eu-central-1",
  };

  it("has one cluster, user and context, and execs aws eks get-token for the cluster's region", () => {
    const k = JSON.parse(eksKubeconfig(args));
    expect(k["current-context"]).toBe("stagecraft-ddd");
    expect(k.clusters).toEqual([{ name: "stagecraft-ddd", cluster: { server: args.endpoint, "certificate-authority-data": "Q0E=" } }]);
    expect(k.contexts).toEqual([{ name: "stagecraft-ddd", context: { cluster: "stagecraft-ddd", user: "stagecraft-ddd" } }]);
    const exec = k.users[0].user.exec;
    expect(exec.apiVersion).toBe("client.authentication.k8s.io/v1beta1");
    expect(exec.args).toEqual(["eks", "get-token", "--cluster-name", "stagecraft-ddd", "--region", "eu-central-1", "--output", "json"]);
    expect(exec.env).toBeNull();
    // No static credential (token, client key, password): nothing in it expires or leaks.
    expect(Object.keys(k.users[0].user)).toEqual(["exec"]);
  });

  it("passes a profile through the environment", () => {
    expect(JSON.parse(eksKubeconfig({ ...args, profile: "ops" })).users[0].user.exec.env).toEqual([{ name: "AWS_PROFILE", value: "ops" }]);
  });
});

describe("IAM documents", () => {
  it("IRSA trust names exactly one ServiceAccount and the STS audience", () => {
    const doc = JSON.parse(irsaTrustPolicy("arn:oidc", "https://oidc.eks.x.amazonaws.com/id/AB", "stagecraft", "uploader"));
    expect(doc.Statement).toHaveLength(1);
    expect(doc.Statement[0].Condition).toEqual({
      StringEquals: {
        "oidc.eks.x.amazonaws.com/id/AB:sub": "system:serviceaccount:stagecraft:uploader",
        "oidc.eks.x.amazonaws.com/id/AB:aud": "sts.amazonaws.com",
      },
    });
    expect(JSON.stringify(doc)).not.toMatch(/StringLike|\*/);
  });

  it("service roles trust only their service", () => {
    expect(JSON.parse(serviceTrustPolicy("eks.amazonaws.com")).Statement).toEqual([
      { Effect: "Allow", Principal: { Service: "eks.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
  });

  it("the controller's policy allows no delete or modify outside this cluster's tag", () => {
    const doc = JSON.parse(loadBalancerControllerPolicy("stagecraft-mvc"));
    const statements = doc.Statement as { Action: string | string[]; Condition?: Record<string, Record<string, string>> }[];
    // Listener calls are limited to NLB listener ARNs instead; the ingress rules go on EKS's own group (see eksIam.ts).
    const mutating = (a: string) => /:(Delete|Modify|Set|RemoveTags)/.test(a) && !a.includes("Listener");
    const checked = statements.filter((st) => [st.Action].flat().some(mutating));
    expect(checked.length).toBeGreaterThanOrEqual(2);
    for (const st of checked) expect(st.Condition?.StringEquals?.["aws:ResourceTag/elbv2.k8s.aws/cluster"]).toBe("stagecraft-mvc");
    expect(JSON.stringify(doc)).not.toMatch(/"Action":"\*"|elasticloadbalancing:\*"|ec2:\*"/);
  });
});

describe("placement", () => {
  const eks = (classes: ("general" | "data")[]) =>
    Target.parse({
      kind: "eks",
      region: "eu-west-1",
      kubernetesVersion: "1.35",
      nodeGroups: classes.map((c, i) => ({
        name: `g${i}`,
        instanceType: "m6i.large",
        minSize: 2,
        desiredSize: 2,
        maxSize: 2,
        workloadClass: c,
      })),
    });

  it("pins the data tier to data nodes only when data nodes exist", () => {
    expect(dataPlacement(eks(["general", "data"]))).toEqual({
      nodeSelector: { [WORKLOAD_CLASS_LABEL]: "data" },
      tolerations: [DATA_TOLERATION],
    });
    expect(dataPlacement(eks(["general"])).nodeSelector).toBeUndefined();
    expect(dataPlacement(Target.parse({ kind: "render" })).nodeSelector).toBeUndefined();
  });

  it("the toleration matches the taint in both spellings", () => {
    expect(DATA_TOLERATION).toMatchObject({ key: DATA_TAINT.key, value: DATA_TAINT.value, effect: DATA_TAINT.effect, operator: "Equal" });
    expect(DATA_TAINT_EKS).toEqual({ key: DATA_TAINT.key, value: DATA_TAINT.value, effect: "NO_SCHEDULE" });
  });

  it.each([
    ["m6i.large", "AL2023_x86_64_STANDARD"],
    ["g4dn.xlarge", "AL2023_x86_64_STANDARD"],
    ["m7g.large", "AL2023_ARM_64_STANDARD"],
    ["c6gn.xlarge", "AL2023_ARM_64_STANDARD"],
    ["t4g.medium", "AL2023_ARM_64_STANDARD"],
  ])("%s runs the %s image", (type, ami) => {
    expect(amiTypeFor(type)).toBe(ami);
  });
});

describe("versions", () => {
  it("the window's ends are inside, their neighbours outside", () => {
    const { oldest, newest } = EKS_VERSION_WINDOW;
    expect(versionInWindow(oldest)).toBe(true);
    expect(versionInWindow(newest)).toBe(true);
    expect(versionInWindow(`1.${minorOf(oldest) - 1}`)).toBe(false);
    expect(versionInWindow(`1.${minorOf(newest) + 1}`)).toBe(false);
    // 1.4 is not 1.40: minors compare as numbers.
    expect(minorOf("1.4")).toBe(4);
  });
});

describe("sizing", () => {
  const spec = (() => {
    const { stack, raw } = readStackFile(path.join(ROOT, "stacks", "Pulumi.micro.yaml"));
    const secrets = Object.fromEntries(Object.keys(raw.secrets).map((k) => [k, "secret" as const]));
    return validateStack(stack, { ...raw, secrets }).spec;
  })();

  it("with data nodes, the data tier is counted there and nowhere else", () => {
    const d = classDemands(workloads(spec), true);
    expect(d.data.workloads).toEqual(["mysql", "mysql-replica", "redis", "etcd"]);
    expect(d.general.workloads).not.toContain("mysql");
    // etcd's three members need three distinct data nodes.
    expect(d.data.minimumNodes).toBe(3);
    const all = classDemands(workloads(spec), false);
    expect(all.data.rest).toEqual([]);
    expect(all.general.rest.length).toBe(d.general.rest.length + d.data.rest.length);
  });

  it("peak counts HPA maximums", () => {
    const d = classDemands(workloads(spec), true);
    expect(d.general.peak.length).toBeGreaterThan(d.general.rest.length);
  });

  it("the weakest node is no larger than any type in any dimension", () => {
    const w = weakestNode([nodeCapacityOf("c6i.xlarge"), nodeCapacityOf("r6i.large")]);
    expect(w.cpuMilli).toBe(nodeCapacityOf("r6i.large").cpuMilli);
    expect(w.memoryMi).toBe(nodeCapacityOf("c6i.xlarge").memoryMi);
  });
});
