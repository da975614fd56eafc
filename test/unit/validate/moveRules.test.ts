import * as path from "path";
import { formatProblem } from "../../../spec/errors";
import type { Spec } from "../../../spec/schema";
import { readStackFile } from "../../../spec/stackFile";
import { checkStorageMove } from "../../../validate/moveRules";
import { validateStack } from "../../../validate/validateStack";
import { ROOT } from "../../lib/paths";

function stage(name: string): Spec {
  const { stack, raw } = readStackFile(path.join(ROOT, `stacks/Pulumi.${name}.yaml`));
  return validateStack(stack, raw).spec;
}

/** `spec` with one store's storage set to `size`. */
function sized(spec: Spec, store: "mysql" | "redis" | "etcd", size: string): Spec {
  const data = spec.data as unknown as Record<string, { storage: string }>;
  return { ...spec, data: { ...spec.data, [store]: { ...data[store], storage: size } } } as Spec;
}

describe("checkStorageMove", () => {
  test.each([
    ["mvc", "split"],
    ["split", "micro"],
    ["micro", "ddd"],
    ["ddd", "micro"],
  ])("the stage files' own moves (%s -> %s) keep every store's size", (from, to) => {
    expect(checkStorageMove("prod", stage(from), stage(to))).toEqual([]);
  });

  test("a store that only one side runs (etcd arrives with micro) is no change", () => {
    expect(checkStorageMove("prod", stage("split"), sized(stage("micro"), "etcd", "8Gi"))).toEqual([]);
  });

  test("a new size of a store both stages run is refused, naming the stack, field, StatefulSets and fix", () => {
    const problems = checkStorageMove("prod", stage("split"), sized(stage("micro"), "mysql", "100Gi"));
    expect(problems.map((p) => formatProblem("prod", p))).toEqual([
      "stack prod: spec.data.mysql.storage would change from 50Gi to 100Gi in the move from stage split to micro: a StatefulSet's " +
        "volumeClaimTemplates cannot change, so the engine would replace StatefulSet mysql, mysql-replica and the data with it. " +
        "Fix: keep this stack's size as an environment override, which promote keeps: " +
        "pulumi config set --path 'specOverrides.data.mysql.storage' 50Gi --stack prod " +
        "(to grow the volume, expand its PersistentVolumeClaims in place first, then set the override to the new size)",
    ]);
  });

  test("each changed store is its own problem; the same size spelled the same is none", () => {
    const to = sized(sized(stage("ddd"), "redis", "20Gi"), "etcd", "6Gi");
    expect(checkStorageMove("prod", stage("micro"), to).map((p) => p.path.join("."))).toEqual(["data.redis.storage", "data.etcd.storage"]);
    expect(checkStorageMove("prod", stage("micro"), sized(stage("ddd"), "redis", stage("micro").data.redis.storage))).toEqual([]);
  });
});
