/**
 * Values for the project's own chart (charts/service), computed from a workload description.
 * Pure and fully known at preview: no Output ever reaches the chart, so previews stay exact.
 */
import type * as k8s from "@pulumi/kubernetes";
import { labels, LAYER_LABEL, selectorLabels, type Role } from "../../model/names";
import { configHash, podSecurity, ROLLOUT, spread } from "../lib/pod";

type Container = k8s.types.input.core.v1.Container;
type Volume = k8s.types.input.core.v1.Volume;

export interface AppWorkload {
  /** Kubernetes name of the workload, its Service, ServiceAccount and PDB. */
  readonly name: string;
  readonly role: Role;
  /** Call-graph layer, for NetworkPolicies and reports (services only). */
  readonly layer?: "app" | "data";
  /** StatefulSet gives at-most-one-pod-per-identity (Celery beat); Deployment otherwise. */
  readonly kind?: "Deployment" | "StatefulSet";
  readonly replicas: number;
  readonly hpa?: { readonly minReplicas: number; readonly maxReplicas: number; readonly targetCpuPercent: number };
  /** uid the image's server runs as. */
  readonly uid: number;
  readonly containers: readonly Container[];
  readonly initContainers?: readonly Container[];
  readonly volumes?: readonly Volume[];
  /** Files of the workload's ConfigMap (`<name>-config`); their hash rolls the pods. */
  readonly configFiles?: Readonly<Record<string, string>>;
  /** Extra inputs whose change must roll the pods (e.g. a Secret's version, never its value). */
  readonly rollOn?: readonly string[];
  /** Omitted: no Service, except for a StatefulSet, which always gets its headless governing Service. */
  readonly service?: { readonly headless: boolean; readonly ports: readonly { name: string; port: number; targetPort: number | string }[] };
  readonly terminationGracePeriodSeconds?: number;
}

export interface ServiceChartValues {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly selectorLabels: Record<string, string>;
  readonly workload: { kind: "Deployment" | "StatefulSet"; replicas: number };
  readonly rollout: typeof ROLLOUT;
  readonly podAnnotations: Record<string, string>;
  readonly podSecurityContext: k8s.types.input.core.v1.PodSecurityContext;
  readonly serviceAccount: { automountToken: boolean };
  readonly initContainers: readonly Container[];
  readonly containers: readonly Container[];
  readonly volumes: readonly Volume[];
  readonly topologySpreadConstraints: readonly k8s.types.input.core.v1.TopologySpreadConstraint[];
  readonly terminationGracePeriodSeconds: number;
  readonly configMap: Readonly<Record<string, string>>;
  readonly service: { enabled: boolean; headless: boolean; ports: readonly { name: string; port: number; targetPort: number | string }[] };
  readonly pdb: { enabled: boolean; maxUnavailable: number };
  readonly hpa: { enabled: boolean; minReplicas?: number; maxReplicas?: number; targetCpuPercent?: number };
}

export function serviceValues(w: AppWorkload): ServiceChartValues {
  const selector = selectorLabels(w.name);
  const minReplicas = w.hpa ? w.hpa.minReplicas : w.replicas;
  const files = w.configFiles ?? {};
  const hashed = Object.keys(files)
    .sort()
    .map((k) => `${k}\n${files[k]}`);
  return {
    name: w.name,
    labels: labels(w.name, w.role, "app", w.layer ? { [LAYER_LABEL]: w.layer } : {}),
    selectorLabels: selector,
    workload: { kind: w.kind ?? "Deployment", replicas: w.replicas },
    rollout: ROLLOUT,
    podAnnotations: hashed.length + (w.rollOn?.length ?? 0) > 0 ? configHash(...hashed, ...(w.rollOn ?? [])) : {},
    podSecurityContext: podSecurity(w.uid),
    serviceAccount: { automountToken: false },
    initContainers: w.initContainers ?? [],
    containers: w.containers,
    volumes: w.volumes ?? [],
    // One replica has nothing to spread; more must not share a node (a node loss takes one).
    topologySpreadConstraints: minReplicas > 1 ? spread(selector) : [],
    terminationGracePeriodSeconds: w.terminationGracePeriodSeconds ?? 30,
    configMap: files,
    service: chartService(w),
    // A PDB only where a disruption can be allowed: with one replica it would block node drains.
    pdb: { enabled: minReplicas > 1, maxUnavailable: 1 },
    hpa: w.hpa ? { enabled: true, ...w.hpa } : { enabled: false },
  };
}

/**
 * A StatefulSet's Service is its governing Service (`serviceName`), which must be headless: it gives
 * each pod its DNS identity, and a ClusterIP there is what kube-score's statefulset-has-servicename
 * refuses. So a StatefulSet always gets one, headless, even without ports (Celery beat).
 */
function chartService(w: AppWorkload): ServiceChartValues["service"] {
  const ports = w.service?.ports ?? [];
  if (w.kind !== "StatefulSet") return { enabled: !!w.service, headless: w.service?.headless ?? false, ports };
  if (w.service && !w.service.headless) {
    throw new Error(`workload ${w.name}: a StatefulSet's Service governs its pods' DNS names and must be headless`);
  }
  return { enabled: true, headless: true, ports };
}
