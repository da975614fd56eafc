/** Small Kubernetes objects as the analyzer hands them to the rules, for the policy unit tests. */
import type { PolicyResource } from "../../../policy/rules/types";

const KINDS: Record<string, string> = {
  Deployment: "kubernetes:apps/v1:Deployment",
  StatefulSet: "kubernetes:apps/v1:StatefulSet",
  Job: "kubernetes:batch/v1:Job",
  CronJob: "kubernetes:batch/v1:CronJob",
  Secret: "kubernetes:core/v1:Secret",
  PersistentVolumeClaim: "kubernetes:core/v1:PersistentVolumeClaim",
  Namespace: "kubernetes:core/v1:Namespace",
  NetworkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  PodDisruptionBudget: "kubernetes:policy/v1:PodDisruptionBudget",
  ConfigMap: "kubernetes:core/v1:ConfigMap",
};

export function resource(kind: keyof typeof KINDS, props: Record<string, unknown>, opts: PolicyResource["opts"] = {}): PolicyResource {
  const name = (props.metadata as { name?: string } | undefined)?.name ?? "x";
  const type = KINDS[kind];
  return { type, urn: `urn:pulumi:test::stagecraft::${type}::${name}`, name, props, opts };
}

/** A container that meets the whole baseline; override fields to break one thing. */
export function goodContainer(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "web",
    image: "ghcr.io/stagecraft-demo/django-web:4.0.0",
    ports: [{ name: "http", containerPort: 8000 }],
    resources: {
      requests: { cpu: "250m", memory: "256Mi", "ephemeral-storage": "256Mi" },
      limits: { cpu: "500m", memory: "512Mi", "ephemeral-storage": "512Mi" },
    },
    readinessProbe: { httpGet: { path: "/ready", port: "http" }, periodSeconds: 5 },
    livenessProbe: { httpGet: { path: "/alive", port: "http" }, periodSeconds: 20 },
    securityContext: {
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
    ...over,
  };
}

export const labels = (name: string, component: string, tier: string, extra: Record<string, string> = {}) => ({
  "app.kubernetes.io/name": name,
  "app.kubernetes.io/part-of": "stagecraft",
  "app.kubernetes.io/component": component,
  "stagecraft.dev/tier": tier,
  ...extra,
});

/** A Deployment of one pod group with the given containers and pod labels. */
export function deployment(
  name: string,
  containers: Record<string, unknown>[],
  podLabels: Record<string, string> = labels(name, "web", "app"),
) {
  return resource("Deployment", {
    metadata: { name, namespace: "stagecraft", labels: podLabels },
    spec: {
      replicas: 2,
      selector: { matchLabels: { "app.kubernetes.io/name": name } },
      template: { metadata: { labels: podLabels }, spec: { containers } },
    },
  });
}

/** A store's StatefulSet (data tier) with claim templates kept on delete and scale-down. */
export function store(name: string, component: string, image: string, replicas: number, spec: Record<string, unknown> = {}) {
  const lbl = labels(name, component, "data");
  return resource("StatefulSet", {
    metadata: { name, namespace: "stagecraft", labels: lbl },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: { "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "stagecraft" } },
      template: { metadata: { labels: lbl }, spec: { containers: [goodContainer({ name, image })] } },
      volumeClaimTemplates: [
        { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "5Gi" } } } },
      ],
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
      ...spec,
    },
  });
}

/** The NetworkPolicy Stagecraft writes for one pod group: egress to `calls`. */
export function allow(app: string, calls: string[]) {
  const peer = (to: string) => ({ podSelector: { matchLabels: { "app.kubernetes.io/name": to } } });
  return resource("NetworkPolicy", {
    metadata: { name: `allow-${app}`, namespace: "stagecraft" },
    spec: {
      podSelector: { matchLabels: { "app.kubernetes.io/name": app } },
      policyTypes: ["Ingress", "Egress"],
      ingress: [],
      egress: calls.map((to) => ({ to: [peer(to)], ports: [{ protocol: "TCP", port: 9000 }] })),
    },
  });
}
