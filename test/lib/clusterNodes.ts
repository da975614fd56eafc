/** The local cluster's nodes as the pre-flight reads them, and stack local at any stage: shared by the fit and image tests. */
import * as path from "path";
import type { RawStack } from "../../spec/config";
import { readStackFile } from "../../spec/stackFile";
import type { ClusterNode } from "../../validate/clusterFit";
import { nodeLabels } from "../../scripts/cluster/node/config";
import { ROOT } from "./paths";

const local = readStackFile(path.join(ROOT, "stacks/Pulumi.local.yaml"));
export const localTarget = local.raw.target as Record<string, unknown>;

/** Stage `stage` in stack local (what `promote --to <stage>` leaves), with another target block if given. */
export function localRaw(stage: string, target: Record<string, unknown> = localTarget): RawStack {
  const { raw } = readStackFile(path.join(ROOT, `stacks/Pulumi.${stage}.yaml`));
  return { ...raw, target };
}

/** The local cluster as `npm run cluster -- up --real-node` makes it: one 2-core node, CoreDNS on it, three tainted KWOK nodes. */
export function realNode(over: Partial<ClusterNode> = {}): ClusterNode {
  return {
    name: "stagecraft-node",
    labels: { "kubernetes.io/hostname": "stagecraft-node", ...nodeLabels() },
    taints: [],
    schedulable: true,
    fake: false,
    allocatable: { cpuMilli: 2000, memoryMi: 24 * 1024 - 200 },
    used: { cpuMilli: 100, memoryMi: 70 },
    ...over,
  };
}
export const kwokNodes: ClusterNode[] = ["a", "b", "c"].map((z) => ({
  name: `stagecraft-${z}`,
  labels: { type: "kwok", "topology.kubernetes.io/zone": `local-${z}` },
  taints: [{ key: "stagecraft.local/fake", value: "true", effect: "NoSchedule" }],
  schedulable: true,
  fake: true,
  allocatable: { cpuMilli: 32000, memoryMi: 131072 },
  used: { cpuMilli: 0, memoryMi: 0 },
}));
