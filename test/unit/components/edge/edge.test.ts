/**
 * The edge tier (NginxLoadBalancer, KongGateway) under Pulumi mocks, built inside each stage with
 * recognisable load-balancer annotations: the public Service, the replicas, nginx's internal
 * publisher Service for nchan, and Kong's declarative config, which holds consumer keys and so
 * must travel as a secret in a Secret.
 */
import {
  buildStage,
  childrenOf,
  containersOf,
  credentialEnv,
  isWireSecret,
  K8S,
  meta,
  mockCredential,
  named,
  object,
  ofType,
  reveal,
  STAGES,
  type PodSpecLike,
  type Pulumi,
  type Registration,
  type StageBuild,
  type StageName,
} from "../../../lib/mocks";

const ANNOTATIONS = { "example.com/load-balancer": "external", "example.com/scheme": "internet-facing" };

let pulumi: Pulumi;
const builds = {} as Record<StageName, StageBuild>;

beforeAll(async () => {
  pulumi = await import("@pulumi/pulumi");
  for (const s of STAGES) builds[s] = await buildStage(pulumi, s, { loadBalancerAnnotations: ANNOTATIONS });
}, 60_000);

interface DeploymentSpecLike {
  replicas: number;
  selector: { matchLabels: Record<string, string> };
  strategy: { rollingUpdate: { maxUnavailable: number } };
  template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: PodSpecLike };
}
interface ServiceSpecLike {
  type?: string;
  externalTrafficPolicy?: string;
  selector: Record<string, string>;
  ports: { name: string; port: number; targetPort: string | number }[];
}
const deployment = (r: Registration) => r.inputs.spec as DeploymentSpecLike;
const service = (r: Registration) => r.inputs.spec as ServiceSpecLike;
/** Which edge each stage file has (the first test holds the files to it). */
const nginxStages: StageName[] = ["mvc", "split"];
const kongStages: StageName[] = ["micro", "ddd"];

it("the stage files have nginx in mvc and split and Kong in micro and ddd", () => {
  expect(STAGES.map((s) => [s, !!builds[s].loaded.spec.edge.nginx, !!builds[s].loaded.spec.edge.kong])).toEqual(
    STAGES.map((s) => [s, nginxStages.includes(s), kongStages.includes(s)]),
  );
});

/** What every edge workload shares: replicas, no-gap rollout, PDB and a public Service onto its pods. */
describe.each([...nginxStages.map((s) => [s, "nginx", "nginx"] as const), ...kongStages.map((s) => [s, "kong", "kong-proxy"] as const)])(
  "edge workload of stage %s: %s",
  (stage, name, lbName) => {
    const b = () => builds[stage];
    const replicas = () => (name === "nginx" ? b().loaded.spec.edge.nginx?.replicas : b().loaded.spec.edge.kong?.replicas);

    it("runs the spec's replicas and never drops below them in a rollout", () => {
      const d = deployment(object(b(), K8S.deployment, name));
      expect(d.replicas).toBe(replicas());
      expect(d.replicas).toBeGreaterThanOrEqual(2);
      expect(d.strategy.rollingUpdate.maxUnavailable).toBe(0);
      expect((object(b(), K8S.pdb, name).inputs.spec as { maxUnavailable: number }).maxUnavailable).toBe(1);
    });

    it("is public through one LoadBalancer Service with exactly the target's annotations, onto its own pods", () => {
      const lbs = ofType(b(), K8S.service).filter((r) => service(r).type === "LoadBalancer");
      expect(lbs.map((r) => meta(r).name)).toEqual([lbName]);
      const lb = lbs[0];
      expect(meta(lb).annotations).toEqual(ANNOTATIONS);
      expect(service(lb).externalTrafficPolicy).toBe("Local");
      expect(service(lb).ports.map((p) => p.port)).toEqual([80]);
      const d = deployment(object(b(), K8S.deployment, name));
      expect(service(lb).selector).toEqual(d.selector.matchLabels);
      expect(d.template.metadata.labels).toMatchObject(d.selector.matchLabels);
    });

    it("reads every credential by secretKeyRef, never as a literal", () => {
      for (const e of containersOf(object(b(), K8S.deployment, name)).flatMap(credentialEnv))
        expect({ env: e.name, literal: e.value, ref: !!e.valueFrom?.secretKeyRef }).toEqual({ env: e.name, literal: undefined, ref: true });
    });

    it("rolls its pods when its config changes (a hash on the pod template)", () => {
      const annotations = deployment(object(b(), K8S.deployment, name)).template.metadata.annotations;
      expect(annotations["stagecraft.dev/config-hash"]).toMatch(/[0-9a-f]{16}/);
    });
  },
);

describe.each(nginxStages)("nginx of stage %s", (stage) => {
  const b = () => builds[stage];
  const nchan = () => b().loaded.spec.push?.kind === "nchan";

  it("serves nginx.conf from its ConfigMap", () => {
    const data = object(b(), K8S.configMap, "nginx-config").inputs.data as Record<string, string>;
    expect(Object.keys(data)).toEqual(["nginx.conf"]);
    const volumes = deployment(object(b(), K8S.deployment, "nginx")).template.spec.volumes ?? [];
    expect(volumes.map((v) => v.configMap?.name).filter(Boolean)).toEqual(["nginx-config"]);
  });

  it("exposes nchan's publisher on a cluster-internal Service iff push is nchan", () => {
    const internal = ofType(b(), K8S.service).filter((r) => meta(r).name === "nginx-internal");
    expect(internal).toHaveLength(nchan() ? 1 : 0);
    const ports = containersOf(object(b(), K8S.deployment, "nginx")).flatMap((c) => (c.ports ?? []).map((p) => p.name));
    expect(ports).toEqual(nchan() ? ["http", "internal"] : ["http"]);
    if (!nchan()) return;
    const svc = service(internal[0]);
    expect(svc.type).toBeUndefined();
    expect(svc.ports).toEqual([{ name: "internal", port: 8081, targetPort: "internal" }]);
    expect(svc.selector).toEqual(deployment(object(b(), K8S.deployment, "nginx")).selector.matchLabels);
  });

  it("the stage files cover both sides: mvc pushes with nchan, split with tormq", () => {
    expect(nchan()).toBe(stage === "mvc");
  });
});

describe.each(kongStages)("Kong of stage %s", (stage) => {
  const b = () => builds[stage];
  const kong = () => named(b(), "stagecraft:edge:KongGateway", "kong");
  const env = () => containersOf(object(b(), K8S.deployment, "kong")).flatMap((c) => c.env ?? []);

  it("keeps its declarative config in a Secret whose value is a Pulumi secret, never in a ConfigMap", () => {
    const secret = object(b(), K8S.secret, "kong-secrets");
    expect(secret.parent).toBe(kong().urn);
    expect(isWireSecret(pulumi, secret.inputs.stringData)).toBe(true);
    const file = (reveal(pulumi, secret.inputs.stringData) as Record<string, string>)["kong.yml"];
    expect(file).toContain("_format_version");
    expect(childrenOf(b(), kong()).filter((r) => r.type === K8S.configMap)).toEqual([]);
    const volumes = deployment(object(b(), K8S.deployment, "kong")).template.spec.volumes ?? [];
    expect(volumes.filter((v) => v.secret).map((v) => v.secret?.secretName)).toEqual(["kong-secrets"]);
  });

  it("puts each consumer's key into that file and nowhere else", () => {
    const keys = (b().loaded.spec.edge.kong?.consumers ?? []).map((c) => mockCredential(c.credentialSecret));
    expect(keys.length).toBeGreaterThan(0);
    const file = (reveal(pulumi, object(b(), K8S.secret, "kong-secrets").inputs.stringData) as Record<string, string>)["kong.yml"];
    for (const k of keys) expect(file).toContain(k);
    const elsewhere = b().registrations.filter((r) => meta(r).name !== "kong-secrets");
    expect(elsewhere.filter((r) => keys.some((k) => JSON.stringify(r.inputs).includes(k))).map((r) => r.urn)).toEqual([]);
  });

  it("runs DB-less with no Admin API, and reads the Redis password by secretKeyRef", () => {
    const byName = new Map(env().map((e) => [e.name, e]));
    expect(byName.get("KONG_DATABASE")?.value).toBe("off");
    expect(byName.get("KONG_ADMIN_LISTEN")?.value).toBe("off");
    const redis = env().filter((e) => /REDIS.*PASSWORD/.test(e.name));
    expect(redis).toHaveLength(1);
    expect(redis[0]).toEqual({ name: redis[0].name, valueFrom: { secretKeyRef: { name: "redis-credentials", key: "password" } } });
  });

  it("starts only once its config Secret exists", () => {
    expect(object(b(), K8S.deployment, "kong").dependencies).toContain(object(b(), K8S.secret, "kong-secrets").urn);
  });
});
