/**
 * kube-score (built by scripts/toolchain.sh) over a rendered stage: what to run, how to read its
 * JSON, which checks are off and which findings wait for a fix in components/.
 */

/**
 * Checks that are off: each is an opinion that does not fit Stagecraft, with why. A finding we
 * would merely rather not fix does not belong here (it goes to PENDING, or gets fixed).
 */
export const IGNORED_CHECKS: Readonly<Record<string, string>> = {
  // kube-score wants imagePullPolicy: Always so a node re-checks imagePullSecrets on every start.
  // Stagecraft pins every image to a version (policy rule workload-image-pinned), uses no pull
  // secrets, and sets IfNotPresent on purpose: Always would make every pod start (and so every
  // failover) depend on the registry being up, for the same bytes.
  "container-image-pull-policy":
    "pinned images with IfNotPresent: Always would tie every restart and failover to the registry, for the same bytes",
  // These two accept only podAntiAffinity. Stagecraft keeps replicas apart with
  // topologySpreadConstraints (kubernetes.io/hostname, maxSkew 1, DoNotSchedule; zone, soft),
  // the newer mechanism that also balances zones; kube-score checks those under
  // pod-topology-spread-constraints, which stays on. Adding anti-affinity would say it twice.
  "deployment-has-host-podantiaffinity":
    "replicas are spread over nodes by topologySpreadConstraints (hard on hostname), checked by pod-topology-spread-constraints",
  "statefulset-has-host-podantiaffinity":
    "replicas are spread over nodes by topologySpreadConstraints (hard on hostname), checked by pod-topology-spread-constraints",
};

/** A real finding whose fix belongs in components/ (the branch report lists it for the lead). */
export interface Pending {
  readonly check: string;
  /** `Kind/name` of every object it fires on, or "*" for every workload. */
  readonly objects: readonly string[] | "*";
  readonly change: string;
}

/**
 * Found by kube-score, not yet fixed. The engine test fails on any finding not listed here, and on
 * an entry that no longer fires in any stage (fixed: delete it), so this list can only shrink.
 */
export const PENDING: readonly Pending[] = [];

/** The cluster version the stages target (the local cluster's; EKS's window starts above it). */
export const KUBERNETES_VERSION = "v1.33";

export function kubeScoreArgs(files: readonly string[]): string[] {
  return [
    "score",
    "--output-format",
    "json",
    "--kubernetes-version",
    KUBERNETES_VERSION,
    ...Object.keys(IGNORED_CHECKS).flatMap((c) => ["--ignore-test", c]),
    ...files,
  ];
}

/** The parts of kube-score's JSON (output version v2) this reads. */
export interface ScoredObject {
  readonly type_meta: { readonly kind: string };
  readonly object_meta: { readonly name: string };
  readonly checks: readonly {
    readonly check: { readonly id: string };
    readonly grade: number;
    readonly skipped: boolean;
    readonly comments: readonly { readonly path: string; readonly summary: string; readonly description: string }[] | null;
  }[];
}

export interface Finding {
  readonly check: string;
  /** `Kind/name`. */
  readonly object: string;
  readonly text: string;
}

/** kube-score's grades: 10 all OK, 7 almost OK, 5 warning, 1 critical. */
const GRADES: Record<number, string> = { 1: "CRITICAL", 5: "WARNING", 7: "ALMOST OK" };

/** Every check graded below OK and not skipped, one per object and check. */
export function findings(scored: readonly ScoredObject[]): Finding[] {
  return scored.flatMap((o) => {
    const object = `${o.type_meta.kind}/${o.object_meta.name}`;
    return o.checks
      .filter((c) => !c.skipped && c.grade < 10)
      .map((c) => ({
        check: c.check.id,
        object,
        text: `${object} [${c.check.id}] ${GRADES[c.grade] ?? `grade ${c.grade}`}: ${(c.comments ?? []).map((m) => `${m.path ? `(${m.path}) ` : ""}${m.summary}`).join("; ")}`,
      }));
  });
}

/** The pending entry that covers a finding, if any. */
export function pendingFor(f: Finding, pending: readonly Pending[] = PENDING): Pending | undefined {
  return pending.find((p) => p.check === f.check && (p.objects === "*" || p.objects.includes(f.object)));
}

/** Pending entries (or objects of them) that no finding of any stage matches any more: fixed. */
export function stalePending(all: readonly Finding[], pending: readonly Pending[] = PENDING): string[] {
  return pending.flatMap((p) =>
    p.objects === "*"
      ? all.some((f) => f.check === p.check)
        ? []
        : [`${p.check} (every workload)`]
      : p.objects.filter((o) => !all.some((f) => f.check === p.check && f.object === o)).map((o) => `${p.check} ${o}`),
  );
}
