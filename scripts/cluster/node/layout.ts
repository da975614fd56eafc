/**
 * Where everything of the real node lives: one value, derived from the state dir and the
 * environment, that every other module reads. Pure, so the paths and addresses a config names are
 * tested without a machine.
 */
import * as path from "path";

export interface Ports {
  /** The apiserver's secure port (the control plane's, shared with scripts/cluster.sh). */
  api: number;
  kubelet: number;
  kubeletHealthz: number;
  proxyHealthz: number;
  proxyMetrics: number;
  routerHealth: number;
}

export interface NodeLayout {
  /** The cluster's state dir (.tools/cluster); the node's own files are under `dir`. */
  clusterDir: string;
  dir: string;
  nodeName: string;
  /**
   * The node's address: on an empty bridge (this kernel has no dummy netdev), the apiserver's
   * bind and advertise address, so pods reach the `kubernetes` Service's endpoint through it.
   */
  nodeIp: string;
  /** The bridge that carries only the node IP (and the route to the LoadBalancer pool). */
  bridge: string;
  /**
   * The pods' bridge, made by the bridge CNI plugin with its gateway address. Not the node's:
   * the plugin refuses a bridge that already has another address ("already has an IP address
   * different from 10.244.200.1/24").
   */
  podBridge: string;
  /** The pods' subnet on this node (host-local IPAM); inside clusterCidr for kube-proxy. */
  podSubnet: string;
  clusterCidr: string;
  serviceCidr: string;
  dnsIp: string;
  /** LoadBalancer addresses: routed to the bridge so the host reaches them; kube-proxy DNATs them. */
  lbPool: string;
  ports: Ports;
  /** containerd's socket: unix sockets are limited to 107 bytes, checked in layoutFor. */
  containerdSocket: string;
  /** The cgroup (under every v1 controller) the kubelet puts kubepods in, so down removes one tree. */
  cgroupRoot: string;
}

export const DEFAULTS = {
  nodeName: "stagecraft-node",
  nodeIp: "10.250.0.1",
  bridge: "stagecraft0",
  podBridge: "stagecraft-pod",
  podSubnet: "10.244.200.0/24",
  clusterCidr: "10.244.0.0/16",
  serviceCidr: "10.96.0.0/16",
  dnsIp: "10.96.0.10",
  lbPool: "10.250.1.0/24",
  cgroupRoot: "/stagecraft",
} as const;

export function layoutFor(clusterDir: string, env: NodeJS.ProcessEnv = {}): NodeLayout {
  const dir = path.join(clusterDir, "node");
  const num = (name: string, fallback: number): number => {
    const v = env[name];
    if (v === undefined || v === "") return fallback;
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535)
      throw new Error(`${name}=${v} is not a port (1-65535). Fix: unset it or give a number.`);
    return Number(v);
  };
  const containerdSocket = path.join(dir, "containerd", "containerd.sock");
  if (containerdSocket.length > 107) {
    throw new Error(
      `containerd's socket path ${containerdSocket} is over the 107 bytes a unix socket allows. Fix: a shorter STAGECRAFT_CLUSTER_DIR.`,
    );
  }
  return {
    clusterDir,
    dir,
    nodeName: DEFAULTS.nodeName,
    nodeIp: DEFAULTS.nodeIp,
    bridge: DEFAULTS.bridge,
    podBridge: DEFAULTS.podBridge,
    podSubnet: DEFAULTS.podSubnet,
    clusterCidr: DEFAULTS.clusterCidr,
    serviceCidr: DEFAULTS.serviceCidr,
    dnsIp: DEFAULTS.dnsIp,
    lbPool: DEFAULTS.lbPool,
    ports: {
      api: num("STAGECRAFT_CLUSTER_API_PORT", 6443),
      kubelet: num("STAGECRAFT_NODE_KUBELET_PORT", 10250),
      kubeletHealthz: num("STAGECRAFT_NODE_KUBELET_HEALTHZ_PORT", 10248),
      proxyHealthz: num("STAGECRAFT_NODE_PROXY_HEALTHZ_PORT", 10256),
      proxyMetrics: num("STAGECRAFT_NODE_PROXY_METRICS_PORT", 10249),
      routerHealth: num("STAGECRAFT_NODE_ROUTER_HEALTH_PORT", 20244),
    },
    containerdSocket,
    cgroupRoot: DEFAULTS.cgroupRoot,
  };
}

/** Sub-paths, one place. */
export const paths = (l: NodeLayout) => ({
  pki: path.join(l.clusterDir, "pki"),
  kubeconfigs: path.join(l.clusterDir, "kubeconfigs"),
  pids: path.join(l.clusterDir, "pids"),
  logs: path.join(l.clusterDir, "logs"),
  containerdRoot: path.join(l.dir, "containerd", "root"),
  containerdState: path.join(l.dir, "containerd", "state"),
  containerdConfig: path.join(l.dir, "containerd", "config.toml"),
  cniConfDir: path.join(l.dir, "cni", "net.d"),
  cniState: path.join(l.dir, "cni", "state"),
  kubeletRoot: path.join(l.dir, "kubelet"),
  kubeletConfig: path.join(l.dir, "kubelet-config.yaml"),
  podLogs: path.join(l.dir, "pod-logs"),
  proxyConfig: path.join(l.dir, "kube-proxy-config.yaml"),
  volumes: path.join(l.dir, "volumes"),
  hostChanges: path.join(l.dir, "host-changes.json"),
});
