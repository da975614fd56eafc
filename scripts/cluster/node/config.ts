/**
 * The real node's config files, as pure functions of its layout: containerd's config.toml, the
 * bridge CNI conflist, the kubelet's and kube-proxy's configuration files. Each comment names the
 * trap of this machine (../shared/real-node-facts.md) the setting answers.
 */
import { stringify } from "yaml";
import { type NodeLayout, paths } from "./layout";

/** The pause image containerd uses for every sandbox; built here (images.ts), never pulled. */
export const PAUSE_IMAGE = "stagecraft.local/pause:3.10";

const toml = (s: string) => JSON.stringify(s); // a TOML basic string has JSON's escapes

export function containerdConfig(l: NodeLayout): string {
  const p = paths(l);
  return `# containerd for the local cluster's real node (scripts/cluster/node). Generated; edits are overwritten.
version = 2
root = ${toml(p.containerdRoot)}
state = ${toml(p.containerdState)}

[grpc]
  address = ${toml(l.containerdSocket)}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${toml(PAUSE_IMAGE)}
  # The VM gives no CAP_SYS_RESOURCE: runc cannot lower a child's oom_score_adj below its own and
  # every sandbox fails ("can't get final child's PID from pipe: EOF") unless containerd clamps it.
  restrict_oom_score_adj = true
  # Network namespaces under our state dir, not /run/netns: down unmounts one tree.
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # cgroup v1 with no systemd as PID 1: the kubelet's cgroupfs driver must match.
        SystemdCgroup = false
        # runc's container state beside containerd's, not in /run/containerd/runc.
        Root = ${toml(p.containerdState + "/runc")}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = ${toml(p.cniConfDir)}
    max_conf_num = 1
`;
}

/** The bridge CNI conflist: pods on the node's bridge, host-local IPAM, portmap for hostPorts. */
export function cniConflist(l: NodeLayout): string {
  const p = paths(l);
  const conf = {
    cniVersion: "1.0.0",
    name: "stagecraft",
    plugins: [
      {
        type: "bridge",
        bridge: l.podBridge,
        isGateway: true,
        // The node masquerades pod traffic leaving the cluster's range (and so DNS to the host's resolver).
        ipMasq: true,
        // A pod reaching itself through its own Service goes out and back on the same port.
        hairpinMode: true,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: l.podSubnet }]],
          routes: [{ dst: "0.0.0.0/0" }],
          dataDir: p.cniState,
        },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
  return JSON.stringify(conf, null, 2) + "\n";
}

export function kubeletConfig(l: NodeLayout): string {
  const p = paths(l);
  const cfg = {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    address: l.nodeIp,
    port: l.ports.kubelet,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: l.ports.kubeletHealthz,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: `${p.pki}/ca.crt` },
    },
    authorization: { mode: "Webhook" },
    tlsCertFile: `${p.pki}/kubelet-serving.crt`,
    tlsPrivateKeyFile: `${p.pki}/kubelet-serving.key`,
    containerRuntimeEndpoint: `unix://${l.containerdSocket}`,
    // cgroup v1 here (cgroup2 is mounted but empty); 1.33 still runs on v1 when told to.
    cgroupDriver: "cgroupfs",
    failCgroupV1: false,
    failSwapOn: false,
    // kubepods under our own cgroup, so down removes one tree per controller.
    cgroupRoot: l.cgroupRoot,
    clusterDNS: [l.dnsIp],
    clusterDomain: "cluster.local",
    resolvConf: "/etc/resolv.conf",
    podLogsDir: p.podLogs,
    // No registry: every image is imported into containerd. Image GC would delete them.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    // A shared dev machine's disk is often fuller than the defaults allow; memory stays guarded.
    evictionHard: { "memory.available": "200Mi", "nodefs.available": "2%", "imagefs.available": "2%", "nodefs.inodesFree": "2%" },
    serializeImagePulls: false,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    maxPods: 110,
    // Pods only: no system-reserved cgroups to create or clean.
    enforceNodeAllocatable: ["pods"],
    // Keep container logs small on a dev machine.
    containerLogMaxSize: "10Mi",
    containerLogMaxFiles: 2,
    staticPodPath: "",
  };
  return stringify(cfg);
}

export function kubeProxyConfig(l: NodeLayout, kubeconfig: string): string {
  const cfg = {
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    clientConnection: { kubeconfig },
    mode: "iptables",
    hostnameOverride: l.nodeName,
    bindAddress: l.nodeIp,
    clusterCIDR: l.clusterCidr,
    healthzBindAddress: `127.0.0.1:${l.ports.proxyHealthz}`,
    metricsBindAddress: `127.0.0.1:${l.ports.proxyMetrics}`,
    // The VM refuses writes to nf_conntrack_max and the timeouts: 0 means "leave them as they are".
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
    // NodePorts on 127.0.0.1 need net.ipv4.conf.all.route_localnet=1, one more host change to undo;
    // LoadBalancer addresses reach the host instead.
    iptables: { localhostNodePorts: false, masqueradeAll: false, syncPeriod: "30s", minSyncPeriod: "1s" },
    nodePortAddresses: [`${l.nodeIp}/32`],
  };
  return stringify(cfg);
}

/**
 * kube-router as the NetworkPolicy enforcer only (iptables + ipset): no routing (one node), no
 * service proxy (kube-proxy's job), no CNI (the bridge plugin's). Local test cluster only: the
 * served v2.1.0 has reported security flaws. kube-network-policies (kind's enforcer) cannot run
 * here: it needs an nftables `queue` rule and this kernel lacks CONFIG_NFT_QUEUE.
 */
export function kubeRouterArgs(l: NodeLayout, kubeconfig: string): string[] {
  return [
    "--kubeconfig",
    kubeconfig,
    "--run-firewall=true",
    "--run-router=false",
    "--run-service-proxy=false",
    "--enable-cni=false",
    "--enable-ipv4=true",
    "--enable-ipv6=false",
    "--hostname-override",
    l.nodeName,
    "--service-cluster-ip-range",
    l.serviceCidr,
    "--health-port",
    String(l.ports.routerHealth),
    "--metrics-port",
    "0",
  ];
}

/** Labels of the real node: the zone keys the stages' spread constraints read, and a role. */
export function nodeLabels(): Record<string, string> {
  return {
    "topology.kubernetes.io/region": "local",
    "topology.kubernetes.io/zone": "local-node",
    "node.kubernetes.io/instance-type": "real",
    "stagecraft.local/node": "real",
    type: "real",
  };
}

export function kubeletArgs(l: NodeLayout, kubeconfig: string): string[] {
  const p = paths(l);
  const labels = Object.entries(nodeLabels())
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return [
    "--config",
    p.kubeletConfig,
    "--kubeconfig",
    kubeconfig,
    "--root-dir",
    p.kubeletRoot,
    "--cert-dir",
    `${p.kubeletRoot}/pki`,
    "--hostname-override",
    l.nodeName,
    "--node-ip",
    l.nodeIp,
    "--node-labels",
    labels,
    "--v",
    "1",
  ];
}
