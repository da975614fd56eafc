/**
 * The pre-flight of a live stack (`kubeconfig` target), run by scripts/stage.sh before `pulumi up`
 * or a preview touches anything:
 *
 *   node -r ts-node/register/transpile-only scripts/preflight/main.ts stacks/Pulumi.<stack>.yaml
 *
 * - the cluster answers (kubectl get nodes);
 * - the stage fits its schedulable nodes (validate/clusterFit.ts: the model's requests after
 *   overrides and `target.fit` against the nodes' allocatable, less other namespaces' pods);
 * - on the local cluster's real node (a kubeconfig in a scripts/cluster.sh state dir whose node
 *   runs containerd), every image a real pod runs is in that containerd (validate/nodeImages.ts),
 *   since no registry is reachable; else the fix is `npx stagecraft images build <name>`.
 * Each problem names the stack, the field and the fix; exit 1 on any. A render or EKS target has
 * no cluster to ask here (EKS capacity is checked at validation): nothing to do, exit 0.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { formatProblem, SpecError, type SpecProblem } from "../../spec/errors";
import { readStackFile } from "../../spec/stackFile";
import { validateStack } from "../../validate/validateStack";
import { checkClusterFit, demands, show } from "../../validate/clusterFit";
import { checkNodeImages } from "../../validate/nodeImages";
import { parseCatalog } from "../images/catalog";
import { layoutFor } from "../cluster/node/layout";
import { parseCtrImages, parseNodes } from "./cluster";

const root = path.resolve(__dirname, "../..");
const tools = process.env.STAGECRAFT_TOOLS || path.join(root, ".tools");
const say = (s: string) => process.stderr.write(`[preflight] ${s}\n`);

function run(cmd: string, args: string[]): { ok: boolean; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
  return { ok: !r.error && r.status === 0, out: r.stdout ?? "", err: (r.error?.message ?? r.stderr ?? "").trim() };
}

export function preflight(file: string): number {
  const { stack, raw } = readStackFile(file);
  let loaded;
  try {
    loaded = validateStack(stack, raw);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 1;
  }
  const { target, spec, model } = loaded;
  if (target.kind !== "kubeconfig") {
    say(`stack ${stack}: target '${target.kind}' has no live cluster to check here`);
    return 0;
  }
  const fail = (problems: SpecProblem[]) => {
    for (const p of problems) process.stderr.write(`${formatProblem(stack, p)}\n`);
    say(`stack ${stack}: ${problems.length} problem(s) above; nothing was touched`);
    return 1;
  };

  // The provider reads a relative kubeconfig path from the program's directory (the repo root).
  const kubeconfig = target.kubeconfig
    ? path.resolve(root, target.kubeconfig)
    : process.env.KUBECONFIG || path.join(os.homedir(), ".kube", "config");
  const local = path.join(tools, "cluster", "kubeconfig");
  const upFix =
    path.resolve(kubeconfig) === path.resolve(process.env.STAGECRAFT_CLUSTER_DIR || path.dirname(local), "kubeconfig")
      ? "npm run cluster -- up --real-node (the local cluster), or npm run local"
      : "start that cluster, or point the stack at a running one";
  if (!fs.existsSync(kubeconfig))
    return fail([
      {
        key: "target",
        path: ["kubeconfig"],
        message: `is ${kubeconfig}, which does not exist: no cluster is up there`,
        fix: `${upFix}; or pulumi config set --path 'target.kubeconfig' <a kubeconfig file> --stack ${stack}`,
      },
    ]);
  const kubectlBin = fs.existsSync(path.join(tools, "bin", "kubectl")) ? path.join(tools, "bin", "kubectl") : "kubectl";
  const kubectl = (...args: string[]) =>
    run(kubectlBin, [
      "--kubeconfig",
      kubeconfig,
      ...(target.context ? ["--context", target.context] : []),
      "--request-timeout=15s",
      ...args,
    ]);
  const nodesOut = kubectl("get", "nodes", "-o", "json");
  if (!nodesOut.ok)
    return fail([
      {
        key: "target",
        path: ["kubeconfig"],
        message: `is ${kubeconfig}, whose cluster does not answer (kubectl get nodes: ${nodesOut.err.split("\n")[0]})`,
        fix: upFix,
      },
    ]);
  const podsOut = kubectl("get", "pods", "-A", "-o", "json");
  if (!podsOut.ok) return fail([{ key: "target", path: ["kubeconfig"], message: `cannot list pods: ${podsOut.err}`, fix: upFix }]);
  const nodes = parseNodes(nodesOut.out, podsOut.out, target.namespace);

  const problems = checkClusterFit(stack, raw, nodes);

  // The local cluster's real node: the kubeconfig sits in scripts/cluster.sh's state dir, whose node runs containerd.
  const socket = layoutFor(path.dirname(kubeconfig), process.env).containerdSocket;
  let imagesNote = "images not checked (no local real node behind this kubeconfig: a cluster with a registry pulls them)";
  if (fs.existsSync(socket)) {
    const ls = run("ctr", ["-a", socket, "-n", "k8s.io", "images", "ls", "-q"]);
    if (!ls.ok)
      problems.push({
        key: "target",
        path: ["kubeconfig"],
        message: `points at the local cluster, but its node's images cannot be listed (ctr images ls: ${ls.err.split("\n")[0]})`,
        fix: "run as root (the real node is root's), or bring the node back with npm run cluster -- up --real-node",
      });
    else {
      const present = new Set(parseCtrImages(ls.out));
      const catalog = parseCatalog(fs.readFileSync(path.join(root, "images", "images.yaml"), "utf8"), tools);
      problems.push(...checkNodeImages(stack, spec, target, nodes, present, new Map(catalog.map((e) => [e.tag, e.name]))));
      const real = nodes.filter((n) => !n.fake && n.schedulable).map((n) => n.name);
      imagesNote = real.length
        ? `every image a pod on ${real.join(", ")} runs is in its containerd (${present.size} images there)`
        : "no real node is schedulable: no pod pulls an image";
    }
  }
  if (problems.length) return fail(problems);

  for (const d of demands(model.workloads, target, nodes).filter((x) => x.workloads.length))
    say(
      `${d.nodes.length === 1 ? d.nodes[0].name : d.nodes.map((n) => n.name).join(",")}: ` +
        `${show(d.asked, d.resource)} asked of ${show(d.free, d.resource)} free`,
    );
  say(`stack ${stack} (stage ${spec.stage}) fits its nodes; ${imagesNote}`);
  return 0;
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write("usage: scripts/preflight/main.ts stacks/Pulumi.<stack>.yaml\n");
    process.exit(2);
  }
  try {
    process.exit(preflight(file));
  } catch (e) {
    process.stderr.write(`${e instanceof SpecError ? e.message : (e as Error).stack}\n`);
    process.exit(1);
  }
}
