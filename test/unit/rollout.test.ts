import { unfinishedRollouts } from "../lib/rollout";

const deployment = (generation: number, status: Record<string, unknown>, replicas = 2) => ({
  kind: "Deployment",
  metadata: { name: "web", generation },
  spec: { replicas },
  status,
});
const statefulSet = (status: Record<string, unknown>) => ({
  kind: "StatefulSet",
  metadata: { name: "mysql", generation: 3 },
  spec: { replicas: 1, updateStrategy: { type: "RollingUpdate" } },
  status: { observedGeneration: 3, ...status },
});

describe("unfinishedRollouts: what `kubectl rollout status` would still wait for", () => {
  it("a finished Deployment and StatefulSet pass", () => {
    expect(
      unfinishedRollouts([
        deployment(4, { observedGeneration: 4, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }),
        statefulSet({ currentRevision: "a", updateRevision: "a", updatedReplicas: 1, readyReplicas: 1 }),
      ]),
    ).toEqual([]);
  });

  it("the provider's race: a new generation whose status still shows the previous rollout done", () => {
    expect(unfinishedRollouts([deployment(5, { observedGeneration: 4, replicas: 2, updatedReplicas: 2, availableReplicas: 2 })])).toEqual([
      "Deployment/web: generation 5 not yet observed (4)",
    ]);
  });

  it("a Deployment mid-rollout: new pods not all updated or available, or old ones left", () => {
    expect(
      unfinishedRollouts([deployment(5, { observedGeneration: 5, replicas: 3, updatedReplicas: 1, availableReplicas: 2 })]),
    ).toHaveLength(1);
    expect(
      unfinishedRollouts([deployment(5, { observedGeneration: 5, replicas: 3, updatedReplicas: 2, availableReplicas: 3 })]),
    ).toHaveLength(1);
    expect(
      unfinishedRollouts([deployment(5, { observedGeneration: 5, replicas: 2, updatedReplicas: 2, availableReplicas: 1 })]),
    ).toHaveLength(1);
  });

  it("an autoscaled Deployment being scaled after its rollout is finished; mid-rollout it is not", () => {
    const autoscaled = new Set(["Deployment/web"]);
    // Created with one pod (no replicas in its manifest), then the autoscaler's first sync asks for 2.
    const scaling = deployment(2, { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 });
    expect(unfinishedRollouts([scaling], autoscaled)).toEqual([]);
    expect(unfinishedRollouts([scaling])).toEqual(["Deployment/web: 1 of 2 updated, 1 in all, 1 available"]);
    // Old pods left, an updated pod not available, or none updated: unfinished, autoscaled or not.
    for (const status of [
      { observedGeneration: 2, replicas: 2, updatedReplicas: 1, availableReplicas: 2 },
      { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 0 },
      { observedGeneration: 2, replicas: 0, updatedReplicas: 0, availableReplicas: 0 },
    ])
      expect(unfinishedRollouts([deployment(2, status)], autoscaled)).toHaveLength(1);
    expect(
      unfinishedRollouts([deployment(3, { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 })], autoscaled),
    ).toHaveLength(1);
  });

  it("a StatefulSet mid-rollout: revisions differ or the pod is not ready", () => {
    expect(
      unfinishedRollouts([statefulSet({ currentRevision: "a", updateRevision: "b", updatedReplicas: 0, readyReplicas: 1 })]),
    ).toHaveLength(1);
    expect(
      unfinishedRollouts([statefulSet({ currentRevision: "b", updateRevision: "b", updatedReplicas: 1, readyReplicas: 0 })]),
    ).toHaveLength(1);
  });
});
