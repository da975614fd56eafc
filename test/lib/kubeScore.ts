/**
 * kube-score (built by scripts/toolchain.sh) over a rendered stage: what to run and how to read
 * its JSON. The ignore list is short, and each entry says why the check is an opinion that does
 * not fit Stagecraft; a finding we would merely rather not fix does not belong here.
 */

/** kube-score check id -> why it is off. */
export const IGNORED_CHECKS: Readonly<Record<string, string>> = {};

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
  readonly object_name: string;
  readonly checks: readonly {
    readonly check: { readonly id: string };
    readonly grade: number;
    readonly skipped: boolean;
    readonly comments: readonly { readonly path: string; readonly summary: string; readonly description: string }[] | null;
  }[];
}

/** kube-score's grades: 10 all OK, 7 almost OK, 5 warning, 1 critical. */
const GRADES: Record<number, string> = { 1: "CRITICAL", 5: "WARNING", 7: "ALMOST OK" };

/** One line per comment of every check graded below OK and not skipped. */
export function findings(scored: readonly ScoredObject[]): string[] {
  return scored.flatMap((o) =>
    o.checks
      .filter((c) => !c.skipped && c.grade < 10)
      .flatMap((c) =>
        (c.comments ?? [{ path: "", summary: "", description: "" }]).map(
          (m) =>
            `${o.object_name} [${c.check.id}] ${GRADES[c.grade] ?? `grade ${c.grade}`}: ${m.path ? `(${m.path}) ` : ""}${m.summary}${m.description ? ` - ${m.description}` : ""}`,
        ),
      ),
  );
}
