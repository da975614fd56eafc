/**
 * What `down` (and an `up` after a crash) must undo on the host, planned from what is observed:
 * pure functions from the host's state (mount table, iptables rules, cgroups, links, saved sysctls)
 * to the steps that remove exactly what the real node made. host.ts runs the steps.
 */
import * as path from "path";

/** Sysctls the kubelet, kube-proxy or the CNI bridge change; restored to their values before `up`. */
export const SYSCTLS = [
  "net.ipv4.ip_forward",
  "net.bridge.bridge-nf-call-iptables",
  "kernel.panic",
  "kernel.panic_on_oops",
  "vm.overcommit_memory",
  "net.ipv4.conf.all.route_localnet",
] as const;

export type Step =
  | { kind: "umount"; path: string }
  | { kind: "iptables"; bin: "iptables" | "ip6tables"; args: string[] }
  | { kind: "link-del"; name: string }
  | { kind: "ipset-destroy"; name: string }
  | { kind: "sysctl"; key: string; value: string }
  | { kind: "kill"; pid: number; why: string }
  | { kind: "rmdir"; path: string }
  /** A directory removed only if empty (a shared place like /run/containerd that `up` created). */
  | { kind: "rmdir-empty"; path: string };

/** Mount points (field 5 of /proc/self/mountinfo, octal escapes decoded) inside `dir`, deepest first. */
export function mountsUnder(mountinfo: string, dir: string): string[] {
  const root = dir.endsWith("/") ? dir : dir + "/";
  const points = mountinfo
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split(" ")[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(root));
  // A path mounted twice is listed twice and needs two unmounts; deepest first so parents come free.
  return points.sort((a, b) => b.split("/").length - a.split("/").length || b.localeCompare(a));
}

/** Splits one `iptables -S` line into arguments (double quotes with backslash escapes, as iptables prints them). */
export function splitRule(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inQuote = false;
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inQuote) {
      if (c === "\\" && i + 1 < line.length) cur += line[++i];
      else if (c === '"') inQuote = false;
      else cur += c;
    } else if (c === '"') {
      inQuote = true;
      has = true;
    } else if (c === " ") {
      if (has || cur) out.push(cur);
      cur = "";
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has || cur) out.push(cur);
  return out;
}

const OURS = /^(KUBE-|CNI-)/;

/**
 * Steps that remove the KUBE-* chains (kubelet, kube-proxy) and CNI-* chains (bridge ipMasq,
 * portmap) from one table, given `iptables -t TABLE -S`: first every rule that jumps to one of
 * them from another chain, then flush, then delete the chains. Other chains are left alone.
 */
export function iptablesSweep(bin: "iptables" | "ip6tables", table: string, listing: string): Step[] {
  const ours = new Set<string>();
  const jumps: string[][] = [];
  for (const line of listing.split("\n").filter(Boolean)) {
    const a = splitRule(line);
    if (a[0] === "-N" && OURS.test(a[1])) ours.add(a[1]);
    if (a[0] === "-A") {
      const j = a.findIndex((x) => x === "-j" || x === "-g");
      if (!OURS.test(a[1]) && j > 0 && OURS.test(a[j + 1] ?? "")) jumps.push(a);
    }
  }
  const steps: Step[] = [];
  for (const a of jumps) steps.push({ kind: "iptables", bin, args: ["-t", table, "-D", ...a.slice(1)] });
  for (const c of ours) steps.push({ kind: "iptables", bin, args: ["-t", table, "-F", c] });
  for (const c of ours) steps.push({ kind: "iptables", bin, args: ["-t", table, "-X", c] });
  return steps;
}

/** cgroup dirs to remove, children before parents: every dir under ROOT in each v1 controller. */
export function cgroupDirs(dirsByController: Record<string, string[]>): string[] {
  const all = Object.values(dirsByController).flat();
  return all.sort((a, b) => b.split("/").length - a.split("/").length || b.localeCompare(a));
}

/** Sysctls to write back: those saved before `up` whose value now differs. */
export function sysctlRestores(saved: Record<string, string>, now: Record<string, string | undefined>): Step[] {
  return Object.entries(saved)
    .filter(([k, v]) => now[k] !== undefined && now[k] !== v)
    .map(([key, value]) => ({ kind: "sysctl" as const, key, value }));
}

/** The procfs path of a sysctl key. */
export const sysctlPath = (key: string) => path.join("/proc/sys", ...key.split("."));

export interface Observed {
  mountinfo: string;
  /** `iptables -t T -S` (and ip6tables) per table, absent when the binary is missing. */
  iptables: { bin: "iptables" | "ip6tables"; table: string; listing: string }[];
  links: string[];
  /** `ipset list -n`: kube-router's sets (KUBE-SRC-*, KUBE-DST-*, kube-router-*). */
  ipsets?: string[];
  /** PIDs still in the node's cgroups (container processes that outlived their shim). */
  cgroupPids: number[];
  cgroups: Record<string, string[]>;
  savedSysctls: Record<string, string>;
  sysctlsNow: Record<string, string | undefined>;
  /** Directories that did not exist before `up` (saved then), deepest last. */
  createdDirs?: string[];
}

/**
 * The whole host cleanup, in order: stray container processes, mounts under the node's dir,
 * iptables chains, the bridges (the route to the LoadBalancer pool goes with the node's), sysctls, cgroups.
 * Processes the launcher started (containerd, kubelet, ...) are stopped before, by their PIDs.
 */
export function cleanupPlan(o: Observed, nodeDir: string, bridges: string[]): Step[] {
  return [
    ...o.cgroupPids.map((pid) => ({ kind: "kill" as const, pid, why: "left in the node's cgroups" })),
    ...mountsUnder(o.mountinfo, nodeDir).map((p) => ({ kind: "umount" as const, path: p })),
    ...o.iptables.flatMap((t) => iptablesSweep(t.bin, t.table, t.listing)),
    // After the rules that match on them: a set in use cannot be destroyed.
    ...(o.ipsets ?? []).filter((n) => /^(KUBE-|kube-router)/.test(n)).map((name) => ({ kind: "ipset-destroy" as const, name })),
    ...bridges.filter((b) => o.links.includes(b)).map((name) => ({ kind: "link-del" as const, name })),
    ...sysctlRestores(o.savedSysctls, o.sysctlsNow),
    ...cgroupDirs(o.cgroups).map((p) => ({ kind: "rmdir" as const, path: p })),
    // containerd 1.6 puts its shims' sockets in /run/containerd/s whatever its state dir is.
    ...[...(o.createdDirs ?? [])].reverse().map((p) => ({ kind: "rmdir-empty" as const, path: p })),
  ];
}

export function describe(s: Step): string {
  switch (s.kind) {
    case "umount":
      return `umount ${s.path}`;
    case "iptables":
      return `${s.bin} ${s.args.join(" ")}`;
    case "link-del":
      return `ip link del ${s.name}`;
    case "ipset-destroy":
      return `ipset destroy ${s.name}`;
    case "sysctl":
      return `sysctl ${s.key}=${s.value}`;
    case "kill":
      return `kill -KILL ${s.pid} (${s.why})`;
    case "rmdir":
      return `rmdir ${s.path}`;
    case "rmdir-empty":
      return `rmdir ${s.path} (if empty)`;
  }
}
