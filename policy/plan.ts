/**
 * The half of data protection a policy pack cannot see: what a preview is about to DO. The analyzer
 * is shown each resource's goal state, never whether the engine will replace or delete it, so
 * scripts/stage.sh saves the preview's plan (`--save-plan`) and the stack's state, and this check
 * fails the preview when an object that holds data would be replaced, or deleted without
 * retainOnDelete. Pure: the two JSON documents in, violations out.
 */
import { TYPES } from "./contract";
import { holdsData } from "./rules/data";
import { describe, type PolicyResource } from "./rules/types";

/** The parts of `pulumi preview --save-plan`'s file this reads. */
export interface PlanFile {
  readonly resourcePlans?: Readonly<Record<string, { readonly steps?: readonly string[] }>>;
}

/** The parts of `pulumi stack export` this reads. */
export interface StateFile {
  readonly deployment?: {
    readonly resources?: readonly {
      readonly urn: string;
      readonly type: string;
      readonly inputs?: Readonly<Record<string, unknown>>;
      readonly retainOnDelete?: boolean;
    }[];
  };
}

export const RULE = "data-no-replace-or-unretained-delete";

const REPLACING = ["replace", "create-replacement", "delete-replaced"];

/** What a plan may not replace or drop: an object that holds data, or the Namespace, whose deletion takes everything in it. */
const atStake = (r: PolicyResource): boolean => holdsData(r) || r.type === TYPES.namespace;

const holdsWhat = (r: PolicyResource): string => (r.type === TYPES.namespace ? "holds every object of the stage" : "holds data");

/** One message per data-bearing object the plan replaces, or deletes without retainOnDelete. */
export function dataLosses(plan: PlanFile, state: StateFile): string[] {
  const out: string[] = [];
  const known = state.deployment?.resources ?? [];
  // A plan that speaks of none of the stack's objects judges nothing: refuse it rather than pass it.
  if (known.length > 0 && !known.some((r) => plan.resourcePlans?.[r.urn] !== undefined))
    return [
      `${RULE}: the plan names none of the stack's ${known.length} resources, so what it does to data cannot be judged. Fix: pass the file \`pulumi preview --save-plan <file>\` wrote for this stack, and this stack's \`pulumi stack export\``,
    ];
  for (const old of state.deployment?.resources ?? []) {
    const steps = plan.resourcePlans?.[old.urn]?.steps ?? [];
    const r: PolicyResource = { type: old.type, urn: old.urn, name: old.urn.split("::").pop() ?? old.urn, props: old.inputs ?? {} };
    if (steps.length === 0 || !atStake(r)) continue;
    if (steps.some((s) => REPLACING.includes(s)))
      out.push(
        `${RULE}: ${describe(r)} ${holdsWhat(r)} and this preview replaces it (${r.urn}). Fix: keep its immutable fields as they are (a StatefulSet's selector, serviceName, volumeClaimTemplates, podManagementPolicy; a claim's spec), or move the data first`,
      );
    else if (steps.includes("delete") && old.retainOnDelete !== true)
      out.push(
        `${RULE}: ${describe(r)} ${holdsWhat(r)} and this preview deletes it (${r.urn}). Fix: keep it in the program, or register it with retainOnDelete: true so it stays in the cluster`,
      );
  }
  return out;
}
