/**
 * What a stage move may not do to data, judged from `pulumi preview --json` steps (which leave
 * unchanged objects out). Shared by the render-mode and live-cluster move tests.
 */

export interface Step {
  op: string;
  urn: string;
  oldState?: { type?: string; inputs?: { metadata?: { name?: string } }; retainOnDelete?: boolean; protect?: boolean };
  newState?: { type?: string; inputs?: { metadata?: { name?: string } } };
}

/** Data-bearing: the stores' StatefulSets, their Secrets, the namespace. */
export function dataBearing(step: Step): boolean {
  const type = step.oldState?.type ?? step.newState?.type ?? "";
  const name = step.oldState?.inputs?.metadata?.name ?? step.newState?.inputs?.metadata?.name ?? "";
  if (type === "kubernetes:apps/v1:StatefulSet") return ["mysql", "mysql-replica", "redis", "etcd"].includes(name);
  if (type === "kubernetes:core/v1:Secret") return /^(mysql-|redis-|etcd-)/.test(name);
  return type === "kubernetes:core/v1:Namespace" || type === "kubernetes:core/v1:PersistentVolumeClaim";
}

/** What a move did to data-bearing objects that loses or risks data. Empty is good. */
export function dataLosses(steps: readonly Step[]): string[] {
  return steps
    .filter(dataBearing)
    .filter(
      (s) => ["replace", "create-replacement", "delete-replaced"].includes(s.op) || (s.op === "delete" && !s.oldState?.retainOnDelete),
    )
    .map((s) => `${s.op} ${s.urn}`);
}
