/**
 * Spec errors that a platform engineer can act on: the stack, the field path, what was wrong
 * and why, and the exact command that fixes it.
 */

/** One problem found in a stack's config. */
export interface SpecProblem {
  /** Config key the problem sits under, e.g. `spec` or `target`. */
  readonly key: string;
  /** Path inside that key, e.g. ["kong", "replicas"]. */
  readonly path: readonly (string | number)[];
  /** What is wrong, and why it matters, as a clause: "must be at least 2 (got 1): …". */
  readonly message: string;
  /** A command or edit that fixes it. */
  readonly fix: string;
}

/** `spec.services[0].name` style, the way `pulumi config set --path` spells it. */
export function fieldPath(key: string, path: readonly (string | number)[]): string {
  return path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : `${acc}.${p}`), key);
}

/** The `pulumi config set` command that sets `value` at a field. */
export function setCommand(stack: string, key: string, path: readonly (string | number)[], value: string): string {
  return `pulumi config set --path '${fieldPath(key, path)}' ${value} --stack ${stack}`;
}

export function formatProblem(stack: string, p: SpecProblem): string {
  return `stack ${stack}: ${fieldPath(p.key, p.path)} ${p.message}. Fix: ${p.fix}`;
}

/** Thrown before any resource is registered. Carries every problem, not just the first. */
export class SpecError extends Error {
  constructor(
    readonly stack: string,
    readonly problems: readonly SpecProblem[],
  ) {
    super(problems.map((p) => formatProblem(stack, p)).join("\n"));
    this.name = "SpecError";
  }
}
