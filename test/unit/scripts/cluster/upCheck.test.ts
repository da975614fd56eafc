/**
 * `npm run cluster -- up` on a machine where a cluster is already up, crashed, or another clone's
 * cluster holds the ports: the decision (scripts/cluster/upCheck.ts) on fake PID files and a fake
 * process table, and the /proc parser on a recorded /proc/net/tcp.
 */
import * as fs from "fs";
import * as path from "path";
import {
  clash,
  nodeComponents,
  parseComponents,
  parseProcNetTcp,
  planUp,
  stateDirOf,
  type Component,
  type Listener,
} from "../../../../scripts/cluster/upCheck";
import { layoutFor } from "../../../../scripts/cluster/node/layout";
import { ROOT } from "../../../lib/paths";

const STATE = "/home/me/stagecraft/.tools/cluster";
const OTHER = "/home/me/other-clone/.tools/cluster";
const BIN = "/home/me/stagecraft/.tools/bin";

/** The five components as scripts/cluster.sh passes them (KWOK mode, default ports). */
function components(pids: Partial<Record<string, { pid: number; alive: boolean }>> = {}): Component[] {
  const parsed = parseComponents([
    ...[
      "--component",
      "etcd",
      "/usr/bin/etcd",
      "127.0.0.1:12379=STAGECRAFT_CLUSTER_ETCD_PORT",
      "127.0.0.1:12380=STAGECRAFT_CLUSTER_ETCD_PEER_PORT",
    ],
    ...["--component", "kube-apiserver", `${BIN}/kube-apiserver`, "127.0.0.1:6443=STAGECRAFT_CLUSTER_API_PORT"],
    ...["--component", "kube-controller-manager", `${BIN}/kube-controller-manager`, "127.0.0.1:10257=STAGECRAFT_CLUSTER_KCM_PORT"],
    ...["--component", "kube-scheduler", `${BIN}/kube-scheduler`, "127.0.0.1:10259=STAGECRAFT_CLUSTER_SCHEDULER_PORT"],
    ...["--component", "kwok", `${BIN}/kwok`],
  ]);
  return parsed.map((c) => ({ ...c, pidFile: pids[c.name]?.pid, pidAlive: pids[c.name]?.alive ?? false }));
}
const allUp = Object.fromEntries(
  ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"].map((n, i) => [n, { pid: 100 + i, alive: true }]),
);
/** What each live component of a cluster in `state` listens on, with its real command line. */
function clusterListeners(state: string, pidBase: number): Listener[] {
  return [
    { host: "127.0.0.1", port: 12379, pid: pidBase, cmdline: ["/usr/bin/etcd", "--name", "stagecraft", "--data-dir", `${state}/etcd`] },
    { host: "127.0.0.1", port: 12380, pid: pidBase, cmdline: ["/usr/bin/etcd", "--name", "stagecraft", "--data-dir", `${state}/etcd`] },
    {
      host: "127.0.0.1",
      port: 6443,
      pid: pidBase + 1,
      cmdline: [`${BIN}/kube-apiserver`, "--bind-address", "127.0.0.1", "--tls-cert-file", `${state}/pki/apiserver.crt`],
    },
    {
      host: "127.0.0.1",
      port: 10257,
      pid: pidBase + 2,
      cmdline: [`${BIN}/kube-controller-manager`, "--kubeconfig", `${state}/kubeconfigs/kube-controller-manager.kubeconfig`],
    },
    {
      host: "127.0.0.1",
      port: 10259,
      pid: pidBase + 3,
      cmdline: [`${BIN}/kube-scheduler`, "--kubeconfig", `${state}/kubeconfigs/kube-scheduler.kubeconfig`],
    },
  ];
}

describe("planUp", () => {
  test("(a) this clone's cluster already up: one line saying so and how to see or stop it; nothing to start or drop", () => {
    const plan = planUp(STATE, components(allUp), clusterListeners(STATE, 100));
    expect(plan).toEqual({
      kind: "proceed",
      stalePidFiles: [],
      notes: [
        `the cluster in ${STATE} is already up (etcd 100, kube-apiserver 101, kube-controller-manager 102, kube-scheduler 103, kwok 104): ` +
          "nothing to start. `npm run cluster -- status` shows it; `npm run cluster -- down` stops it",
      ],
    });
  });

  test("(b) PID files of dead processes (a crash): named, their files dropped, started again", () => {
    const crashed = Object.fromEntries(Object.entries(allUp).map(([n, v]) => [n, { ...v, alive: false }]));
    const plan = planUp(STATE, components(crashed), []);
    expect(plan.kind).toBe("proceed");
    if (plan.kind !== "proceed") return;
    expect(plan.stalePidFiles).toEqual(["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]);
    expect(plan.notes.join("\n")).toMatch(
      /left PID files of processes that are gone \(etcd 100, kube-apiserver 101.*\): it crashed or was killed/,
    );
  });

  test("(b) half-dead: the live ones are kept, the dead one restarted; its port held by nobody", () => {
    const half = { ...allUp, "kube-apiserver": { pid: 101, alive: false } };
    const listening = clusterListeners(STATE, 100).filter((l) => l.port !== 6443);
    const plan = planUp(STATE, components(half), listening);
    expect(plan.kind).toBe("proceed");
    if (plan.kind !== "proceed") return;
    expect(plan.stalePidFiles).toEqual(["kube-apiserver"]);
    expect(plan.notes[0]).toMatch(/^already running: etcd 100, kube-controller-manager 102/);
  });

  test("(c) another clone's cluster holds the ports: refused before anything starts, one line naming the ports, the cluster and both fixes", () => {
    const plan = planUp(STATE, components(), clusterListeners(OTHER, 500));
    expect(plan).toEqual({
      kind: "refuse",
      message:
        `cannot start the cluster in ${STATE}; nothing was started.\n` +
        "  ports 12379 (etcd pid 500), 12380 (etcd pid 500), 6443 (kube-apiserver pid 501), " +
        "10257 (kube-controller-manager pid 502), 10259 (kube-scheduler pid 503) " +
        `are held by the cluster in ${OTHER}. Fix: stop it (STAGECRAFT_CLUSTER_DIR=${OTHER} npm run cluster -- down, from its clone), ` +
        "or give this cluster other ports: STAGECRAFT_CLUSTER_ETCD_PORT=<a free port> STAGECRAFT_CLUSTER_ETCD_PEER_PORT=<a free port> " +
        "STAGECRAFT_CLUSTER_API_PORT=<a free port> STAGECRAFT_CLUSTER_KCM_PORT=<a free port> STAGECRAFT_CLUSTER_SCHEDULER_PORT=<a free port> npm run cluster -- up",
    });
  });

  test("a stray server on one port: named by pid and command, the other ports are fine", () => {
    const plan = planUp(STATE, components(), [
      { host: "0.0.0.0", port: 10259, pid: 77, cmdline: ["/usr/sbin/some-daemon", "-p", "10259"] },
    ]);
    expect(plan.kind === "refuse" && plan.message.split("\n")[1]).toBe(
      "  port 10259 (kube-scheduler) is held by pid 77 (some-daemon). Fix: stop pid 77 (some-daemon), " +
        "or give this cluster other ports: STAGECRAFT_CLUSTER_SCHEDULER_PORT=<a free port> npm run cluster -- up",
    );
  });

  test("one of this cluster's own processes running without its PID file: kill it", () => {
    const plan = planUp(STATE, components(), clusterListeners(STATE, 300).slice(0, 2));
    expect(plan.kind === "refuse" && plan.message).toMatch(
      /ports 12379 \(etcd\), 12380 \(etcd\) are held by pid 300 \(etcd\), one of this cluster's own processes running without its PID file\. Fix: kill 300, then up again$/,
    );
  });

  test("a holder this user cannot see is still refused, saying why it has no name", () => {
    const plan = planUp(STATE, components(), [{ host: "127.0.0.1", port: 12379 }]);
    expect(plan.kind === "refuse" && plan.message).toMatch(
      /held by a process not visible from here \(another user's without root, or another PID namespace\)/,
    );
  });

  test("the real node's apiserver on 10.250.0.1 does not clash with a KWOK cluster's on 127.0.0.1; a wildcard does", () => {
    expect(clash({ host: "10.250.0.1", port: 6443 }, { host: "127.0.0.1", port: 6443 })).toBe(false);
    expect(clash({ host: "0.0.0.0", port: 6443 }, { host: "127.0.0.1", port: 6443 })).toBe(true);
    expect(clash({ host: "127.0.0.1", port: 6444 }, { host: "127.0.0.1", port: 6443 })).toBe(false);
  });
});

describe("with the real node", () => {
  const l = layoutFor(STATE, {});
  const node = nodeComponents(l, BIN, "/usr/bin/containerd").map((c) => ({ ...c, pidAlive: false }));

  test("its processes and ports come from the node's layout (one source), overridable by their variables", () => {
    expect(node.map((c) => c.name)).toEqual(["containerd", "kubelet", "kube-proxy", "kube-router"]);
    expect(node.flatMap((c) => c.binds.map((b) => `${b.host}:${b.port}`))).toEqual([
      "10.250.0.1:10250",
      "127.0.0.1:10248",
      "127.0.0.1:10256",
      "127.0.0.1:10249",
      "0.0.0.0:20244",
    ]);
    const moved = nodeComponents(layoutFor(STATE, { STAGECRAFT_NODE_KUBELET_PORT: "11250" }), BIN, "/usr/bin/containerd");
    expect(moved[1].binds[0]).toEqual({ host: "10.250.0.1", port: 11250, env: "STAGECRAFT_NODE_KUBELET_PORT" });
  });

  test("a kubelet the machine already runs (on every address) is named, with the variable that moves ours and the real-node up", () => {
    const plan = planUp(
      STATE,
      [...components(), ...node],
      [{ host: "0.0.0.0", port: 10250, pid: 900, cmdline: ["/usr/bin/kubelet", "--config", "/var/lib/kubelet/config.yaml"] }],
      new Set(),
      "npm run cluster -- up --real-node",
    );
    expect(plan.kind === "refuse" && plan.message.split("\n")[1]).toBe(
      "  port 10250 (kubelet) is held by pid 900 (kubelet). Fix: stop pid 900 (kubelet), or give this cluster other ports: " +
        "STAGECRAFT_NODE_KUBELET_PORT=<a free port> npm run cluster -- up --real-node",
    );
  });

  test("another clone's real node: only its down helps (one real node a machine), no port moves offered", () => {
    const theirs: Listener[] = [
      ...clusterListeners(OTHER, 500),
      { host: "10.250.0.1", port: 10250, pid: 600, cmdline: [`${BIN}/kubelet`, "--kubeconfig", `${OTHER}/kubeconfigs/kubelet.kubeconfig`] },
    ];
    const plan = planUp(STATE, [...components(), ...node], theirs, new Set(), "npm run cluster -- up --real-node");
    expect(plan.kind).toBe("refuse");
    if (plan.kind !== "refuse") return;
    expect(plan.message).toContain(
      `are held by the cluster in ${OTHER}. Fix: stop it (STAGECRAFT_CLUSTER_DIR=${OTHER} npm run cluster -- down, from its clone): ` +
        "one machine runs one real node (its bridge and node IP are fixed)",
    );
    expect(plan.message).not.toContain("other ports");
    // A KWOK-only up beside it may move its ports instead.
    const kwokOnly = planUp(STATE, components(), theirs);
    expect(kwokOnly.kind === "refuse" && kwokOnly.message).toContain("or give this cluster other ports: STAGECRAFT_CLUSTER_ETCD_PORT=");
  });

  test("already up only when the node's processes run too; a dead kubelet is restarted", () => {
    const live = [...components(allUp), ...node.map((c, i) => ({ ...c, pidFile: 200 + i, pidAlive: c.name !== "kubelet" }))];
    const plan = planUp(STATE, live, []);
    expect(plan.kind === "proceed" && plan.stalePidFiles).toEqual(["kubelet"]);
    expect(plan.kind === "proceed" && plan.notes.join("\n")).not.toMatch(/already up/);
  });
});

describe("parsing", () => {
  test.each([
    [["/usr/bin/etcd", "--data-dir", "/s/etcd"], "/s"],
    [["/b/kube-apiserver", "--client-ca-file", "/s/pki/ca.crt"], "/s"],
    [["/b/kwok", "--kubeconfig", "/s/kubeconfigs/kwok.kubeconfig"], "/s"],
    [["/b/kube-scheduler", "--kubeconfig=/s/kubeconfigs/kube-scheduler.kubeconfig"], "/s"],
    [["/b/kube-proxy", "--config", "/s/node/kube-proxy-config.yaml"], "/s"],
    [["/usr/bin/containerd", "--config", "/s/node/containerd/config.toml"], "/s"],
    [["/usr/bin/python3", "/srv/node/app.py"], undefined],
    [["/usr/sbin/sshd", "-D"], undefined],
  ])("stateDirOf(%j) = %s", (cmd, want) => expect(stateDirOf(cmd)).toBe(want));

  test("a recorded /proc/net/tcp: only the listening sockets, addresses in host byte order", () => {
    const text = fs.readFileSync(path.join(ROOT, "test/fixtures/proc/net-tcp.txt"), "utf8");
    expect(parseProcNetTcp(text)).toEqual([
      { host: "127.0.0.1", port: 29335, inode: 2996760 },
      { host: "127.0.0.1", port: 29463, inode: 2996759 },
      { host: "0.0.0.0", port: 2024, inode: 1519 },
      { host: "127.0.0.1", port: 26163, inode: 2996765 },
      { host: "127.0.0.1", port: 27432, inode: 2996764 },
    ]);
  });

  test("/proc/net/tcp6: the any address and a v4-mapped one", () => {
    const text = [
      "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "   0: 00000000000000000000000000000000:1A0B 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 42 1",
      "   1: 0000000000000000FFFF00000100007F:19FF 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 43 1",
    ].join("\n");
    expect(parseProcNetTcp(text)).toEqual([
      { host: "::", port: 6667, inode: 42 },
      { host: "127.0.0.1", port: 6655, inode: 43 },
    ]);
  });

  test("bad component arguments say what is wrong", () => {
    expect(() => parseComponents(["etcd"])).toThrow(/expected --component/);
    expect(() => parseComponents(["--component", "etcd", "/usr/bin/etcd", "12379"])).toThrow(/'12379' is not HOST:PORT=ENV/);
  });
});
