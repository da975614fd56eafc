/**
 * Shared by the render-mode and live-cluster move tests: a move's preview judged by the data guard,
 * the preview's steps (which leave unchanged objects out), and the stores' objects by name.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { dataLosses, type PlanFile, type StateFile } from "../../policy/plan";

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

/**
 * `pulumi preview --json` (returned, for the test's own checks and artifacts) with the plan saved,
 * judged with the stack's state by the guard every `npm run stage -- <stack> preview` runs
 * (policy/plan.ts): one rule for what a move may not do to data, not a second copy of it here.
 * `pulumi` runs one pulumi command on the test's stack; `dir` holds the plan and state files.
 */
export function guardedPreview(pulumi: (args: string) => string, dir: string): { json: string; losses: string[] } {
  const plan = path.join(dir, "plan.json");
  const state = path.join(dir, "state.json");
  const json = pulumi(`preview --json --save-plan ${plan}`);
  pulumi(`stack export --file ${state}`);
  const read = <T>(f: string) => JSON.parse(fs.readFileSync(f, "utf8")) as T;
  return { json, losses: dataLosses(read<PlanFile>(plan), read<StateFile>(state)) };
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
