/**
 * What a stage move may not do to data, judged from `pulumi preview --json` steps (which leave
 * unchanged objects out). Shared by the render-mode and live-cluster move tests.
 */
import { spawnSync } from "child_process";

export interface Step {
  op: string;
  urn: string;
  oldState?: { type?: string; inputs?: { metadata?: { name?: string } }; retainOnDelete?: boolean; protect?: boolean };
  newState?: { type?: string; inputs?: { metadata?: { name?: string } } };
}

/** The stores' StatefulSets, by Kubernetes name. */
export const isDataStatefulSet = (name: string): boolean => ["mysql", "mysql-replica", "redis", "etcd"].includes(name);
/** The stores' Secrets (credentials), by Kubernetes name. */
export const isDataSecret = (name: string): boolean => /^(mysql-|redis-|etcd-)/.test(name);

/** Data-bearing: the stores' StatefulSets, their Secrets, the namespace. */
export function dataBearing(step: Step): boolean {
  const type = step.oldState?.type ?? step.newState?.type ?? "";
  const name = step.oldState?.inputs?.metadata?.name ?? step.newState?.inputs?.metadata?.name ?? "";
  if (type === "kubernetes:apps/v1:StatefulSet") return isDataStatefulSet(name);
  if (type === "kubernetes:core/v1:Secret") return isDataSecret(name);
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

/** Runs a bash script with the project's environment; on failure the error carries its output. */
export function shell(root: string, script: string, cwd: string, env: NodeJS.ProcessEnv): string {
  const r = spawnSync("bash", ["-c", `source ${root}/scripts/env.sh && ${script}`], {
    cwd,
    env,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) {
    const tail = (s: string) => s.split("\n").slice(-40).join("\n");
    throw new Error(`${script} exited ${r.status}\n--- stdout (tail)\n${tail(r.stdout)}\n--- stderr (tail)\n${tail(r.stderr)}`);
  }
  return r.stdout;
}
