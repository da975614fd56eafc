import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import {
  applyPhases,
  applyStream,
  benchStackText,
  benchVolumes,
  fillSecrets,
  jobsDone,
  maskedSecrets,
  previewObjects,
  sectionOf,
  since,
  timeline,
  waitsOf,
  withHeadroom,
  withSection,
} from "../../../scripts/lib/benchNode";
import { ROOT } from "../../lib/paths";

const read = (f: string) => fs.readFileSync(path.join(ROOT, "stacks", f), "utf8");

describe("benchStackText", () => {
  const text = benchStackText(read("Pulumi.local.yaml"), read("Pulumi.micro.yaml"), "/k/kubeconfig", "bench-pulumi-micro");
  const config = (parse(text) as { config: Record<string, unknown> }).config;
  const local = (parse(read("Pulumi.local.yaml")) as { config: Record<string, unknown> }).config;
  const micro = (parse(read("Pulumi.micro.yaml")) as { config: Record<string, unknown> }).config;

  it("holds the stage's spec and the local target, moved to the bench namespace and kubeconfig", () => {
    expect(config["stagecraft:spec"]).toEqual(micro["stagecraft:spec"]);
    expect(config["stagecraft:target"]).toEqual({
      ...(local["stagecraft:target"] as object),
      kubeconfig: "/k/kubeconfig",
      namespace: "bench-pulumi-micro",
    });
  });

  it("keeps the local stack's secrets and salt", () => {
    expect(config["stagecraft:secretSeed"]).toEqual(local["stagecraft:secretSeed"]);
    expect(text).toContain((parse(read("Pulumi.local.yaml")) as { encryptionsalt: string }).encryptionsalt);
  });

  it("lowers fit.cpu when asked, and only that", () => {
    const lower = (
      parse(benchStackText(read("Pulumi.local.yaml"), read("Pulumi.micro.yaml"), "/k/kubeconfig", "bench-pulumi-micro", 0.08)) as {
        config: Record<string, { fit?: Record<string, unknown> }>;
      }
    ).config["stagecraft:target"];
    const fit = (local["stagecraft:target"] as { fit: Record<string, unknown> }).fit;
    expect(lower.fit).toEqual({ ...fit, cpu: 0.08 });
    expect(fit.cpu).not.toBe(0.08);
  });

  it("refuses any namespace but a bench one", () => {
    expect(() => benchStackText(read("Pulumi.local.yaml"), read("Pulumi.mvc.yaml"), "/k", "stagecraft")).toThrow(/bench-/);
  });

  it("refuses a local stack that is not a kubeconfig target", () => {
    expect(() => benchStackText(read("Pulumi.mvc.yaml"), read("Pulumi.mvc.yaml"), "/k", "bench-x")).toThrow(/kubeconfig/);
  });
});

const step = (type: string, inputs: unknown, extra: Record<string, unknown> = {}) => ({
  op: "create",
  urn: `urn:${type}`,
  newState: { type, custom: true, inputs },
  ...extra,
});
const obj = (kind: string, name: string, namespace?: string, rest: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
  ...rest,
});

describe("previewObjects", () => {
  const ns = "bench-kubectl-mvc";
  const preview = (steps: unknown[]) => JSON.stringify({ steps });

  it("keeps the Kubernetes objects, Namespace first, and drops components and providers", () => {
    const out = previewObjects(
      preview([
        { op: "create", newState: { type: "pulumi:pulumi:Stack", custom: false } },
        step("pulumi:providers:kubernetes", {}),
        { op: "create", newState: { type: "kubernetes:helm.sh/v4:Chart", custom: false, inputs: {} } },
        step("kubernetes:core/v1:ConfigMap", obj("ConfigMap", "a", ns)),
        step("kubernetes:core/v1:Namespace", obj("Namespace", ns)),
      ]),
      ns,
    );
    expect(out.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([`Namespace/${ns}`, "ConfigMap/a"]);
  });

  it("unwraps secret values", () => {
    const secret = obj("Secret", "s", ns, {
      stringData: { password: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: '"hunter2"' } },
    });
    const out = previewObjects(
      preview([step("kubernetes:core/v1:Namespace", obj("Namespace", ns)), step("kubernetes:core/v1:Secret", secret)]),
      ns,
    );
    expect(out[1].stringData).toEqual({ password: "hunter2" });
  });

  it("refuses masked secrets, unknowns, other namespaces and a stack that is not empty", () => {
    const base = step("kubernetes:core/v1:Namespace", obj("Namespace", ns));
    const masked = step("kubernetes:core/v1:ConfigMap", obj("ConfigMap", "c", ns, { data: { p: "[secret]" } }));
    expect(() => previewObjects(preview([base, masked]), ns)).toThrow(/masked outside a Secret/);
    const maskedName = step("kubernetes:core/v1:Secret", obj("Secret", "s", ns, { metadata: { name: "[secret]", namespace: ns } }));
    expect(() => previewObjects(preview([base, maskedName]), ns)).toThrow(/masked outside a Secret/);
    const unknown = step(
      "kubernetes:core/v1:ConfigMap",
      obj("ConfigMap", "c", ns, { data: { a: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" } }),
    );
    expect(() => previewObjects(preview([base, unknown]), ns)).toThrow(/unknown/);
    const live = step("kubernetes:core/v1:ConfigMap", obj("ConfigMap", "c", "stagecraft"));
    expect(() => previewObjects(preview([base, live]), ns)).toThrow(/not in namespace/);
    const clusterScoped = step("kubernetes:rbac/v1:ClusterRole", obj("ClusterRole", "r"));
    expect(() => previewObjects(preview([base, clusterScoped]), ns)).toThrow(/not in namespace/);
    expect(() => previewObjects(preview([step("kubernetes:core/v1:Namespace", obj("Namespace", "stagecraft"))]), ns)).toThrow(
      /not in namespace/,
    );
    expect(() => previewObjects(preview([{ ...base, op: "same" }]), ns)).toThrow(/not empty/);
    expect(() => previewObjects(preview([]), ns)).toThrow(/no Namespace/);
  });

  it("keeps a Secret's masked values for fillSecrets, and names those Secrets", () => {
    const sig = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "[secret]" };
    const out = previewObjects(
      preview([
        step("kubernetes:core/v1:Namespace", obj("Namespace", ns)),
        step("kubernetes:core/v1:Secret", obj("Secret", "whole", ns, { stringData: "[secret]" })),
        step("kubernetes:core/v1:Secret", obj("Secret", "keys", ns, { stringData: { root: sig, repl: "[secret]" } })),
        step("kubernetes:core/v1:Secret", obj("Secret", "shown", ns, { stringData: { a: "b" } })),
      ]),
      ns,
    );
    expect(out.find((o) => o.metadata.name === "keys")?.stringData).toEqual({ root: "[secret]", repl: "[secret]" });
    expect(maskedSecrets(out)).toEqual(["whole", "keys"]);
  });

  it("fills masked Secrets from another namespace's live ones, moved to this namespace", () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const live = JSON.stringify({
      items: [
        {
          metadata: { name: "keys", namespace: "bench-pulumi-mvc" },
          data: { root: b64("pw1"), url: b64("http://x.bench-pulumi-mvc.svc") },
        },
        { metadata: { name: "shown" }, data: { a: b64("other") } },
      ],
    });
    const objects = [
      obj("Namespace", ns),
      obj("Secret", "keys", ns, { type: "Opaque", stringData: { root: "[secret]", url: "[secret]" } }),
      obj("Secret", "shown", ns, { stringData: { a: "b" } }),
    ] as never;
    const out = fillSecrets(objects, live, "bench-pulumi-mvc", ns);
    expect(out[1]).toEqual(obj("Secret", "keys", ns, { type: "Opaque", data: { root: b64("pw1"), url: b64(`http://x.${ns}.svc`) } }));
    expect(out[2]).toBe(objects[2]);
    expect(maskedSecrets(out)).toEqual([]);
    expect(() => fillSecrets(objects, JSON.stringify({ items: [] }), "bench-pulumi-mvc", ns)).toThrow(/not in namespace bench-pulumi-mvc/);
  });

  it("streams JSON documents", () => {
    const objects = [obj("Namespace", ns), obj("ConfigMap", "a", ns, { data: { x: "off" } })];
    expect(
      applyStream(objects as never)
        .split("\n---\n")
        .map((d) => JSON.parse(d) as unknown),
    ).toEqual(objects);
  });
});

describe("benchVolumes", () => {
  const pvs = JSON.stringify({
    items: [
      { metadata: { name: "pv-live" }, spec: { claimRef: { namespace: "stagecraft" } } },
      { metadata: { name: "pv-a" }, spec: { claimRef: { namespace: "bench-pulumi-mvc" } } },
      { metadata: { name: "pv-free" }, spec: {} },
      { metadata: { name: "pv-b" }, spec: { claimRef: { namespace: "bench-kubectl-mvc" } } },
    ],
  });

  it("names only the volumes claimed from the bench namespaces", () => {
    expect(benchVolumes(pvs, ["bench-pulumi-mvc", "bench-kubectl-mvc"])).toEqual(["pv-a", "pv-b"]);
    expect(benchVolumes(pvs, ["bench-pulumi-ddd"])).toEqual([]);
  });

  it("refuses to look for volumes of a namespace that is not the bench's", () => {
    expect(() => benchVolumes(pvs, ["stagecraft"])).toThrow(/not a bench namespace/);
  });
});

describe("timeline", () => {
  const t = (s: number) => new Date(Date.UTC(2026, 11, 1, 6, 0, s)).toISOString();
  const ready = (s: number) => ({ conditions: [{ type: "Ready", status: "True", lastTransitionTime: t(s) }] });
  const list = {
    items: [
      { kind: "Deployment", metadata: { name: "celery", creationTimestamp: t(3) } },
      { kind: "Deployment", metadata: { name: "celery-default", creationTimestamp: t(2) } },
      { kind: "StatefulSet", metadata: { name: "mysql", creationTimestamp: t(1) } },
      { kind: "Job", metadata: { name: "migrate", creationTimestamp: t(4) }, status: { completionTime: t(9) } },
      { kind: "Job", metadata: { name: "stuck", creationTimestamp: t(4) }, status: {} },
      {
        kind: "Pod",
        metadata: { name: "mysql-0", ownerReferences: [{ kind: "StatefulSet", name: "mysql" }] },
        status: ready(6),
      },
      {
        kind: "Pod",
        metadata: {
          name: "cd-1",
          labels: { "pod-template-hash": "abc" },
          ownerReferences: [{ kind: "ReplicaSet", name: "celery-default-abc" }],
        },
        status: ready(8),
      },
      {
        kind: "Pod",
        metadata: {
          name: "cd-2",
          labels: { "pod-template-hash": "abc" },
          ownerReferences: [{ kind: "ReplicaSet", name: "celery-default-abc" }],
        },
        status: ready(12),
      },
      {
        kind: "Pod",
        metadata: { name: "c-1", labels: { "pod-template-hash": "xyz" }, ownerReferences: [{ kind: "ReplicaSet", name: "celery-xyz" }] },
        status: { conditions: [{ type: "Ready", status: "False" }] },
      },
    ],
  };

  it("gives each workload its creation and its last pod's Ready (a Job: its completion), by creation", () => {
    expect(timeline(JSON.stringify(list))).toEqual([
      { kind: "StatefulSet", name: "mysql", created: t(1), done: t(6) },
      { kind: "Deployment", name: "celery-default", created: t(2), done: t(12) },
      { kind: "Deployment", name: "celery", created: t(3), done: undefined },
      { kind: "Job", name: "migrate", created: t(4), done: t(9) },
      { kind: "Job", name: "stuck", created: t(4), done: undefined },
    ]);
  });

  it("measures seconds from a start", () => {
    expect(since(Date.parse(t(1)), t(13))).toBe(12);
    expect(since(0, undefined)).toBeUndefined();
  });
});

describe("sectionOf / withSection", () => {
  const md = "# B\n\n## 4. four\n\nfour's text\n\n## 5. five\n\nold\n### sub\nold too\n\n## 6. six\n\nsix's text\n";

  it("finds a section up to the next heading of its level", () => {
    expect(sectionOf(md, "## 5.")).toBe("## 5. five\n\nold\n### sub\nold too\n");
    expect(sectionOf(md, "## 6.")).toBe("## 6. six\n\nsix's text\n");
    expect(sectionOf(md, "## 7.")).toBeUndefined();
    expect(() => sectionOf(md, "5.")).toThrow(/heading/);
  });

  it("replaces a section in place, leaving the others as they were", () => {
    const out = withSection(md, "## 5.", "## 5. five\n\nnew");
    expect(out).toBe("# B\n\n## 4. four\n\nfour's text\n\n## 5. five\n\nnew\n\n## 6. six\n\nsix's text\n");
    expect(withSection(out, "## 5.", "## 5. five\n\nnew")).toBe(out);
  });

  it("appends a section the document lacks", () => {
    expect(withSection("# B\n\ntext\n\n", "## 5.", "## 5. five\n")).toBe("# B\n\ntext\n\n## 5. five\n");
  });
});

describe("applyPhases / waitsOf / jobsDone", () => {
  const ns = "bench-kubectl-mvc";
  const tiered = (kind: string, name: string, tier?: string) => ({
    apiVersion: "v1",
    kind,
    metadata: { name, namespace: ns, ...(tier ? { labels: { "stagecraft.dev/tier": tier } } : {}) },
  });
  const objects = [
    tiered("Deployment", "web", "app"),
    tiered("NetworkPolicy", "deny", "platform"),
    tiered("StatefulSet", "mysql", "data"),
    tiered("Job", "mysql-bootstrap", "data"),
    tiered("Namespace", ns, "platform"),
    tiered("Job", "web-migrate", "app"),
    tiered("Deployment", "nginx", "edge"),
    tiered("ConfigMap", "plain"),
  ];

  it("puts the Namespace, the platform and the data tier first, then the app and edge tiers", () => {
    const phases = applyPhases(objects as never);
    expect(phases.map((p) => p.map((o) => o.metadata.name))).toEqual([
      [ns, "deny", "mysql", "mysql-bootstrap", "plain"],
      ["web", "web-migrate", "nginx"],
    ]);
    expect(phases.flat()).toHaveLength(objects.length);
    expect(applyPhases(objects.slice(1, 4) as never)).toHaveLength(1);
  });

  it("waits for each phase's rollouts and Jobs", () => {
    const [data, app] = applyPhases(objects as never);
    expect(waitsOf(data)).toEqual({ rollouts: ["statefulset/mysql"], jobs: ["job/mysql-bootstrap"] });
    expect(waitsOf(app)).toEqual({ rollouts: ["deployment/web", "deployment/nginx"], jobs: ["job/web-migrate"] });
  });

  it("tells complete Jobs, running ones and failed ones apart", () => {
    const jobs = (conditions: unknown[]) =>
      JSON.stringify({ items: [{ metadata: { name: "a" }, status: { conditions } }, { metadata: { name: "b" } }] });
    expect(jobsDone(jobs([{ type: "Complete", status: "True" }]), ["job/a"])).toBe(true);
    expect(jobsDone(jobs([{ type: "Complete", status: "True" }]), ["job/a", "job/b"])).toBe(false);
    expect(jobsDone(jobs([]), ["job/a"])).toBe(false);
    expect(jobsDone(jobs([]), ["job/missing"])).toBe(false);
    expect(() => jobsDone(jobs([{ type: "Failed", status: "True", message: "BackoffLimitExceeded" }]), ["job/a"])).toThrow(
      /job\/a failed: BackoffLimitExceeded/,
    );
  });
});

describe("withHeadroom", () => {
  const node = (name: string, fake: boolean) => ({
    name,
    labels: {},
    taints: [],
    schedulable: true,
    fake,
    allocatable: { cpuMilli: 2000, memoryMi: 1000 },
    used: { cpuMilli: 100, memoryMi: 10 },
  });

  it("takes CPU from the real nodes only", () => {
    const [real, kwok] = withHeadroom([node("real", false), node("kwok", true)], 250);
    expect(real.used).toEqual({ cpuMilli: 350, memoryMi: 10 });
    expect(kwok).toEqual(node("kwok", true));
  });
});
