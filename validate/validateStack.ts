/**
 * Validates a stack's raw config (from the engine or a stack file) and derives its model, or throws
 * one SpecError listing every problem with its fix. Nothing here registers a resource, so bad input
 * never touches a cluster.
 */
import { CONFIG_NS, REQUIRED_SECRETS, referencedSecrets, type RawStack } from "../spec/config";
import { SpecError, type SpecProblem } from "../spec/errors";
import { applyOverrides } from "../spec/overrides";
import { fitSpec } from "../spec/fit";
import { Spec } from "../spec/schema";
import { Target } from "../spec/target";
import { stageModel, type StageModel } from "../model/stage";
import { checkRules } from "./rules";
import { checkEksTarget } from "./targetRules";
import { zodProblems } from "./zodProblems";

export interface LoadedStack {
  readonly stack: string;
  readonly spec: Spec;
  readonly target: Target;
  /** What the stage runs, derived once from the spec. */
  readonly model: StageModel;
}

/** Validates a whole stack. Throws SpecError with every problem; returns the typed result otherwise. */
export function validateStack(stack: string, raw: RawStack): LoadedStack {
  const problems: SpecProblem[] = [];

  for (const k of [...REQUIRED_SECRETS, ...referencedSecrets(raw.spec)]) {
    const state = raw.secrets[k] ?? "missing";
    if (state === "plaintext")
      problems.push({
        key: `${CONFIG_NS}:${k}`,
        path: [],
        message: "is stored in plaintext, but it is a secret: plaintext config lands in state, previews and logs",
        fix: `pulumi config set --secret ${CONFIG_NS}:${k} <value> --stack ${stack}`,
      });
    if (state === "missing")
      problems.push({
        key: `${CONFIG_NS}:${k}`,
        path: [],
        message: "is required (a secret)",
        fix: `pulumi config set --secret ${CONFIG_NS}:${k} "$(openssl rand -base64 32)" --stack ${stack}`,
      });
  }

  const target = Target.safeParse(raw.target ?? {});
  if (!target.success) problems.push(...zodProblems(stack, "target", Target, raw.target ?? {}, target.error));

  if (raw.spec === undefined) {
    problems.push({
      key: "spec",
      path: [],
      message: "is missing: the stack holds no stage",
      fix: `copy the 'stagecraft:spec' block of a stage file, e.g. npx stagecraft promote --stack ${stack} --to mvc`,
    });
    throw new SpecError(stack, problems);
  }
  const merged = applyOverrides(raw.spec, raw.overrides);
  problems.push(...merged.problems);
  const spec = Spec.safeParse(merged.spec);
  if (!spec.success) {
    problems.push(...zodProblems(stack, "spec", Spec, merged.spec, spec.error));
    throw new SpecError(stack, problems);
  }
  // The target's fit (a small local cluster) applies after the overrides, to whatever stage it is.
  const fitted = target.success && target.data.kind === "kubeconfig" ? fitSpec(spec.data, target.data.fit) : spec.data;
  const model = stageModel(fitted);
  problems.push(...checkRules(stack, model));
  if (target.success) problems.push(...checkEksTarget(stack, model, target.data));
  if (problems.length > 0 || !target.success) throw new SpecError(stack, problems);
  return { stack, spec: fitted, target: target.data, model };
}
