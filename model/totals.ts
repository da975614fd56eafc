/** A stage's totals, all summed from its workloads, so every report counts the same pods. */
import type { Workload } from "./workloads";

export interface StageTotals {
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

export function stageTotals(ws: readonly Workload[]): StageTotals {
  const sum = (f: (w: Workload) => number) => ws.reduce((n, w) => n + f(w), 0);
  const stateful = ws.filter((w) => w.volumeGi > 0);
  return {
    workloads: ws.length,
    podsAtRest: sum((w) => w.replicas),
    podsAtPeak: sum((w) => w.peakReplicas),
    cpuMilliAtRest: sum((w) => w.replicas * w.request.cpuMilli),
    cpuMilliAtPeak: sum((w) => w.peakReplicas * w.request.cpuMilli),
    memoryMiAtRest: sum((w) => w.replicas * w.request.memoryMi),
    memoryMiAtPeak: sum((w) => w.peakReplicas * w.request.memoryMi),
    volumes: stateful.reduce((n, w) => n + w.replicas, 0),
    volumeGiB: stateful.reduce((n, w) => n + w.replicas * w.volumeGi, 0),
    loadBalancers: ws.filter((w) => w.loadBalancer).length,
  };
}
