import { parse } from "yaml";
import {
  cniConflist,
  containerdConfig,
  kubeletArgs,
  kubeletConfig,
  kubeProxyConfig,
  kubeRouterArgs,
  PAUSE_IMAGE,
} from "../../../../../scripts/cluster/node/config";
import { layoutFor, paths } from "../../../../../scripts/cluster/node/layout";

const l = layoutFor("/state/cluster");

describe("real node layout", () => {
  test("node files live under the cluster's state dir", () => {
    expect(l.dir).toBe("/state/cluster/node");
    expect(l.containerdSocket).toBe("/state/cluster/node/containerd/containerd.sock");
    expect(paths(l).pki).toBe("/state/cluster/pki");
  });

  test("ports come from the environment, bad ones are refused with the fix", () => {
    expect(layoutFor("/s", { STAGECRAFT_CLUSTER_API_PORT: "7443" }).ports.api).toBe(7443);
    expect(() => layoutFor("/s", { STAGECRAFT_NODE_KUBELET_PORT: "http" })).toThrow(/STAGECRAFT_NODE_KUBELET_PORT=http is not a port.*Fix/);
  });

  test("a state dir too deep for a unix socket is refused before anything starts", () => {
    expect(() => layoutFor("/" + "x".repeat(100))).toThrow(/107 bytes.*Fix: a shorter STAGECRAFT_CLUSTER_DIR/);
  });
});

describe("containerd config", () => {
  const toml = containerdConfig(l);
  test("clamps oom_score_adj (no CAP_SYS_RESOURCE in the VM) and keeps netns mounts in the state dir", () => {
    expect(toml).toMatch(/^\s*restrict_oom_score_adj = true$/m);
    expect(toml).toMatch(/^\s*netns_mounts_under_state_dir = true$/m);
  });
  test("everything it writes is under the node's dir, and the sandbox image is the local pause", () => {
    expect(toml).toContain('root = "/state/cluster/node/containerd/root"');
    expect(toml).toContain('state = "/state/cluster/node/containerd/state"');
    expect(toml).toContain('address = "/state/cluster/node/containerd/containerd.sock"');
    expect(toml).toContain('conf_dir = "/state/cluster/node/cni/net.d"');
    expect(toml).toContain(`sandbox_image = "${PAUSE_IMAGE}"`);
    expect(toml).toMatch(/SystemdCgroup = false/);
    expect(toml).toContain('Root = "/state/cluster/node/containerd/state/runc"');
  });
  test("paths are TOML-escaped", () => {
    expect(containerdConfig(layoutFor('/odd"dir'))).toContain('root = "/odd\\"dir/node/containerd/root"');
  });
});

describe("CNI conflist", () => {
  const c = JSON.parse(cniConflist(l));
  test("bridge on the node's bridge with host-local IPAM in the state dir, then portmap", () => {
    expect(c.plugins.map((p: { type: string }) => p.type)).toEqual(["bridge", "portmap"]);
    expect(c.plugins[0]).toMatchObject({ bridge: "stagecraft-pod", isGateway: true, ipMasq: true, hairpinMode: true });
    expect(c.plugins[0].ipam).toMatchObject({
      type: "host-local",
      ranges: [[{ subnet: "10.244.200.0/24" }]],
      dataDir: "/state/cluster/node/cni/state",
    });
  });
});

describe("kubelet", () => {
  const k = parse(kubeletConfig(l));
  test("cgroup v1 with cgroupfs, swap tolerated, kubepods under our own cgroup root", () => {
    expect(k).toMatchObject({ cgroupDriver: "cgroupfs", failCgroupV1: false, failSwapOn: false, cgroupRoot: "/stagecraft" });
  });
  test("image GC off: imported images would be deleted and cannot be pulled again", () => {
    expect(k.imageGCHighThresholdPercent).toBe(100);
  });
  test("authenticated API on the node IP, DNS at kube-dns, runtime on our socket", () => {
    expect(k).toMatchObject({
      address: "10.250.0.1",
      port: 10250,
      readOnlyPort: 0,
      authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: "/state/cluster/pki/ca.crt" } },
      authorization: { mode: "Webhook" },
      clusterDNS: ["10.96.0.10"],
      containerRuntimeEndpoint: "unix:///state/cluster/node/containerd/containerd.sock",
      podLogsDir: "/state/cluster/node/pod-logs",
    });
  });
  test("args name the node, its IP and labels the stages' spread constraints read", () => {
    const a = kubeletArgs(l, "/kc");
    const arg = (f: string) => a[a.indexOf(f) + 1];
    expect(arg("--node-ip")).toBe("10.250.0.1");
    expect(arg("--hostname-override")).toBe("stagecraft-node");
    expect(arg("--root-dir")).toBe("/state/cluster/node/kubelet");
    expect(arg("--node-labels")).toContain("topology.kubernetes.io/zone=local-node");
    expect(arg("--node-labels")).toContain("stagecraft.local/node=real");
  });
});

describe("kube-proxy", () => {
  const p = parse(kubeProxyConfig(l, "/kc"));
  test("leaves the conntrack sysctls the VM refuses alone and sets no route_localnet", () => {
    expect(p.conntrack).toEqual({ maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" });
    expect(p.iptables.localhostNodePorts).toBe(false);
  });
  test("iptables mode for the cluster's pod range on the node", () => {
    expect(p).toMatchObject({
      mode: "iptables",
      clusterCIDR: "10.244.0.0/16",
      hostnameOverride: "stagecraft-node",
      clientConnection: { kubeconfig: "/kc" },
    });
  });
});

describe("kube-router", () => {
  test("enforces NetworkPolicies only: kube-proxy proxies, the bridge plugin wires pods, one node needs no routes", () => {
    const a = kubeRouterArgs(l, "/kc");
    expect(a).toEqual(
      expect.arrayContaining(["--run-firewall=true", "--run-router=false", "--run-service-proxy=false", "--enable-cni=false"]),
    );
    expect(a[a.indexOf("--hostname-override") + 1]).toBe("stagecraft-node");
    expect(a[a.indexOf("--health-port") + 1]).toBe("20244");
  });
});
