/**
 * Whether the Deployments and StatefulSets a `pulumi up` touched had finished rolling out when it
 * returned: the provider's awaits promise that, and the callers-after-callees order depends on it.
 * The conditions are the ones `kubectl rollout status` waits for. Pure: reads `kubectl get -o json`.
 */

export interface Workload {
  kind: string;
  metadata: { name: string; generation?: number };
  spec: { replicas?: number; updateStrategy?: { type?: string } };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    readyReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
  };
}

/**
 * `Kind/name: why` for every workload whose rollout is not finished; empty when all are.
 * `autoscaled` names (`Kind/name`) the workloads an autoscaler scales: their replica count is the
 * autoscaler's to change at any time (their manifests leave it out), so for them a scale in progress
 * (every pod already of the new template and available, fewer or more than the count) is not an
 * unfinished rollout; old pods left, or updated pods not available, still are.
 */
export function unfinishedRollouts(items: readonly Workload[], autoscaled: ReadonlySet<string> = new Set()): string[] {
  return items.flatMap((w) => {
    const s = w.status ?? {};
    const want = w.spec.replicas ?? 1;
    const id = `${w.kind}/${w.metadata.name}`;
    if ((s.observedGeneration ?? 0) < (w.metadata.generation ?? 0))
      return [`${id}: generation ${w.metadata.generation} not yet observed (${s.observedGeneration ?? "none"})`];
    if (w.kind === "Deployment") {
      const [updated, total, available] = [s.updatedReplicas ?? 0, s.replicas ?? 0, s.availableReplicas ?? 0];
      const enough = autoscaled.has(id) ? updated >= 1 : updated >= want;
      if (!enough || total > updated || available < updated)
        return [`${id}: ${updated} of ${want} updated, ${total} in all, ${available} available`];
      return [];
    }
    if (w.kind === "StatefulSet" && (w.spec.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate") {
      const [updated, ready] = [s.updatedReplicas ?? 0, s.readyReplicas ?? 0];
      if (s.updateRevision !== s.currentRevision || updated < want || ready < want)
        return [`${id}: revision ${s.currentRevision} -> ${s.updateRevision}, ${updated} of ${want} updated, ${ready} ready`];
    }
    return [];
  });
}
