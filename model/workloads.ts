/**
 * The inventory of a stage: every workload it runs, with its Kubernetes name, tier, replicas,
 * requests and volumes. Shared by the components that size them, the cost model, the EKS
 * node-group check and the reports, so they all count the same pods.
 */
import type { ResourcesSpec, Spec } from "../spec/schema";
import { NAMES, workerName, type Role, type Tier } from "./names";
import { gibibytes, millicores } from "./quantities";

/** What one pod asks the scheduler for. */
export interface PodRequest {
  readonly cpuMilli: number;
  readonly memoryMi: number;
}

export interface Workload {
  /** Kubernetes name of the Deployment/StatefulSet. */
  readonly name: string;
  readonly kind: "Deployment" | "StatefulSet";
  readonly tier: Tier;
  readonly role: Role;
  /** Replicas at rest: the count the workload is created with (within its HPA's range, if one scales it). */
  readonly replicas: number;
  /** Replicas at peak (the HPA maximum, else `replicas`). */
  readonly peakReplicas: number;
  readonly resources: ResourcesSpec;
  /** Each pod's requests as numbers, for sums and bin-packing. */
  readonly request: PodRequest;
  /** Persistent volume size per replica, in GiB (0 when stateless). */
  readonly volumeGi: number;
  /** True when a cloud load balancer fronts it (a LoadBalancer Service). */
  readonly loadBalancer: boolean;
}

/** Replicas at peak: the HPA's maximum when one scales the workload. */
export function peakReplicas(s: { replicas: number; hpa?: { maxReplicas: number } }): number {
  return Math.max(s.replicas, s.hpa?.maxReplicas ?? 0);
}

export function workloads(spec: Spec): Workload[] {
  const out: Workload[] = [];
  const add = (w: Omit<Workload, "peakReplicas" | "volumeGi" | "loadBalancer" | "request"> & Partial<Workload>) =>
    out.push({
      peakReplicas: w.replicas,
      volumeGi: 0,
      loadBalancer: false,
      request: { cpuMilli: millicores(w.resources.cpu), memoryMi: gibibytes(w.resources.memory) * 1024 },
      ...w,
    });

  const { nginx, kong } = spec.edge;
  if (nginx)
    add({
      name: NAMES.nginx,
      kind: "Deployment",
      tier: "edge",
      role: "load-balancer",
      replicas: nginx.replicas,
      resources: nginx.resources,
      loadBalancer: true,
    });
  if (kong)
    add({
      name: NAMES.kong,
      kind: "Deployment",
      tier: "edge",
      role: "gateway",
      replicas: kong.replicas,
      resources: kong.resources,
      loadBalancer: true,
    });

  for (const s of spec.services) {
    add({
      name: s.name,
      kind: "Deployment",
      tier: "app",
      role: s.kind === "web" ? "web" : "rpc",
      replicas: s.replicas,
      peakReplicas: peakReplicas(s),
      resources: s.resources,
    });
  }
  for (const w of spec.workers)
    add({ name: workerName(w.name), kind: "Deployment", tier: "app", role: "worker", replicas: w.replicas, resources: w.resources });
  // A StatefulSet: beat must never run twice (see CeleryBeat.ts).
  if (spec.beat)
    add({ name: NAMES.beat, kind: "StatefulSet", tier: "app", role: "scheduler", replicas: 1, resources: spec.beat.resources });
  if (spec.push?.kind === "tormq")
    add({ name: NAMES.push, kind: "Deployment", tier: "app", role: "push", replicas: spec.push.replicas, resources: spec.push.resources });
  if (spec.shortUrl)
    add({
      name: NAMES.shortUrl,
      kind: "Deployment",
      tier: "app",
      role: "short-url",
      replicas: spec.shortUrl.replicas,
      resources: spec.shortUrl.resources,
    });

  const { mysql, redis, etcd } = spec.data;
  add({
    name: NAMES.mysql,
    kind: "StatefulSet",
    tier: "data",
    role: "database",
    replicas: 1,
    resources: mysql.resources,
    volumeGi: gibibytes(mysql.storage),
  });
  if (mysql.readReplicas > 0)
    add({
      name: NAMES.mysqlReplica,
      kind: "StatefulSet",
      tier: "data",
      role: "database",
      replicas: mysql.readReplicas,
      resources: mysql.resources,
      volumeGi: gibibytes(mysql.storage),
    });
  add({
    name: NAMES.redis,
    kind: "StatefulSet",
    tier: "data",
    role: "cache",
    replicas: 1,
    resources: redis.resources,
    volumeGi: gibibytes(redis.storage),
  });
  if (etcd)
    add({
      name: NAMES.etcd,
      kind: "StatefulSet",
      tier: "data",
      role: "registry",
      replicas: etcd.members,
      resources: etcd.resources,
      volumeGi: gibibytes(etcd.storage),
    });

  return out;
}
