import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parsePreview, parseUrn, valueAtPath, type PreviewDigest, type PreviewStep } from "../../../../cli/summarise/preview";
import { changesOf, policyBreadth, redFlags, summaryMarkdown } from "../../../../cli/summarise/summary";
import { summariseCommand } from "../../../../cli/summarise/summarise";
import { stageModel } from "../../../../model/stage";
import { validateStack } from "../../../../validate/validateStack";
import { ROOT } from "../../../lib/paths";
import { readStackFile } from "../../../../spec/stackFile";

const FIXTURES = path.join(ROOT, "test/fixtures/previews");
const STACKS = path.join(ROOT, "stacks");
const load = (name: string) => parsePreview(fs.readFileSync(path.join(FIXTURES, name), "utf8"), name);
const redflag = load("redflag.json");
const benign = load("benign.json");

/** A step in the engine's shape, for cases the recorded previews do not hold. */
function step(
  op: string,
  type: string,
  name: string,
  inputs: { old?: Record<string, unknown>; new?: Record<string, unknown> },
  extra: Partial<PreviewStep> = {},
): PreviewStep {
  const urn = `urn:pulumi:micro::stagecraft::stagecraft:stage:Stage$stagecraft:data:RedisCache$${type}::${name}`;
  const parent = "urn:pulumi:micro::stagecraft::stagecraft:stage:Stage$stagecraft:data:RedisCache::redis";
  const state = (i: Record<string, unknown>) => ({ urn, custom: true, type, inputs: i, parent });
  return {
    op,
    urn,
    ...(inputs.old ? { oldState: state(inputs.old) } : {}),
    ...(inputs.new ? { newState: state(inputs.new) } : {}),
    detailedDiff: null,
    ...extra,
  };
}
const digest = (...steps: PreviewStep[]): PreviewDigest => ({ steps });

describe("recorded preview with red flags", () => {
  const md = summaryMarkdown(redflag);
  const flags = redFlags(changesOf(redflag));

  test("the counts, unchanged resources not listed", () => {
    expect(md).toContain("2 to replace · 1 to delete · 3 to update (10 unchanged, not listed)");
    expect(md).not.toMatch(/kong-proxy|mysql-admin|stagecraft-micro/);
  });

  test("red flags come first, the worst first", () => {
    expect(md.indexOf("#### Red flags (7)")).toBeLessThan(md.indexOf("#### Changes by tier"));
    expect(flags.map((f) => [f.kind, f.change?.op, f.change?.kind, f.change?.name])).toEqual([
      ["data-loss", "replace", "StatefulSet", "mysql"],
      ["data-loss", "delete", "PersistentVolumeClaim", "mysql-backup"],
      ["data-loss", "replace", "Secret", "kong-secrets"],
      ["quorum", "update", "StatefulSet", "etcd"],
      ["kong-config", "replace", "Secret", "kong-secrets"],
      ["kong-config", "update", "Deployment", "kong"],
      ["network-policy", "update", "NetworkPolicy", "web"],
    ]);
    const lines = md.split("\n").filter((l) => l.startsWith("- **"));
    expect(lines[0]).toMatch(/^- \*\*replace\*\* StatefulSet `mysql` \(data · MySqlCluster mysql\): this is the MySQL primary/);
    expect(md).toContain("etcd would run 2 members: below 3, losing one member loses quorum");
    expect(md).toContain("the NetworkPolicy opens wider: ingress peers 1 → 2");
  });

  test("changes are grouped by tier (from the label) and component (from the URN)", () => {
    const tiers = [...md.matchAll(/^\*\*(\w+)\*\*$/gm)].map((m) => m[1]);
    expect(tiers).toEqual(["data", "app", "edge"]);
    expect(md).toMatch(
      /- MySqlCluster mysql\n {2}- \*\*replace\*\* StatefulSet `mysql`: `spec.serviceName` `mysql` → `mysql-primary` \(forces replacement\)/,
    );
    expect(md).toContain("  - **update** StatefulSet `etcd`: `spec.replicas` 3 → 2");
  });

  test("a Secret's values never appear, even the recorded masked ones", () => {
    expect(md).not.toContain("[secret]");
    expect(md).not.toContain("_format_version");
    expect(md).toContain('**replace** Secret `kong-secrets`: `data["kong.yml"]` (forces replacement)');
  });
});

describe("recorded real preview: the micro stack moving from the split stage", () => {
  // Recorded with the real engine and Stagecraft's own program: stack micro brought up with split's
  // spec, then previewed with micro's (see test/fixtures/previews/README.md).
  const real = load("micro-from-split.json");
  const md = summaryMarkdown(real);
  const flags = redFlags(changesOf(real));

  test("the data tier moves in place: no data-loss flag, the MySQL StatefulSets are updates", () => {
    expect(flags.filter((f) => f.kind === "data-loss")).toEqual([]);
    const mysql = changesOf(real).filter((c) => c.kind === "StatefulSet" && c.name.startsWith("mysql"));
    expect(mysql.map((c) => [c.name, c.op])).toEqual(
      expect.arrayContaining([
        ["mysql", "update"],
        ["mysql-replica", "update"],
      ]),
    );
  });

  test("services that change kind (web -> rpc) keep their Kubernetes names under new URNs: flagged, one line per component", () => {
    expect(flags.map((f) => f.kind)).toEqual(["same-object", "same-object", "network-policy", "network-policy"]);
    expect(md).toMatch(
      /- \*\*delete \+ create\*\* WebService account → RpcService account: ConfigMap `account-config`, Deployment `account`, .*alias the new resources/,
    );
    expect(md).toContain(
      "NetworkPolicy `allow-web` (platform · CallGraphPolicies network-policies): the NetworkPolicy opens wider: egress peers 6 → 7",
    );
  });

  test("grouped by the real tiers and components, chart-rendered objects under their component", () => {
    expect([...md.matchAll(/^\*\*(\w+)\*\*$/gm)].map((m) => m[1])).toEqual(["platform", "data", "app", "edge"]);
    for (const component of [
      "RpcService account",
      "RpcService feed",
      "WebService web",
      "KongGateway kong",
      "NginxLoadBalancer nginx",
      "EtcdCluster etcd",
    ])
      expect(md).toContain(`\n- ${component}\n`);
    expect(md).toContain(
      "  - **create** Deployment `kong`, PodDisruptionBudget `kong`, Secret `kong-secrets`, Service `kong-proxy`, ServiceAccount `kong`",
    );
    expect(md).not.toContain("[secret]");
  });
});

describe("recorded benign preview", () => {
  const md = summaryMarkdown(benign);

  test("no red flags, and says so", () => {
    expect(redFlags(changesOf(benign))).toEqual([]);
    expect(md).toContain("No red flags.");
    expect(md).not.toContain("#### Red flags");
  });

  test("lists what changes with the plain values a reviewer needs", () => {
    expect(md).toContain("2 to update · 1 to create (14 unchanged, not listed)");
    expect(md).toContain(
      "**update** Deployment `web`: `spec.replicas` 3 → 4, `spec.template.spec.containers[0].image` `ghcr.io/stagecraft-demo/django-web:3.0.0` → `ghcr.io/stagecraft-demo/django-web:3.0.1`",
    );
    expect(md).toContain("**create** ConfigMap `web-flags`");
    expect(md).not.toMatch(/mysql|etcd/);
  });
});

describe("rules on hand-made steps", () => {
  test("a plaintext secret in a preview is still never printed", () => {
    const s = step(
      "update",
      "kubernetes:core/v1:Secret",
      "redis-credentials",
      {
        old: { kind: "Secret", metadata: { name: "redis-credentials" }, stringData: { password: "old-Pa55" } },
        new: { kind: "Secret", metadata: { name: "redis-credentials" }, stringData: { password: "new-Pa55" } },
      },
      { detailedDiff: { "stringData.password": { kind: "update", inputDiff: false } } },
    );
    const md = summaryMarkdown(digest(s));
    expect(md).toContain("`stringData.password`");
    expect(md).not.toMatch(/Pa55/);
  });

  test("a replacement's three steps are one replace; tier and component come from the URN without labels", () => {
    const sts = (op: string) =>
      step(op, "kubernetes:apps/v1:StatefulSet", "redis-statefulset", {
        old: { metadata: { name: "redis" } },
        new: { metadata: { name: "redis" } },
      });
    const changes = changesOf(digest(sts("create-replacement"), sts("replace"), sts("delete-replaced")));
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ op: "replace", kind: "StatefulSet", name: "redis", tier: "data", component: "RedisCache redis" });
    expect(redFlags(changes).map((f) => f.kind)).toEqual(["data-loss"]);
  });

  test("same, read and refresh steps are not changes; a StatefulSet create is no red flag", () => {
    const s = (op: string) => step(op, "kubernetes:apps/v1:StatefulSet", `x-${op}`, { new: { metadata: { name: `x-${op}` } } });
    const changes = changesOf(digest(s("same"), s("read"), s("refresh"), s("create")));
    expect(changes.map((c) => c.op)).toEqual(["create"]);
    expect(redFlags(changes)).toEqual([]);
  });

  test.each([
    [1, true],
    [2, true],
    [3, false],
    [4, true],
    [5, false],
  ])("etcd with %i members: red flag %s", (replicas, flagged) => {
    const s = step("update", "kubernetes:apps/v1:StatefulSet", "etcd-statefulset", {
      old: { metadata: { name: "etcd" }, spec: { replicas: 3 } },
      new: { metadata: { name: "etcd" }, spec: { replicas } },
    });
    expect(redFlags(changesOf(digest(s))).some((f) => f.kind === "quorum")).toBe(flagged);
  });

  test("a NetworkPolicy that loses its port list, or stops restricting egress, opens wider; a narrower one does not", () => {
    const np = (oldSpec: unknown, newSpec: unknown) =>
      redFlags(
        changesOf(
          digest(
            step("update", "kubernetes:networking.k8s.io/v1:NetworkPolicy", "p", {
              old: { metadata: { name: "p" }, spec: oldSpec },
              new: { metadata: { name: "p" }, spec: newSpec },
            }),
          ),
        ),
      );
    const peer = { podSelector: { matchLabels: { a: "b" } } };
    const rule = { from: [peer], ports: [{ port: 80 }] };
    expect(
      np({ policyTypes: ["Ingress"], ingress: [rule] }, { policyTypes: ["Ingress"], ingress: [{ from: [peer] }] })[0]?.reasons,
    ).toEqual(["the NetworkPolicy opens wider: ingress ports 1 → any"]);
    expect(np({ policyTypes: ["Ingress", "Egress"], egress: [] }, { policyTypes: ["Ingress"] })[0]?.reasons[0]).toMatch(
      /egress peers 0 → any/,
    );
    expect(np({ policyTypes: ["Ingress"], ingress: [rule, rule] }, { policyTypes: ["Ingress"], ingress: [rule] })).toEqual([]);
  });

  test("deleting a deny-all NetworkPolicy is a red flag; deleting an allow policy is not", () => {
    const del = (spec: unknown) =>
      redFlags(
        changesOf(digest(step("delete", "kubernetes:networking.k8s.io/v1:NetworkPolicy", "p", { old: { metadata: { name: "p" }, spec } }))),
      );
    expect(del({ podSelector: {}, policyTypes: ["Ingress", "Egress"] })).toHaveLength(1);
    expect(del({ podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: {} }], ports: [{ port: 80 }] }] })).toEqual(
      [],
    );
  });

  test.each<[string, unknown, "ingress" | "egress", { peers: number; ports: number }]>([
    ["no rules: denies", { policyTypes: ["Ingress"] }, "ingress", { peers: 0, ports: 0 }],
    ["a rule without from: any peer", { ingress: [{ ports: [{ port: 1 }] }] }, "ingress", { peers: Infinity, ports: 1 }],
    [
      "0.0.0.0/0 counts as any peer",
      { egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ port: 53 }] }] },
      "egress",
      { peers: Infinity, ports: 1 },
    ],
    ["egress not restricted", { policyTypes: ["Ingress"] }, "egress", { peers: Infinity, ports: Infinity }],
  ])("policyBreadth: %s", (_n, spec, dir, expected) => {
    expect(policyBreadth(spec, dir)).toEqual(expected);
  });
});

describe("connection budget", () => {
  const { stack, raw } = readStackFile(path.join(STACKS, "Pulumi.mvc.yaml"));
  const mvc = validateStack(stack, raw).spec;

  test("within 10% of max_connections is a red flag; the stage as it stands is not", () => {
    // mvc's MySQL demand at peak: web 6 × 4 × 5 = 120, migrate 2, celery 2 × 20 × 5 = 200, beat 5 → 327
    expect(stageModel(mvc).connections.mysql.demand).toBe(327);
    expect(redFlags([], stageModel(mvc).connections)).toEqual([]);
    const tight = { ...mvc, data: { ...mvc.data, mysql: { ...mvc.data.mysql, maxConnections: 350 } } };
    const flags = redFlags([], stageModel(tight).connections);
    expect(flags).toHaveLength(1);
    expect(flags[0].reasons[0]).toBe(
      "MySQL connections at peak: 327 of max_connections 350 (93%), within 10% of the limit; with headroom it needs 360",
    );
  });
});

describe("parsing", () => {
  test("not JSON, or not a preview, fails with what was expected", () => {
    expect(() => parsePreview("steps:", "x.json")).toThrow(/x.json: not JSON .* expected the output of 'pulumi preview --json'/);
    expect(() => parsePreview('{"steps": {}}', "x.json")).toThrow(/not a 'pulumi preview --json' document: steps/);
  });

  test("URNs and diff paths", () => {
    expect(parseUrn("urn:pulumi:micro::stagecraft::a:b:C$kubernetes:core/v1:Secret::kong-config")).toEqual({
      stack: "micro",
      project: "stagecraft",
      types: ["a:b:C", "kubernetes:core/v1:Secret"],
      name: "kong-config",
    });
    expect(valueAtPath({ spec: { c: [{ image: "x" }] }, data: { "kong.yml": "y" } }, "spec.c[0].image")).toBe("x");
    expect(valueAtPath({ data: { "kong.yml": "y" } }, 'data["kong.yml"]')).toBe("y");
    expect(valueAtPath({}, "a.b[3]")).toBeUndefined();
  });
});

describe("the summarise command", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "stagecraft-summarise-"));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const run = (...args: string[]) => {
    const out = path.join(tmp, "out.md");
    const code = summariseCommand([...args, "--out", out]);
    return { code, md: fs.existsSync(out) ? fs.readFileSync(out, "utf8") : "" };
  };

  test("--fail-on-red-flags exits 1 on red flags and 0 without", () => {
    expect(run(path.join(FIXTURES, "redflag.json"), "--fail-on-red-flags").code).toBe(1);
    expect(run(path.join(FIXTURES, "benign.json"), "--fail-on-red-flags").code).toBe(0);
    expect(run(path.join(FIXTURES, "redflag.json")).code).toBe(0);
  });

  test("--stack-file picks the stack the preview is for and reports its budget", () => {
    const files = ["mvc", "micro"].flatMap((s) => ["--stack-file", path.join(STACKS, `Pulumi.${s}.yaml`)]);
    const { code, md } = run(path.join(FIXTURES, "benign.json"), ...files);
    expect(code).toBe(0);
    expect(md).toMatch(/Connection budget at peak \(.*Pulumi\.micro\.yaml\): MySQL 361 of 800 \(45%\), Redis 758 of 2000 \(38%\)\./);
  });

  test("--stage overrides the stack named in the URNs", () => {
    expect(run(path.join(FIXTURES, "benign.json"), "--stage", "ddd").md).toMatch(/^### Pulumi preview of stack `ddd`/);
  });

  test("bad arguments exit 2", () => {
    const err = jest.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      expect(summariseCommand([])).toBe(2);
      expect(summariseCommand(["a.json", "--bogus"])).toBe(2);
      expect(summariseCommand([path.join(tmp, "missing.json")])).toBe(2);
    } finally {
      err.mockRestore();
    }
  });
});
