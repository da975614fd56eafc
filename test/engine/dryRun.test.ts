/**
 * A real API server accepts every rendered stage: `kubectl apply --dry-run=server --validate=strict`
 * of rendered/<stage> (globalSetup renders them through the real engine) against the local
 * cluster's kube-apiserver runs admission and the full schema (unknown fields fail) and persists
 * nothing. The test starts its own cluster instance (own state dir, free ports), as
 * cluster.test.ts does, and stops it afterwards.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { readObjects } from "../../cli/renderTree";
import { run } from "../lib/proc";
import { useFreeClusterPorts } from "../lib/testCluster";
import { STAGES } from "./globalSetup";

const ROOT = path.resolve(__dirname, "../..");
const TOOLS = process.env.STAGECRAFT_TOOLS ?? path.join(ROOT, ".tools");
const state = path.join(ROOT, ".tools", `cluster-dryrun-${process.pid}`);
const kubectlBin = path.join(TOOLS, "bin", "kubectl");
const env: NodeJS.ProcessEnv = { ...process.env, STAGECRAFT_CLUSTER_DIR: state, KUBECONFIG: path.join(state, "kubeconfig") };

function cluster(cmd: "up" | "down", timeout = 120_000) {
  return spawnSync("bash", [path.join(ROOT, "scripts/cluster.sh"), cmd], { cwd: ROOT, env, encoding: "utf8", timeout });
}

describe("kubectl apply --dry-run=server of every rendered stage", () => {
  beforeAll(async () => {
    await useFreeClusterPorts(env);
    const r = cluster("up", 50 * 60_000);
    if (r.status !== 0) throw new Error(`cluster up failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    // The namespace exists for real (a dry-run Namespace would not hold the dry-run objects in it),
    // created as `apply` would, so applying the rendered Namespace over it warns of nothing.
    const namespaces = new Set(
      STAGES.flatMap((s) => readObjects(path.join(ROOT, "rendered", s)).flatMap((o) => (o.kind === "Namespace" ? [o.metadata.name] : []))),
    );
    for (const ns of namespaces) run(kubectlBin, ["create", "namespace", ns, "--save-config"], { env });
  }, 55 * 60_000);

  afterAll(() => {
    cluster("down");
    fs.rmSync(`${state}.lock`, { force: true });
  });

  test.each(STAGES)(
    "stage %s: the API server accepts every object, with no warning",
    (stage) => {
      const dir = path.join(ROOT, "rendered", stage);
      const objects = readObjects(dir);
      const r = spawnSync(kubectlBin, ["apply", "--dry-run=server", "--validate=strict", "-R", "-f", dir], {
        env,
        encoding: "utf8",
        timeout: 300_000,
      });
      if (r.status !== 0) throw new Error(`kubectl apply --dry-run=server -f rendered/${stage} exited ${r.status}:\n${r.stderr}`);
      // One "(server dry run)" line per object: the check had the whole stage to look at.
      expect(r.stdout.split("\n").filter((l) => l.endsWith("(server dry run)"))).toHaveLength(objects.length);
      expect(r.stderr.split("\n").filter((l) => /^Warning:/.test(l))).toEqual([]);
    },
    10 * 60_000,
  );
});
