/**
 * The local cluster's real node: containerd + runc, the bridge CNI, kubelet, kube-proxy, CoreDNS,
 * a LoadBalancer/volume controller. scripts/cluster.sh runs it around the control plane:
 *
 *   main.ts prepare     before the control plane: clean what a crashed run left, save the sysctls,
 *                       create the node's bridge and address (the apiserver binds to it)
 *   main.ts up          after it: configs, containerd, images, kubelet, kube-proxy, controller,
 *                       CoreDNS; waits for node Ready and CoreDNS Ready
 *   main.ts down        drain the node, stop every process by PID, undo every host change but the
 *                       node's bridge (the apiserver still listens on its address)
 *   main.ts release     after the control plane stopped: the node's bridge, and the records of `up`
 *   main.ts status      the node's processes
 *   main.ts controller  (internal) the controller process itself
 *
 * Environment: STAGECRAFT_CLUSTER_DIR (state), STAGECRAFT_TOOLS (.tools), ports as in layout.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { corednsManifests, kubeletApiRbac, kubeRouterRbac, storageClassManifest, COREDNS_IMAGE } from "./addons";
import { cleanupPlan, describe } from "./cleanup";
import { cniConflist, containerdConfig, kubeletArgs, kubeletConfig, kubeProxyConfig, kubeRouterArgs, PAUSE_IMAGE } from "./config";
import { runController } from "./controller";
import * as host from "./host";
import { BASE_IMAGE, baseArchive, corednsArchive, importImage, pauseArchive } from "./images";
import { layoutFor, paths, type NodeLayout } from "./layout";

const root = path.resolve(__dirname, "../../..");
const tools = process.env.STAGECRAFT_TOOLS || path.join(root, ".tools");
const bin = path.join(tools, "bin");
const clusterDir = process.env.STAGECRAFT_CLUSTER_DIR || path.join(tools, "cluster");
const kubectlBin = path.join(bin, "kubectl");
const { log, Fail, sh } = host;

function procs(l: NodeLayout): Record<"containerd" | "kubelet" | "kube-proxy" | "kube-router" | "node-controller", host.Proc> {
  const p = paths(l);
  const kc = (n: string) => path.join(p.kubeconfigs, `${n}.kubeconfig`);
  return {
    containerd: { name: "containerd", bin: host.which("containerd") || "/usr/bin/containerd", args: ["--config", p.containerdConfig] },
    kubelet: { name: "kubelet", bin: path.join(bin, "kubelet"), args: kubeletArgs(l, kc("kubelet")) },
    "kube-proxy": { name: "kube-proxy", bin: path.join(bin, "kube-proxy"), args: ["--config", p.proxyConfig] },
    "kube-router": { name: "kube-router", bin: path.join(bin, "kube-router"), args: kubeRouterArgs(l, kc("kube-router")) },
    "node-controller": {
      name: "node-controller",
      bin: process.execPath,
      args: [...process.execArgv, __filename, "controller"],
    },
  };
}

const kubectl = (args: string[], input?: string, allowFail = false) =>
  sh(kubectlBin, ["--kubeconfig", path.join(clusterDir, "kubeconfig"), ...args], { input, allowFail, timeout: 120_000 });

function preflight(): void {
  if (process.getuid?.() !== 0) throw new Fail("the real node needs root (bridges, iptables, mounts, cgroups). Fix: run as root");
  const missing = ["containerd", "runc", "ctr", "iptables", "ip"].filter((b) => !host.which(b));
  if (!fs.existsSync("/usr/lib/cni/bridge")) missing.push("/usr/lib/cni/bridge");
  if (missing.length) throw new Fail(`missing ${missing.join(", ")}. Fix: bash scripts/node-packages.sh`);
  for (const b of ["kubelet", "kube-proxy", "coredns", "kube-router"])
    if (!fs.existsSync(path.join(bin, b))) throw new Fail(`no ${b} in ${bin}. Fix: bash scripts/cluster-tools.sh --real-node`);
}

/** Another instance's bridge: one real node per machine (bridge name, node ports, iptables chains). */
function claimMachine(l: NodeLayout): void {
  const owner = "/run/stagecraft-real-node";
  let current = "";
  try {
    current = fs.readFileSync(owner, "utf8").trim();
  } catch {
    /* free */
  }
  if (current && current !== l.dir && fs.existsSync(current)) {
    throw new Fail(
      `a real node of another cluster state (${current}) is up on this machine (bridge ${l.bridge}). Fix: STAGECRAFT_CLUSTER_DIR=${path.dirname(current)} npm run cluster -- down`,
    );
  }
  fs.writeFileSync(owner, l.dir + "\n");
}

async function cleanup(l: NodeLayout, bridges: string[]): Promise<void> {
  const p = paths(l);
  const ps = procs(l);
  // Drain first, while the apiserver and kubelet run: the kubelet stops each pod and CNI DEL runs.
  if (host.livePid(p.pids, "kubelet", ps.kubelet.bin) && kubectl(["get", "node", l.nodeName], undefined, true)) {
    kubectl(["cordon", l.nodeName], undefined, true);
    log("draining: deleting the node's pods (the kubelet tears down their network)");
    kubectl(
      ["delete", "pods", "-A", "--field-selector", `spec.nodeName=${l.nodeName}`, "--grace-period=5", "--timeout=60s"],
      undefined,
      true,
    );
  }
  for (const n of ["node-controller", "kube-router", "kube-proxy", "kubelet"] as const) await host.stop(ps[n], p.pids);
  // Containers the drain missed: stop them through containerd so their shims exit.
  const cd = host.livePid(p.pids, "containerd", ps.containerd.bin);
  if (cd) {
    const ctr = (args: string[]) => sh("ctr", ["-a", l.containerdSocket, "-n", "k8s.io", ...args], { allowFail: true, timeout: 30_000 });
    const tasks = ctr(["tasks", "ls", "-q"]).split("\n").filter(Boolean);
    for (const t of tasks) ctr(["tasks", "kill", "-s", "SIGKILL", t]);
    for (const t of tasks) ctr(["tasks", "delete", "-f", t]);
  }
  await host.stop(ps.containerd, p.pids);
  // Shims whose containerd died before them (a crash) still name our socket.
  for (const pid of host.pidsWithArg(l.containerdSocket)) await host.stopPid("containerd-shim", pid, 2000);
  const plan = cleanupPlan(host.observe(l.cgroupRoot, p.hostChanges), l.dir, bridges);
  for (const s of plan) log(`cleanup: ${describe(s)}`);
  const failed = host.execute(plan);
  if (failed.length) throw new Fail(`cleanup left:\n  ${failed.join("\n  ")}`);
}

async function prepare(l: NodeLayout): Promise<void> {
  preflight();
  claimMachine(l);
  const p = paths(l);
  const ps = procs(l);
  const running = Object.values(ps).some((x) => host.livePid(p.pids, x.name, x.bin));
  const links = sh("ip", ["-o", "link", "show"]);
  if (!running && (fs.existsSync(p.hostChanges) || links.includes(` ${l.bridge}:`) || links.includes(` ${l.podBridge}:`))) {
    log("a previous run left state behind (crash?): cleaning it up first");
    await cleanup(l, [l.podBridge, l.bridge]);
    fs.rmSync(p.hostChanges, { force: true });
  }
  host.saveHostState(p.hostChanges);
  if (!sh("ip", ["-o", "link", "show"]).includes(` ${l.bridge}:`)) {
    sh("ip", ["link", "add", l.bridge, "type", "bridge"]);
    sh("ip", ["addr", "add", `${l.nodeIp}/32`, "dev", l.bridge]);
    sh("ip", ["link", "set", l.bridge, "up"]);
    // LoadBalancer addresses: the host sends them to the bridge, where kube-proxy's DNAT takes over.
    sh("ip", ["route", "add", l.lbPool, "dev", l.bridge]);
    log(`network: bridge ${l.bridge} with node IP ${l.nodeIp}, LoadBalancer pool ${l.lbPool} routed to it`);
  }
  // Pods reach the host's resolver and each other's Services through the host.
  host.writeSysctl("net.ipv4.ip_forward", "1");
  host.writeSysctl("net.bridge.bridge-nf-call-iptables", "1");
}

async function up(l: NodeLayout): Promise<void> {
  const t0 = Date.now();
  const secs = () => ((Date.now() - t0) / 1000).toFixed(1);
  preflight();
  const p = paths(l);
  const ps = procs(l);
  for (const d of [p.containerdRoot, p.containerdState, p.cniConfDir, p.cniState, p.kubeletRoot, p.podLogs, p.volumes, p.logs, p.pids])
    fs.mkdirSync(d, { recursive: true });
  // Written only when they change: kube-proxy watches its config file and exits on any write to it
  // (seen: "content of the proxy server's configuration file was updated" on an up of a running node).
  host.writeIfChanged(p.containerdConfig, containerdConfig(l));
  host.writeIfChanged(path.join(p.cniConfDir, "10-stagecraft.conflist"), cniConflist(l));
  host.writeIfChanged(p.kubeletConfig, kubeletConfig(l));
  host.writeIfChanged(p.proxyConfig, kubeProxyConfig(l, path.join(p.kubeconfigs, "kube-proxy.kubeconfig")));
  // The kubelet refuses a cgroup root that does not exist.
  for (const c of host.cgroupControllers()) {
    const dir = path.join(c, l.cgroupRoot);
    fs.mkdirSync(dir, { recursive: true });
    // A new v1 cpuset cgroup starts with no CPUs and no memory nodes: no task could join it.
    for (const f of ["cpuset.cpus", "cpuset.mems"]) {
      const file = path.join(dir, f);
      if (fs.existsSync(file) && !fs.readFileSync(file, "utf8").trim()) fs.writeFileSync(file, fs.readFileSync(path.join(c, f), "utf8"));
    }
  }

  const cd = host.start(ps.containerd, p.pids, p.logs);
  await host.waitFor(
    "containerd answering",
    30,
    () => sh("ctr", ["-a", l.containerdSocket, "version"], { allowFail: true }).includes("Server"),
    path.join(p.logs, "containerd.log"),
    () => !host.alive(cd),
  );
  log(`containerd: ready (${secs()}s)`);

  const dirs = { root, bin, cache: path.join(tools, "images") };
  fs.mkdirSync(dirs.cache, { recursive: true });
  importImage(l.containerdSocket, PAUSE_IMAGE, pauseArchive(dirs));
  importImage(l.containerdSocket, COREDNS_IMAGE, corednsArchive(dirs));
  importImage(l.containerdSocket, BASE_IMAGE, baseArchive(dirs));
  log(`images: ready (${secs()}s)`);

  kubectl(["apply", "-f", "-"], kubeletApiRbac());
  const kl = host.start(ps.kubelet, p.pids, p.logs);
  await host.waitFor(
    `node ${l.nodeName} Ready`,
    120,
    () => {
      kubectl(["wait", "--for=condition=Ready", `node/${l.nodeName}`, "--timeout=2s"]);
      return true;
    },
    path.join(p.logs, "kubelet.log"),
    () => !host.alive(kl),
  );
  log(`node ${l.nodeName}: Ready (${secs()}s after containerd start)`);
  const kp = host.start(ps["kube-proxy"], p.pids, p.logs);
  await host.waitFor(
    "kube-proxy healthy",
    60,
    () => sh("curl", ["-sf", `http://127.0.0.1:${l.ports.proxyHealthz}/healthz`], { allowFail: true }) !== "",
    path.join(p.logs, "kube-proxy.log"),
    () => !host.alive(kp),
  );
  kubectl(["apply", "-f", "-"], kubeRouterRbac());
  const kr = host.start(ps["kube-router"], p.pids, p.logs);
  await host.waitFor(
    "kube-router (NetworkPolicies) healthy",
    60,
    () => sh("curl", ["-sf", `http://127.0.0.1:${l.ports.routerHealth}/healthz`], { allowFail: true }) !== "",
    path.join(p.logs, "kube-router.log"),
    () => !host.alive(kr),
  );
  // The controller keeps no state (it reads the API each round), so `up` on a running cluster
  // restarts it: a checkout's newer controller takes over, e.g. the one that turns older hostPath
  // PVs into local PVs before that checkout's pods need fsGroup on them.
  await host.stop(ps["node-controller"], p.pids);
  host.start(ps["node-controller"], p.pids, p.logs);

  kubectl(["apply", "-f", "-"], storageClassManifest());
  kubectl(["apply", "-f", "-"], corednsManifests(l));
  await host.waitFor(
    "CoreDNS Ready",
    180,
    () => {
      kubectl(["-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=2s"]);
      return true;
    },
    path.join(p.logs, "kubelet.log"),
  );
  log(`CoreDNS: Ready (${secs()}s); node up`);
}

function status(l: NodeLayout): boolean {
  const p = paths(l);
  let all = true;
  for (const x of Object.values(procs(l))) {
    const pid = host.livePid(p.pids, x.name, x.bin);
    all &&= Boolean(pid);
    process.stdout.write(`${x.name.padEnd(24)} ${pid ? `running  pid ${pid}` : "stopped"}\n`);
  }
  return all;
}

async function main(): Promise<number> {
  const l = layoutFor(clusterDir, process.env);
  switch (process.argv[2]) {
    case "prepare":
      await prepare(l);
      return 0;
    case "up":
      await up(l);
      return 0;
    case "down":
      // The node's bridge stays until `release`: deleting the apiserver's address first made its
      // shutdown hang on its own loopback client (RemoveEndpoints timed out, 80 s to exit).
      await cleanup(l, [l.podBridge]);
      log("down: every process stopped, host changes undone but the bridge (main.ts release)");
      return 0;
    case "release":
      await cleanup(l, [l.podBridge, l.bridge]);
      fs.rmSync(paths(l).hostChanges, { force: true });
      try {
        if (fs.readFileSync("/run/stagecraft-real-node", "utf8").trim() === l.dir) fs.rmSync("/run/stagecraft-real-node");
      } catch {
        /* not ours or absent */
      }
      log("release: node bridge removed; every host change undone");
      return 0;
    case "status":
      return status(l) ? 0 : 1;
    case "controller":
      await runController(kubectlBin, l.lbPool, paths(l).volumes, path.join(clusterDir, "kubeconfig"));
      return 0;
    default:
      process.stderr.write("usage: main.ts prepare|up|down|release|status|controller\n");
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    log(`error: ${e instanceof Fail ? e.message : (e as Error).stack}`);
    process.exit(1);
  },
);
