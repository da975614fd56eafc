/**
 * Live stage moves on a real cluster: the local control plane (scripts/cluster.sh, KWOK nodes) on
 * its own ports, and one stack `pulumi up`-ed with the provider's normal await logic at mvc, then
 * moved to split, micro, ddd and back to micro (`promotedText`, as `stagecraft promote` does).
 * Each move's preview is saved under artifacts/live/; the test fails on any replace or unretained
 * delete of a data-bearing object, on any such object whose UID changes across the move, on a
 * Deployment or StatefulSet still rolling out when `up` returned, or on a second preview that plans
 * anything.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { promotedText } from "../../cli/promote";
import { useFreeClusterPorts } from "../lib/testCluster";
import { guardedPreview, isDataSecret, isDataStatefulSet, shell, type Step } from "../lib/moves";
import { copyProgram } from "../lib/program";
import { unfinishedRollouts, type Workload } from "../lib/rollout";

const ROOT = path.join(__dirname, "..", "..");
const STACK = "live";
const MOVES = ["split", "micro", "ddd", "micro"];
const NAMESPACE = "stagecraft";

/** UIDs of the data-bearing objects in the namespace: StatefulSets of the stores, their PVCs and Secrets. */
type Uids = Record<string, string>;

describe("live stage moves on a real local cluster", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "stagecraft-live-"));
  const project = path.join(work, "project");
  const clusterDir = path.join(work, "cluster");
  const configFile = path.join(project, "stacks", `Pulumi.${STACK}.yaml`);
  const artifacts = path.join(ROOT, "artifacts", "live");
  const env: NodeJS.ProcessEnv = { ...process.env, PULUMI_BACKEND_URL: `file://${work}`, STAGECRAFT_CLUSTER_DIR: clusterDir };
  const run = (script: string, cwd = project) => shell(ROOT, script, cwd, env);
  const pulumi = (args: string) => run(`pulumi ${args} --stack ${STACK} --non-interactive`);
  const kubectl = (args: string) => run(`kubectl --kubeconfig ${clusterDir}/kubeconfig ${args}`);

  /** `Kind/name` of every workload a HorizontalPodAutoscaler in the namespace scales. */
  function autoscaledWorkloads(): Set<string> {
    const list = JSON.parse(kubectl(`get horizontalpodautoscalers -n ${NAMESPACE} -o json`)) as {
      items: { spec: { scaleTargetRef: { kind: string; name: string } } }[];
    };
    return new Set(list.items.map((h) => `${h.spec.scaleTargetRef.kind}/${h.spec.scaleTargetRef.name}`));
  }

  function uids(): Uids {
    const list = JSON.parse(kubectl(`get statefulsets,persistentvolumeclaims,secrets -n ${NAMESPACE} -o json`)) as {
      items: { kind: string; metadata: { name: string; uid: string } }[];
    };
    return Object.fromEntries(
      list.items
        .filter((o) => o.kind !== "StatefulSet" || isDataStatefulSet(o.metadata.name))
        .filter((o) => o.kind !== "Secret" || isDataSecret(o.metadata.name))
        .map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.uid]),
    );
  }

  beforeAll(async () => {
    fs.mkdirSync(artifacts, { recursive: true });
    await useFreeClusterPorts(env);
    run("bash scripts/toolchain.sh && bash scripts/cluster.sh up", ROOT);

    copyProgram(ROOT, project);
    // The environment half: this cluster. The stage half: mvc.
    const doc = parseDocument(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.mvc.yaml"), "utf8"));
    doc.setIn(
      ["config", "stagecraft:target"],
      doc.createNode({ kind: "kubeconfig", kubeconfig: `${clusterDir}/kubeconfig`, namespace: NAMESPACE }),
    );
    fs.writeFileSync(configFile, doc.toString());
    pulumi("stack init");
    pulumi("config set --secret kongMobileAppKey live-consumer-key-0123456789");
    const t0 = Date.now();
    pulumi("up --yes --skip-preview");
    process.stderr.write(`[live] up mvc on the local cluster: ${((Date.now() - t0) / 1000).toFixed(0)}s\n`);
  }, 30 * 60_000);

  afterAll(() => {
    // The control plane's logs outlive the run, for reading a failure afterwards.
    if (fs.existsSync(path.join(clusterDir, "logs")))
      fs.cpSync(path.join(clusterDir, "logs"), path.join(artifacts, "cluster-logs"), { recursive: true });
    try {
      run("bash scripts/cluster.sh down", ROOT);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }, 5 * 60_000);

  test("stage mvc is up: its workloads exist in the cluster", () => {
    const names = kubectl(`get deployments,statefulsets -n ${NAMESPACE} -o name`);
    for (const n of [
      "deployment.apps/nginx",
      "deployment.apps/web",
      "statefulset.apps/mysql",
      "statefulset.apps/redis",
      "statefulset.apps/celery-beat",
    ]) {
      expect(names).toContain(n);
    }
  });

  let from = "mvc";
  test.each(MOVES)(
    "move to %s: nothing data-bearing replaced, lost or recreated; a second preview is empty",
    (to) => {
      const before = uids();
      fs.writeFileSync(
        configFile,
        promotedText(fs.readFileSync(configFile, "utf8"), fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${to}.yaml`), "utf8")),
      );
      const { json, losses } = guardedPreview(pulumi, work);
      fs.writeFileSync(path.join(artifacts, `${from}-to-${to}.json`), json);
      expect(losses).toEqual([]);

      const t0 = Date.now();
      pulumi("up --yes --skip-preview");
      process.stderr.write(`[live] ${from} -> ${to}: ${((Date.now() - t0) / 1000).toFixed(0)}s\n`);
      // The awaits held `up` until every rollout had finished (a callee's before its callers').
      const workloads = JSON.parse(kubectl(`get deployments,statefulsets -n ${NAMESPACE} -o json`)) as { items: Workload[] };
      expect(unfinishedRollouts(workloads.items, autoscaledWorkloads())).toEqual([]);

      const after = uids();
      const changed = Object.keys(before).filter((k) => after[k] !== undefined && after[k] !== before[k]);
      const gone = Object.keys(before).filter((k) => after[k] === undefined);
      expect({ changed, gone }).toEqual({ changed: [], gone: [] });
      expect(before["StatefulSet/mysql"]).toBeDefined();
      expect(before["StatefulSet/redis"]).toBeDefined();

      const again = (JSON.parse(pulumi("preview --json")) as { steps?: Step[] }).steps ?? [];
      expect(again.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn}`)).toEqual([]);
      from = to;
    },
    20 * 60_000,
  );
});
