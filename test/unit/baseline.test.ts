/**
 * Stagecraft's multi-object rules (test/lib/baseline.ts): a set of good workloads passes, and each
 * rule fails on a case built by breaking exactly one thing, with no other rule firing. The
 * per-container rules are the policy pack's, tested in test/unit/policy.
 */
import { baselineViolations, formatViolation, TOKEN_ANNOTATION, type BaselineRule, type K8sObject } from "../lib/baseline";

const NS = "stagecraft";

const labels = (name: string, component: string) => ({
  "app.kubernetes.io/name": name,
  "app.kubernetes.io/instance": name,
  "app.kubernetes.io/component": component,
  "app.kubernetes.io/part-of": "stagecraft",
  "app.kubernetes.io/managed-by": "pulumi",
});
const selector = (name: string) => ({ matchLabels: { "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "stagecraft" } });
const resources = {
  requests: { cpu: "100m", memory: "128Mi", "ephemeral-storage": "256Mi" },
  limits: { cpu: "200m", memory: "256Mi", "ephemeral-storage": "512Mi" },
};
const securityContext = {
  runAsNonRoot: true,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  privileged: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};
const podSecurity = { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } };
const serviceAccount = (name: string): K8sObject => ({
  apiVersion: "v1",
  kind: "ServiceAccount",
  metadata: { name, namespace: NS, labels: labels(name, "web") },
  automountServiceAccountToken: false,
});
const podSpec = (name: string, containers: unknown[], extra: Record<string, unknown> = {}) => ({
  serviceAccountName: name,
  automountServiceAccountToken: false,
  securityContext: podSecurity,
  containers,
  ...extra,
});

/** Good workloads of every kind, with what they need around them. Fresh on every call. */
function good(): K8sObject[] {
  const web: K8sObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: NS, labels: labels("web", "web") },
    spec: {
      replicas: 2,
      selector: selector("web"),
      template: {
        metadata: { labels: labels("web", "web") },
        spec: podSpec(
          "web",
          [
            {
              name: "web",
              image: "ghcr.io/stagecraft-demo/django-web:2.0.0",
              ports: [{ name: "http", containerPort: 8000 }],
              env: [
                { name: "DJANGO_SECRET_KEY", valueFrom: { secretKeyRef: { name: "web", key: "secret-key" } } },
                { name: "MYSQL_PASSWORD_FILE", value: "/run/secrets/mysql/password" },
                { name: "REDIS_KEY_PREFIX", value: "web:" },
                { name: "REDIS_URL", value: "redis://redis:6379/0" },
              ],
              resources,
              readinessProbe: { httpGet: { path: "/ready", port: "http" }, periodSeconds: 5 },
              livenessProbe: { httpGet: { path: "/live", port: 8000 }, periodSeconds: 20 },
              securityContext,
            },
          ],
          {
            initContainers: [{ name: "wait-db", image: "docker.io/library/busybox:1.36.1", resources, securityContext }],
            topologySpreadConstraints: [
              { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule", labelSelector: selector("web") },
            ],
          },
        ),
      },
    },
  };
  const pdb: K8sObject = {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: "web", namespace: NS, labels: labels("web", "web") },
    spec: { maxUnavailable: 1, selector: selector("web") },
  };
  const redis: K8sObject = {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "redis", namespace: NS, labels: labels("redis", "cache") },
    spec: {
      replicas: 1,
      serviceName: "redis",
      selector: selector("redis"),
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
      volumeClaimTemplates: [
        { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } } } },
      ],
      template: {
        metadata: { labels: labels("redis", "cache") },
        spec: podSpec("redis", [
          {
            name: "redis",
            image: "docker.io/library/redis@sha256:" + "a".repeat(64),
            ports: [{ name: "redis", containerPort: 6379 }],
            resources,
            readinessProbe: { exec: { command: ["redis-cli", "ping"] }, periodSeconds: 5 },
            livenessProbe: { exec: { command: ["redis-cli", "ping"] }, periodSeconds: 20, failureThreshold: 6 },
            securityContext,
          },
        ]),
      },
    },
  };
  const report: K8sObject = {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "report", namespace: NS, labels: labels("report", "worker") },
    spec: {
      schedule: "0 3 * * *",
      jobTemplate: {
        spec: {
          template: {
            metadata: { labels: labels("report", "worker") },
            spec: podSpec("report", [{ name: "report", image: "ghcr.io/stagecraft-demo/report:1.0.0", resources, securityContext }], {
              restartPolicy: "OnFailure",
            }),
          },
        },
      },
    },
  };
  const shipper: K8sObject = {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "shipper", namespace: NS, labels: labels("shipper", "logging") },
    spec: {
      selector: selector("shipper"),
      template: {
        metadata: { labels: labels("shipper", "logging") },
        spec: podSpec("shipper", [
          {
            name: "shipper",
            image: "docker.io/fluent/fluent-bit:3.1.9",
            ports: [{ name: "metrics", containerPort: 2020 }],
            resources,
            readinessProbe: { httpGet: { path: "/api/v1/health", port: "metrics" } },
            livenessProbe: { tcpSocket: { port: 2020 } },
            securityContext,
          },
        ]),
      },
    },
  };
  return [
    serviceAccount("web"),
    web,
    pdb,
    serviceAccount("redis"),
    redis,
    serviceAccount("report"),
    report,
    serviceAccount("shipper"),
    shipper,
    { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: NS }, spec: { selector: selector("web").matchLabels } },
  ];
}

// ---------------------------------------------------------------------------------------------
// Editing the fixture by `Kind/name` and a field path, e.g. ("Deployment/web", "spec.replicas").

type Token = string | number;
const DELETE = Symbol("delete");

function tokens(p: string): Token[] {
  return [...p.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]));
}

class Fixture {
  // A deep copy: the fixture's shared constants (resources, securityContext) must not leak edits between objects or cases.
  readonly objects = structuredClone(good());
  private find(ref: string): K8sObject {
    const [kind, name] = ref.split("/");
    const o = this.objects.find((x) => x.kind === kind && x.metadata?.name === name);
    if (!o) throw new Error(`no ${ref} in the fixture`);
    return o;
  }
  get(ref: string, p: string): unknown {
    return tokens(p).reduce<unknown>((at, t) => (at as Record<Token, unknown>)[t], this.find(ref));
  }
  set(ref: string, p: string, value: unknown): this {
    const ts = tokens(p);
    const parent = ts.slice(0, -1).reduce<unknown>((at, t) => {
      const rec = at as Record<Token, unknown>;
      if (typeof rec[t] !== "object" || rec[t] === null) rec[t] = {};
      return rec[t];
    }, this.find(ref)) as Record<Token, unknown>;
    if (value === DELETE) delete parent[ts[ts.length - 1]];
    else parent[ts[ts.length - 1]] = structuredClone(value);
    return this;
  }
  del(ref: string, p: string): this {
    return this.set(ref, p, DELETE);
  }
  add(o: K8sObject): this {
    this.objects.push(o);
    return this;
  }
  remove(ref: string): this {
    this.objects.splice(this.objects.indexOf(this.find(ref)), 1);
    return this;
  }
}

const fixture = () => new Fixture();

const WEB_POD = "spec.template.spec";

interface Case {
  readonly name: string;
  readonly rule: BaselineRule;
  readonly says: RegExp;
  readonly edit: (f: Fixture) => void;
}

const CASES: readonly Case[] = [
  {
    name: "PDB that allows nothing",
    rule: "pdb",
    says: /allows 0 disruptions of 2 replicas/,
    edit: (f) => f.del("PodDisruptionBudget/web", "spec.maxUnavailable").set("PodDisruptionBudget/web", "spec.minAvailable", 2),
  },
  {
    name: "PDB maxUnavailable 0",
    rule: "pdb",
    says: /allows 0 disruptions/,
    edit: (f) => f.set("PodDisruptionBudget/web", "spec.maxUnavailable", 0),
  },
  {
    name: "PDB minAvailable 100%",
    rule: "pdb",
    says: /allows 0 disruptions/,
    edit: (f) => f.del("PodDisruptionBudget/web", "spec.maxUnavailable").set("PodDisruptionBudget/web", "spec.minAvailable", "100%"),
  },
  {
    name: "PDB sets both bounds",
    rule: "pdb",
    says: /sets both minAvailable and maxUnavailable/,
    edit: (f) => f.set("PodDisruptionBudget/web", "spec.minAvailable", 1),
  },
  {
    name: "PDB selecting other pods",
    rule: "pdb",
    says: /no PodDisruptionBudget selecting its pods/,
    edit: (f) => f.set("PodDisruptionBudget/web", "spec.selector", { matchLabels: { "app.kubernetes.io/name": "api" } }),
  },
  {
    name: "two PDBs",
    rule: "pdb",
    says: /selected by 2 PodDisruptionBudgets \(web, web-2\)/,
    edit: (f) =>
      f.add({
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name: "web-2", namespace: NS },
        spec: { maxUnavailable: 1, selector: selector("web") },
      }),
  },
  {
    name: "HPA minimum above 1 without a PDB",
    rule: "pdb",
    says: /has 3 replicas and no PodDisruptionBudget/,
    edit: (f) =>
      f
        .set("Deployment/web", "spec.replicas", 1)
        .remove("PodDisruptionBudget/web")
        .add({
          apiVersion: "autoscaling/v2",
          kind: "HorizontalPodAutoscaler",
          metadata: { name: "web", namespace: NS },
          spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, minReplicas: 3, maxReplicas: 6 },
        }),
  },
  {
    name: "no spread",
    rule: "spread",
    says: /no topologySpreadConstraints or pod anti-affinity/,
    edit: (f) => f.del("Deployment/web", `${WEB_POD}.topologySpreadConstraints`),
  },
  {
    name: "spread constraint selecting other pods",
    rule: "spread",
    says: /selecting its own pods/,
    edit: (f) =>
      f.set("Deployment/web", `${WEB_POD}.topologySpreadConstraints[0].labelSelector`, {
        matchLabels: { "app.kubernetes.io/name": "api" },
      }),
  },
  {
    name: "default ServiceAccount by omission",
    rule: "service-account",
    says: /default ServiceAccount/,
    edit: (f) => f.del("Deployment/web", `${WEB_POD}.serviceAccountName`),
  },
  {
    name: "default ServiceAccount by name",
    rule: "service-account",
    says: /default ServiceAccount/,
    edit: (f) => f.set("StatefulSet/redis", `${WEB_POD}.serviceAccountName`, "default"),
  },
  {
    name: "ServiceAccount not rendered",
    rule: "service-account",
    says: /ServiceAccount web, which is not among the manifests/,
    edit: (f) => f.remove("ServiceAccount/web"),
  },
  {
    name: "token mounted by default",
    rule: "service-account",
    says: /mounts an API token it does not need/,
    edit: (f) =>
      f.del("Deployment/web", `${WEB_POD}.automountServiceAccountToken`).del("ServiceAccount/web", "automountServiceAccountToken"),
  },
  {
    name: "token mounted explicitly",
    rule: "service-account",
    says: /mounts an API token/,
    edit: (f) => f.set("DaemonSet/shipper", `${WEB_POD}.automountServiceAccountToken`, true),
  },
  {
    name: "a Job running as another app's ServiceAccount",
    rule: "service-account",
    says: /runs as ServiceAccount redis, which belongs to another workload: give it its own \(web-migrate\)/,
    edit: (f) => f.add(job("web-migrate", "redis")),
  },
  {
    name: "shared ServiceAccount",
    rule: "service-account",
    says: /runs as ServiceAccount web, which belongs to another workload/,
    edit: (f) => f.set("CronJob/report", "spec.jobTemplate.spec.template.spec.serviceAccountName", "web"),
  },
  {
    name: "pod template without component",
    rule: "labels",
    says: /pod template lacks the recommended label\(s\) app.kubernetes.io\/component/,
    edit: (f) => f.set("Deployment/web", "spec.template.metadata.labels", { ...labels("web", "web"), "app.kubernetes.io/component": "" }),
  },
  {
    name: "workload without managed-by",
    rule: "labels",
    says: /metadata lacks .*managed-by/,
    edit: (f) => f.set("StatefulSet/redis", "metadata.labels", { "app.kubernetes.io/name": "redis" }),
  },
];

/** Turns the Redis StatefulSet into one outside the data tier (the way Celery beat uses a StatefulSet). */
const notAStore = (f: Fixture) =>
  f
    .set("StatefulSet/redis", "metadata.labels", labels("redis", "scheduler"))
    .set("StatefulSet/redis", "spec.template.metadata.labels", labels("redis", "scheduler"));

/** A one-off Job with the baseline, run as `sa`. */
const job = (name: string, sa: string): K8sObject => ({
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: { name, namespace: NS, labels: labels(name, "migration") },
  spec: {
    template: {
      metadata: { labels: labels(name, "migration") },
      spec: podSpec(sa, [{ name: "migrate", image: "ghcr.io/stagecraft-demo/django-web:2.0.0", resources, securityContext }], {
        restartPolicy: "OnFailure",
      }),
    },
  },
});

const PASSING: readonly { name: string; edit: (f: Fixture) => void }[] = [
  { name: "an untouched fixture", edit: () => undefined },
  { name: "a helper Job running as its owner's ServiceAccount", edit: (f) => f.add(job("web-migrate", "web")) },
  {
    name: "a StatefulSet outside the data tier that holds no data",
    edit: (f) =>
      notAStore(f)
        .del("StatefulSet/redis", "spec.volumeClaimTemplates")
        .del("StatefulSet/redis", "spec.persistentVolumeClaimRetentionPolicy"),
  },
  {
    name: "a single-replica Deployment without PDB or spread",
    edit: (f) =>
      f
        .set("Deployment/web", "spec.replicas", 1)
        .remove("PodDisruptionBudget/web")
        .del("Deployment/web", `${WEB_POD}.topologySpreadConstraints`),
  },
  { name: "a percentage PDB that rounds to one disruption", edit: (f) => f.set("PodDisruptionBudget/web", "spec.maxUnavailable", "10%") },
  {
    name: "minAvailable one below replicas",
    edit: (f) => f.del("PodDisruptionBudget/web", "spec.maxUnavailable").set("PodDisruptionBudget/web", "spec.minAvailable", 1),
  },
  {
    name: "pod anti-affinity instead of spread constraints",
    edit: (f) =>
      f
        .del("Deployment/web", `${WEB_POD}.topologySpreadConstraints`)
        .set("Deployment/web", `${WEB_POD}.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution`, [
          { weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: selector("web") } },
        ]),
  },
  {
    name: "a token mounted for a ServiceAccount annotated as needing it",
    edit: (f) =>
      f
        .set("Deployment/web", `${WEB_POD}.automountServiceAccountToken`, true)
        .set("ServiceAccount/web", "metadata.annotations", { [TOKEN_ANNOTATION]: "true" }),
  },
  {
    name: "objects that are not workloads",
    edit: (f) => f.add({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" }, data: { PASSWORD: "not env" } }),
  },
];

describe("baselineViolations", () => {
  it("passes nothing through an empty list", () => {
    expect(baselineViolations([])).toEqual([]);
  });

  it.each(PASSING.map((p) => [p.name, p] as const))("accepts %s", (_n, p) => {
    const f = fixture();
    p.edit(f);
    expect(baselineViolations(f.objects).map(formatViolation)).toEqual([]);
  });

  it("covers every rule with at least one failing case", () => {
    const rules: BaselineRule[] = ["pdb", "spread", "service-account", "labels"];
    expect(new Set(CASES.map((c) => c.rule))).toEqual(new Set(rules));
  });

  it.each(CASES.map((c) => [c.rule, c.name, c] as const))("[%s] flags %s", (_r, _n, c) => {
    const f = fixture();
    c.edit(f);
    const found = baselineViolations(f.objects);
    // Only the broken rule fires: the fixture is clean otherwise, so each case proves one rule.
    expect(found.map((v) => `${v.rule}: ${v.message}`)).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^${c.rule}: .*${c.says.source}`))]),
    );
    expect([...new Set(found.map((v) => v.rule))]).toEqual([c.rule]);
  });

  it("names the workload and namespace in what it prints", () => {
    const f = fixture().del("Deployment/web", "spec.template.spec.serviceAccountName");
    expect(baselineViolations(f.objects).map(formatViolation)).toEqual([
      "Deployment stagecraft/web: [service-account] runs under the namespace's default ServiceAccount: give it its own",
    ]);
  });

  it("does not modify its input", () => {
    const objects = good();
    const before = JSON.stringify(objects);
    baselineViolations(objects);
    expect(JSON.stringify(objects)).toBe(before);
  });
});
