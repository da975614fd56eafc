/**
 * Rules for a stage move (`stagecraft promote`): what the new stage may not change for a stack that
 * already runs the old one. A store's storage size goes verbatim into its StatefulSet's
 * volumeClaimTemplates, which Kubernetes never lets change: the engine would replace the
 * StatefulSet, its pods and the claims behind it. Pure: the two specs in, problems out.
 */
import { NAMES } from "../model/names";
import { setCommand, type SpecProblem } from "../spec/errors";
import type { Spec } from "../spec/schema";

/** Each store, and the StatefulSets its `storage` sizes (the read replicas share the primary's). */
const STORES = [
  ["mysql", (s: Spec) => [NAMES.mysql, ...(s.data.mysql.readReplicas > 0 ? [NAMES.mysqlReplica] : [])]],
  ["redis", () => [NAMES.redis]],
  ["etcd", () => [NAMES.etcd]],
] as const;

/** One problem per store that both specs run and whose storage the move would change. */
export function checkStorageMove(stack: string, from: Spec, to: Spec): SpecProblem[] {
  const out: SpecProblem[] = [];
  for (const [store, statefulSets] of STORES) {
    const before = from.data[store]?.storage;
    const after = to.data[store]?.storage;
    if (before === undefined || after === undefined || before === after) continue;
    const path = ["data", store, "storage"];
    out.push({
      key: "spec",
      path,
      message:
        `would change from ${before} to ${after} in the move from stage ${from.stage} to ${to.stage}: a StatefulSet's ` +
        `volumeClaimTemplates cannot change, so the engine would replace StatefulSet ${statefulSets(from).join(", ")} and the data with it`,
      fix:
        `keep this stack's size as an environment override, which promote keeps: ${setCommand(stack, "specOverrides", path, before)}` +
        ` (to grow the volume, expand its PersistentVolumeClaims in place first, then set the override to the new size)`,
    });
  }
  return out;
}
