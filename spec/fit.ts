/**
 * Fitting a stage onto a small cluster (`stagecraft:target.fit`): an environment rule, not a stage
 * edit. Requests shrink by a factor and replica counts are capped, for every workload of whatever
 * stage the stack holds, so one local stack moves mvc -> split -> micro -> ddd with `stagecraft
 * promote` and stays fitted. Name-addressed `specOverrides` cannot do that: an override of `web`
 * or `account` fails validation as soon as the next stage has no service of that name.
 *
 * - Requests (cpu, memory) are multiplied by the factors; limits keep the stage's own values (an
 *   absent limit becomes the stage's default, twice the original request), so pods schedule on two
 *   cores and still burst to what the stage allows.
 * - Sizes derived from the memory request (InnoDB buffer pool, Redis maxmemory) shrink with it.
 * - Replicas of stateless workloads, HPA bounds and MySQL read replicas are capped at `maxReplicas`
 *   (read replicas stay at least one when the stage has any, so replication is still exercised).
 * - Nginx, Kong and etcd keep their counts: the edge's rule wants two load balancers (a PDB needs
 *   a spare), Kong is placed by the target on nodes that run no container (see `placement`), and
 *   etcd's quorum (3) is the point of running it.
 */
import { z } from "zod";
import type { ResourcesSpec, Spec } from "./schema";

export const Fit = z
  .object({
    /** Factor on every CPU request, in (0, 1]. */
    cpu: z.number().gt(0).max(1).default(1),
    /** Factor on every memory request (and the sizes made from it), in (0, 1]. */
    memory: z.number().gt(0).max(1).default(1),
    /** Upper bound on the replicas of stateless workloads and on read replicas. */
    maxReplicas: z.number().int().min(1).optional(),
  })
  .strict();
export type FitSpec = z.infer<typeof Fit>;

/** Smallest requests a fitted container gets: below these, kubelet and runtime overheads dominate. */
const MIN_CPU_MILLI = 5;
const MIN_MEMORY_MI = 16;

/** CPU quantity ('250m', '1', '0.5') in millicores. */
export function cpuMilli(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(q);
  if (!m) throw new Error(`fit: '${q}' is not a CPU quantity`);
  return m[2] === "m" ? Number(m[1]) : Number(m[1]) * 1000;
}

const MEMORY_UNITS: Record<string, number> = { Ki: 1 / 1024, Mi: 1, Gi: 1024, Ti: 1024 * 1024 };

/** Memory quantity ('512Mi', '2Gi') in MiB. */
export function memoryMi(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|Ti)$/.exec(q);
  if (!m) throw new Error(`fit: '${q}' is not a memory quantity`);
  return Number(m[1]) * MEMORY_UNITS[m[2]];
}

const scaleCpu = (q: string, f: number) => `${Math.max(MIN_CPU_MILLI, Math.round(cpuMilli(q) * f))}m`;
const scaleMemory = (q: string, f: number) => `${Math.max(MIN_MEMORY_MI, Math.floor(memoryMi(q) * f))}Mi`;
const doubled = (milli: number) => `${milli * 2}m`;

export function fitResources(r: ResourcesSpec, fit: FitSpec): ResourcesSpec {
  if (fit.cpu === 1 && fit.memory === 1) return r;
  return {
    ...r,
    cpu: scaleCpu(r.cpu, fit.cpu),
    memory: scaleMemory(r.memory, fit.memory),
    cpuLimit: r.cpuLimit ?? doubled(cpuMilli(r.cpu)),
    memoryLimit: r.memoryLimit ?? `${memoryMi(r.memory) * 2}Mi`,
  };
}

/** The spec fitted to the target: a pure function, the stage's own data untouched. */
export function fitSpec(spec: Spec, fit: FitSpec | undefined): Spec {
  if (!fit) return spec;
  const cap = (n: number) => (fit.maxReplicas === undefined ? n : Math.min(n, fit.maxReplicas));
  const res = (r: ResourcesSpec) => fitResources(r, fit);
  const { nginx, kong } = spec.edge;
  const { mysql, redis, etcd } = spec.data;
  return {
    ...spec,
    edge: { nginx: nginx && { ...nginx, resources: res(nginx.resources) }, kong },
    services: spec.services.map((s) => ({
      ...s,
      replicas: cap(s.replicas),
      resources: res(s.resources),
      hpa: s.hpa && { ...s.hpa, minReplicas: cap(s.hpa.minReplicas), maxReplicas: cap(s.hpa.maxReplicas) },
    })),
    workers: spec.workers.map((w) => ({ ...w, replicas: cap(w.replicas), resources: res(w.resources) })),
    beat: spec.beat && { ...spec.beat, resources: res(spec.beat.resources) },
    push:
      spec.push?.kind === "tormq" ? { ...spec.push, replicas: cap(spec.push.replicas), resources: res(spec.push.resources) } : spec.push,
    shortUrl: spec.shortUrl && { ...spec.shortUrl, replicas: cap(spec.shortUrl.replicas), resources: res(spec.shortUrl.resources) },
    data: {
      mysql: {
        ...mysql,
        resources: res(mysql.resources),
        innodbBufferPool: scaleMemory(mysql.innodbBufferPool, fit.memory),
        readReplicas: mysql.readReplicas === 0 ? 0 : cap(mysql.readReplicas),
      },
      redis: { ...redis, resources: res(redis.resources), maxmemory: scaleMemory(redis.maxmemory, fit.memory) },
      etcd: etcd && { ...etcd, resources: res(etcd.resources) },
    },
  };
}
