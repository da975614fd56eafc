/** The numbers of a stage, all counted from `workloads(spec)` so every report counts the same pods. */
import type { Spec } from "../../spec/schema";
import { gibibytes, millicores, workloads } from "../../model/workloads";

export interface StageNumbers {
  readonly stage: string;
  readonly workloads: number;
  readonly podsAtRest: number;
  readonly podsAtPeak: number;
  /** Sum of CPU requests of the pods at rest, in millicores. */
  readonly cpuMilliAtRest: number;
  readonly cpuMilliAtPeak: number;
  /** Sum of memory requests of the pods at rest, in MiB. */
  readonly memoryMiAtRest: number;
  readonly memoryMiAtPeak: number;
  /** Persistent volumes (one per StatefulSet replica) and their total size. */
  readonly volumes: number;
  readonly volumeGiB: number;
  readonly loadBalancers: number;
}

export function stageNumbers(spec: Spec): StageNumbers {
  const ws = workloads(spec);
  const sum = (f: (w: (typeof ws)[number]) => number) => ws.reduce((n, w) => n + f(w), 0);
  const cpu = (w: (typeof ws)[number]) => millicores(w.resources.cpu);
  const mem = (w: (typeof ws)[number]) => gibibytes(w.resources.memory) * 1024;
  const stateful = ws.filter((w) => w.volumeGi > 0);
  return {
    stage: spec.stage,
    workloads: ws.length,
    podsAtRest: sum((w) => w.replicas),
    podsAtPeak: sum((w) => w.peakReplicas),
    cpuMilliAtRest: sum((w) => w.replicas * cpu(w)),
    cpuMilliAtPeak: sum((w) => w.peakReplicas * cpu(w)),
    memoryMiAtRest: sum((w) => w.replicas * mem(w)),
    memoryMiAtPeak: sum((w) => w.peakReplicas * mem(w)),
    volumes: stateful.reduce((n, w) => n + w.replicas, 0),
    volumeGiB: stateful.reduce((n, w) => n + w.replicas * w.volumeGi, 0),
    loadBalancers: ws.filter((w) => w.loadBalancer).length,
  };
}
