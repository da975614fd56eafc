/**
 * Two small controllers the real node needs and no Debian package or served Go module gives in a
 * form that builds and runs here: a LoadBalancer address allocator (a host-local pool, routed to the
 * node's bridge; kube-proxy DNATs the address to the Service's pods) and a volume provisioner for
 * the `standard` StorageClass (a directory per claim under the node's state dir, deleted with its
 * claim). The planners are pure (tested); `runController` polls the API with kubectl every two
 * seconds and applies what they plan.
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";

export const PROVISIONER = "stagecraft.local/hostpath";

// --- LoadBalancer addresses ------------------------------------------------------------------
export interface Service {
  metadata: { namespace: string; name: string; deletionTimestamp?: string };
  spec: { type?: string; loadBalancerClass?: string };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

/** Every usable address of an IPv4 CIDR (network and broadcast excluded). */
export function poolAddresses(cidr: string): string[] {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) throw new Error(`LoadBalancer pool ${cidr} is not an IPv4 CIDR`);
  const bits = Number(m[5]);
  if (bits < 16 || bits > 30) throw new Error(`LoadBalancer pool ${cidr}: prefix must be /16 to /30`);
  const base = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const size = 2 ** (32 - bits);
  const net = base & ~(size - 1);
  const out: string[] = [];
  for (let i = 1; i < size - 1; i++) {
    const a = (net + i) >>> 0;
    out.push([a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join("."));
  }
  return out;
}

/** The status patches that give each LoadBalancer Service without an address the lowest free one. */
export function assignAddresses(services: Service[], pool: string[]): { namespace: string; name: string; ip: string }[] {
  const inPool = new Set(pool);
  const used = new Set(
    services.flatMap((s) => (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip) => ip && inPool.has(ip))),
  );
  const free = pool.filter((ip) => !used.has(ip));
  const out: { namespace: string; name: string; ip: string }[] = [];
  const wanting = services
    .filter((s) => s.spec.type === "LoadBalancer" && !s.spec.loadBalancerClass && !s.metadata.deletionTimestamp)
    .filter((s) => !(s.status?.loadBalancer?.ingress ?? []).length)
    .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  for (const s of wanting) {
    const ip = free.shift();
    if (!ip) break; // pool exhausted: the Service stays pending, as on a cloud out of addresses
    out.push({ namespace: s.metadata.namespace, name: s.metadata.name, ip });
  }
  return out;
}

// --- volumes ---------------------------------------------------------------------------------
export interface Claim {
  metadata: { namespace: string; name: string; uid: string; annotations?: Record<string, string>; deletionTimestamp?: string };
  spec: { storageClassName?: string; accessModes?: string[]; resources?: { requests?: { storage?: string } }; volumeName?: string };
  status?: { phase?: string };
}
export interface Volume {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: {
    hostPath?: { path: string; type?: string };
    local?: { path: string };
    claimRef?: { namespace?: string; name?: string; uid?: string; apiVersion?: string; kind?: string };
    [field: string]: unknown;
  };
  status?: { phase?: string };
}
export type VolumeAction =
  | { kind: "create"; dir: string; pv: Record<string, unknown> }
  | { kind: "delete"; dir: string; name: string }
  | { kind: "to-local"; name: string; pv: Record<string, unknown> }
  | { kind: "restore"; name: string; pv: Record<string, unknown> };

/** The directory behind one of our volumes: a `local` PV's path, or a hostPath PV's (made before local PVs). */
const volumeDir = (v: Volume): string | undefined => v.spec.local?.path ?? v.spec.hostPath?.path;
const ours = (v: Volume): boolean => v.metadata.annotations?.["pv.kubernetes.io/provisioned-by"] === PROVISIONER;

/** The directory a claim's volume lives in: one per claim, named after it (uid included). */
const claimDir = (root: string, c: Claim): string => path.join(root, `${c.metadata.namespace}_${c.metadata.name}_${c.metadata.uid}`);
const provisionedHere = (c: Claim): boolean => {
  const a = c.metadata.annotations ?? {};
  return (
    a["volume.kubernetes.io/storage-provisioner"] === PROVISIONER || a["volume.beta.kubernetes.io/storage-provisioner"] === PROVISIONER
  );
};

/** A PV's claimRef to one claim, uid included, so no other claim of that name can take the PV. */
const claimRef = (c: { namespace?: string; name?: string; uid?: string }) => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  namespace: c.namespace,
  name: c.name,
  uid: c.uid,
});

/** A `local` PV over `dir` on `node`, bound to claim `c`. */
function localPv(name: string, c: Claim, dir: string, node: string): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name, annotations: { "pv.kubernetes.io/provisioned-by": PROVISIONER } },
    spec: {
      storageClassName: c.spec.storageClassName,
      capacity: { storage: c.spec.resources?.requests?.storage ?? "1Gi" },
      accessModes: c.spec.accessModes ?? ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Delete",
      claimRef: claimRef(c.metadata),
      // A `local` PV, not hostPath: the kubelet applies a pod's fsGroup to local volumes (it
      // re-groups the files on mount, as it does for EBS volumes on EKS) and to hostPath never,
      // so a pod whose uid changes would lose access to files an earlier uid wrote.
      local: { path: dir },
      nodeAffinity: {
        required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [node] }] }] },
      },
    },
  };
}

/**
 * For each claim the PV controller handed to this provisioner (its storage-provisioner annotation,
 * set once the scheduler picked a node under WaitForFirstConsumer): a directory and a PV pre-bound to
 * the claim. For each of our volumes whose claim is gone (Released): delete the directory and the PV.
 */
export function planVolumes(claims: Claim[], volumes: Volume[], root: string): VolumeAction[] {
  const actions: VolumeAction[] = [];
  const boundTo = new Set(volumes.map((v) => v.spec.claimRef?.uid).filter(Boolean));
  for (const c of claims) {
    const a = c.metadata.annotations ?? {};
    if (
      !provisionedHere(c) ||
      c.status?.phase !== "Pending" ||
      c.spec.volumeName ||
      c.metadata.deletionTimestamp ||
      boundTo.has(c.metadata.uid)
    )
      continue;
    const node = a["volume.kubernetes.io/selected-node"];
    if (!node) continue;
    const dir = claimDir(root, c);
    actions.push({ kind: "create", dir, pv: localPv(`pvc-${c.metadata.uid}`, c, dir, node) });
  }
  for (const v of volumes) {
    if (!ours(v)) continue;
    if (v.status?.phase !== "Released" && v.status?.phase !== "Failed") continue;
    const dir = volumeDir(v);
    // Only a directory this provisioner made (under root) is ever deleted.
    if (!dir || path.dirname(dir) !== root) continue;
    actions.push({ kind: "delete", dir, name: v.metadata.name });
  }
  actions.push(...planLocalMoves(volumes, root));
  return actions;
}

/**
 * Our hostPath PVs (a cluster made before local PVs) in use or waiting for a claim become `local`
 * PVs over the same directory, so fsGroup works on them too. A PV's source cannot change in place:
 * the PV is deleted and made again under the same name, claim (uid included) and node, and the PV
 * controller binds the claim to it again. The directory is untouched (deleting a PV object deletes
 * no data; only this controller deletes directories, of Released PVs).
 */
export function planLocalMoves(volumes: Volume[], root: string): VolumeAction[] {
  return volumes.flatMap((v): VolumeAction[] => {
    const dir = v.spec.hostPath?.path;
    if (!ours(v) || !dir || path.dirname(dir) !== root) return [];
    if (v.status?.phase !== "Bound" && v.status?.phase !== "Available") return [];
    const rest: Record<string, unknown> = { ...v.spec };
    delete rest.hostPath;
    return [
      {
        kind: "to-local",
        name: v.metadata.name,
        pv: {
          apiVersion: "v1",
          kind: "PersistentVolume",
          metadata: { name: v.metadata.name, annotations: { "pv.kubernetes.io/provisioned-by": PROVISIONER } },
          spec: { ...rest, ...(v.spec.claimRef ? { claimRef: claimRef(v.spec.claimRef) } : {}), local: { path: dir } },
        },
      },
    ];
  });
}

/**
 * A claim whose PV is gone while its directory is still here (phase Lost): the PV is made again under
 * its name, over that directory. It happens if a hostPath-to-local move stops between deleting the PV
 * and creating it (a crash, a failed kubectl): without this the claim's data would sit unreachable.
 * `exists` is the filesystem check, injected so the planner stays pure.
 */
export function planLostVolumes(claims: Claim[], volumes: Volume[], root: string, exists: (dir: string) => boolean): VolumeAction[] {
  const names = new Set(volumes.map((v) => v.metadata.name));
  return claims.flatMap((c): VolumeAction[] => {
    const name = c.spec.volumeName;
    const node = c.metadata.annotations?.["volume.kubernetes.io/selected-node"];
    if (!provisionedHere(c) || c.status?.phase !== "Lost" || !name || !node || names.has(name) || c.metadata.deletionTimestamp) return [];
    const dir = claimDir(root, c);
    return exists(dir) ? [{ kind: "restore", name, pv: localPv(name, c, dir, node) }] : [];
  });
}

// --- the loop --------------------------------------------------------------------------------
type Kubectl = (args: string[], input?: string) => string;

function kubectlWith(kubectlBin: string, kubeconfig: string): Kubectl {
  return (args, input) => {
    const r = spawnSync(kubectlBin, ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8", input, timeout: 30_000 });
    if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr.trim()}`);
    return r.stdout;
  };
}

export function reconcileOnce(kubectl: Kubectl, pool: string[], volumeRoot: string, log: (s: string) => void): void {
  const services = JSON.parse(kubectl(["get", "services", "-A", "-o", "json"])).items as Service[];
  for (const p of assignAddresses(services, pool)) {
    const patch = JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: p.ip, ipMode: "VIP" }] } } });
    kubectl(["-n", p.namespace, "patch", "service", p.name, "--subresource=status", "--type=merge", "-p", patch]);
    log(`service ${p.namespace}/${p.name}: LoadBalancer address ${p.ip}`);
  }
  const claims = JSON.parse(kubectl(["get", "pvc", "-A", "-o", "json"])).items as Claim[];
  const volumes = JSON.parse(kubectl(["get", "pv", "-o", "json"])).items as Volume[];
  const planned = [...planVolumes(claims, volumes, volumeRoot), ...planLostVolumes(claims, volumes, volumeRoot, fs.existsSync)];
  for (const a of planned) applyVolumeAction(kubectl, a, log);
}

/** Carries out one planned volume action. */
function applyVolumeAction(kubectl: Kubectl, a: VolumeAction, log: (s: string) => void): void {
  if (a.kind === "create") {
    fs.mkdirSync(a.dir, { recursive: true, mode: 0o777 });
    fs.chmodSync(a.dir, 0o777); // any pod user may own its data dir: the images run as non-root users
    kubectl(["create", "-f", "-"], JSON.stringify(a.pv));
    log(`volume ${(a.pv.metadata as { name: string }).name}: ${a.dir}`);
  } else if (a.kind === "to-local") {
    // The PV is in use, so its pv-protection finalizer would hold the delete: lift it. The claim is
    // Lost for the moment the PV is away, and Bound again once the PV is back with its claimRef.
    kubectl(["delete", "pv", a.name, "--wait=false"]);
    kubectl(["patch", "pv", a.name, "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
    kubectl(["wait", "--for=delete", `pv/${a.name}`, "--timeout=30s"]);
    kubectl(["create", "-f", "-"], JSON.stringify(a.pv));
    log(`volume ${a.name}: now a local PV over the same directory (was hostPath)`);
  } else if (a.kind === "restore") {
    kubectl(["create", "-f", "-"], JSON.stringify(a.pv));
    log(`volume ${a.name}: made again over its directory (its claim was Lost)`);
  } else {
    fs.rmSync(a.dir, { recursive: true, force: true });
    kubectl(["delete", "pv", a.name, "--wait=false"]);
    log(`volume ${a.name}: deleted with ${a.dir}`);
  }
}

/** Entry point of the controller process (main.ts `controller`): loops until SIGTERM. */
export async function runController(kubectlBin: string, lbPool: string, volumeRoot: string, kubeconfig: string): Promise<void> {
  const kubectl = kubectlWith(kubectlBin, kubeconfig);
  const log = (s: string) => process.stderr.write(`${new Date().toISOString()} ${s}\n`);
  const pool = poolAddresses(lbPool);
  let stop = false;
  process.on("SIGTERM", () => (stop = true));
  process.on("SIGINT", () => (stop = true));
  log(`controller: LoadBalancer pool ${lbPool}, volumes under ${volumeRoot}`);
  while (!stop) {
    try {
      reconcileOnce(kubectl, pool, volumeRoot, log);
    } catch (e) {
      log(`controller: ${(e as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}
