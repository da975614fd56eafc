/**
 * Pod building blocks with the security and reliability baseline built in, so every component
 * gets it by construction: non-root, read-only root filesystem, no privilege escalation, all
 * capabilities dropped, seccomp RuntimeDefault, requests and limits, spread over nodes.
 */
import { createHash } from "crypto";
import type * as k8s from "@pulumi/kubernetes";
import type { ResourcesSpec } from "../../spec/schema";
import { FIRST_UNMAPPED_ID } from "./workloadIds";

type Container = k8s.types.input.core.v1.Container;
type PodSecurityContext = k8s.types.input.core.v1.PodSecurityContext;
type Probe = k8s.types.input.core.v1.Probe;
type TopologySpreadConstraint = k8s.types.input.core.v1.TopologySpreadConstraint;

/** Doubles a quantity's number, keeping its unit: the default limit is twice the request. */
export function twice(q: string): string {
  const m = /^(\d+(?:\.\d+)?)(.*)$/.exec(q);
  if (!m) throw new Error(`not a quantity: ${q}`);
  return `${Number(m[1]) * 2}${m[2]}`;
}

/** Requests and limits for cpu, memory and ephemeral storage. */
export function resources(r: ResourcesSpec): k8s.types.input.core.v1.ResourceRequirements {
  return {
    requests: { cpu: r.cpu, memory: r.memory, "ephemeral-storage": r.ephemeralStorage },
    limits: { cpu: r.cpuLimit ?? twice(r.cpu), memory: r.memoryLimit ?? twice(r.memory), "ephemeral-storage": twice(r.ephemeralStorage) },
  };
}

/** The container-level baseline. Servers that must write get emptyDirs, never a writable root. */
export const CONTAINER_SECURITY: k8s.types.input.core.v1.SecurityContext = {
  runAsNonRoot: true,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  privileged: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

/**
 * Pod-level baseline for a uid from workloadIds.ts: runs as uid:uid, and the pod's volumes belong to
 * group uid. fsGroupChangePolicy OnRootMismatch: the kubelet re-groups a volume only when its root
 * is not already group uid with g+rwx and setgid, so a restart costs nothing, while a volume written
 * under another id (the images' old uids, or a rollback to them) is moved once: every file gets
 * group uid and g+rw, every directory also g+x and setgid (MariaDB's 0700 becomes 2770), and the
 * server uses files another uid owns through its group (test/conformance/uidMove.test.ts). The
 * kubelet does this for emptyDirs, EBS volumes (the EBS CSI driver's default fsGroupPolicy,
 * ReadWriteOnceWithFSType) and `local` PVs, never for hostPath ones: the local cluster's provisioner
 * makes local PVs for that reason.
 */
export function podSecurity(uid: number): PodSecurityContext {
  if (!Number.isInteger(uid) || uid < FIRST_UNMAPPED_ID)
    throw new Error(
      `pod uid ${uid} is not a whole number >= ${FIRST_UNMAPPED_ID}: it could be a user of the node. Fix: take it from workloadId()`,
    );
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    fsGroupChangePolicy: "OnRootMismatch",
    seccompProfile: { type: "RuntimeDefault" },
  };
}

export interface ContainerArgs {
  readonly name: string;
  readonly image: string;
  readonly resources: ResourcesSpec;
  readonly command?: string[];
  readonly args?: string[];
  readonly ports?: { name: string; containerPort: number; protocol?: string }[];
  readonly env?: k8s.types.input.core.v1.EnvVar[];
  readonly volumeMounts?: k8s.types.input.core.v1.VolumeMount[];
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly startupProbe?: Probe;
}

/** A container with the baseline applied. */
export function container(a: ContainerArgs): Container {
  return {
    name: a.name,
    image: a.image,
    imagePullPolicy: "IfNotPresent",
    command: a.command,
    args: a.args,
    ports: a.ports,
    env: a.env,
    volumeMounts: a.volumeMounts,
    resources: resources(a.resources),
    readinessProbe: a.readinessProbe,
    livenessProbe: a.livenessProbe,
    startupProbe: a.startupProbe,
    securityContext: CONTAINER_SECURITY,
  };
}

/**
 * Readiness answers "send me traffic?" quickly and often; liveness answers "am I wedged?" slowly
 * and rarely, so a slow dependency never gets a healthy process killed.
 */
export function probes(
  readiness: Pick<Probe, "httpGet" | "tcpSocket" | "exec">,
  liveness: Pick<Probe, "httpGet" | "tcpSocket" | "exec"> = readiness,
): { readinessProbe: Probe; livenessProbe: Probe } {
  return {
    readinessProbe: { ...readiness, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3 },
    livenessProbe: { ...liveness, initialDelaySeconds: 15, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 6 },
  };
}

/**
 * Only nodes the pod may land on count as spread domains: a node tainted against it (EKS data
 * nodes for app pods, the local cluster's KWOK nodes for real pods) would otherwise be an empty
 * domain that blocks the hard constraint (the default, Ignore, counts it).
 */
export const NODE_TAINTS_POLICY = "Honor";

/** Spread replicas over nodes (hard) and zones (soft). */
export function spread(selector: Record<string, string>): TopologySpreadConstraint[] {
  return [
    {
      maxSkew: 1,
      topologyKey: "kubernetes.io/hostname",
      whenUnsatisfiable: "DoNotSchedule",
      nodeTaintsPolicy: NODE_TAINTS_POLICY,
      labelSelector: { matchLabels: selector },
    },
    {
      maxSkew: 1,
      topologyKey: "topology.kubernetes.io/zone",
      whenUnsatisfiable: "ScheduleAnyway",
      nodeTaintsPolicy: NODE_TAINTS_POLICY,
      labelSelector: { matchLabels: selector },
    },
  ];
}

/**
 * How every Deployment rolls out (the chart's and the edge's): surge first and never drop below the
 * desired count, so a rollout never leaves a gap. A quarter rounds up: one pod at a time up to 4.
 */
export const ROLLOUT = { maxUnavailable: 0, maxSurge: "25%" } as const;

/** Pod-template annotation holding a hash of the pod's config: a changed config rolls the pods. */
export const CONFIG_HASH_ANNOTATION = "stagecraft.dev/config-hash";

/** The config-hash annotation of a pod template whose config is `parts`. */
export function configHash(...parts: string[]): Record<string, string> {
  return { [CONFIG_HASH_ANNOTATION]: contentHash(...parts) };
}

/**
 * Short content hash for a pod-template annotation: a config change rolls the pods, the ConfigMap
 * keeps its name. Prefixed, because bare hex such as `12e4…` reads as a number in YAML.
 */
export function contentHash(...parts: string[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return `sha256-${h.digest("hex").slice(0, 16)}`;
}

/** A writable emptyDir for a read-only root filesystem. */
export function scratch(name: string, mountPath: string, sizeLimit = "64Mi") {
  return { volume: { name, emptyDir: { sizeLimit } }, mount: { name, mountPath } };
}
