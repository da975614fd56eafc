/**
 * Rules -> @pulumi/policy policies. Kept apart from index.ts (which serves the pack) so the
 * mapping is tested without a running engine.
 */
import type { PolicyResource as AnalyzerResource, Policies, ResourceValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { isStackRule, violation, type PolicyResource, type Rule } from "./rules/types";

/** What a rule reads from the analyzer's view of a resource. */
export function fromAnalyzer(
  r: Pick<ResourceValidationArgs | AnalyzerResource, "type" | "urn" | "name" | "props" | "opts">,
): PolicyResource {
  return {
    type: r.type,
    urn: r.urn,
    name: r.name,
    props: r.props ?? {},
    opts: { protect: r.opts?.protect, deleteBeforeReplace: r.opts?.deleteBeforeReplace },
  };
}

export function toPolicies(rules: readonly Rule[]): Policies {
  return rules.map((rule) => {
    const base = { name: rule.name, description: rule.description, enforcementLevel: rule.level };
    if (isStackRule(rule)) {
      const policy: StackValidationPolicy = {
        ...base,
        validateStack: (args, report) => {
          for (const f of rule.checkStack(args.resources.map(fromAnalyzer))) report(violation(rule.name, f.message), f.urn);
        },
      };
      return policy;
    }
    return {
      ...base,
      validateResource: (args, report) => {
        for (const m of rule.check(fromAnalyzer(args))) report(violation(rule.name, m));
      },
    };
  });
}
