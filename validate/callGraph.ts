/**
 * The call graph's law: who may call whom, checked at validation. The same declared edges become
 * the model's calls (model/calls.ts) and so the NetworkPolicies: the law on paper and the law at
 * run time are the same edges.
 */
import type { Spec } from "../spec/schema";

export interface Edge {
  readonly from: string;
  readonly to: string;
}

export interface CallGraphViolation {
  /** Index of the calling service in spec.services. */
  readonly serviceIndex: number;
  /** Index of the offending entry in that service's `calls`. */
  readonly callIndex: number;
  readonly edge: Edge;
  /** Which rule it breaks, in words. */
  readonly rule: string;
}

/** Every violation of the call-graph rules, in spec order. */
export function checkCallGraph(spec: Pick<Spec, "services" | "callRules">): CallGraphViolation[] {
  const out: CallGraphViolation[] = [];
  const byName = new Map(spec.services.map((s) => [s.name, s]));

  spec.services.forEach((s, serviceIndex) => {
    const seen = new Set<string>();
    s.calls.forEach((to, callIndex) => {
      const edge = { from: s.name, to };
      const callee = byName.get(to);
      const flag = (rule: string) => out.push({ serviceIndex, callIndex, edge, rule });
      if (seen.has(to)) return flag("an edge is declared once");
      seen.add(to);
      if (to === s.name) return flag("a service does not call itself over the network");
      if (!callee) return flag(`'${to}' is not a service of this stage`);
      if (spec.callRules === "layered") {
        if (s.layer === "data" && callee.layer === "app") return flag("data services never depend on application services");
        if (s.layer === "app" && callee.layer === "app")
          return flag("application services do not call each other; share a data service instead");
      }
      return undefined;
    });
  });

  // Cycles: report the edge that closes each one, found by depth-first search in spec order.
  const state = new Map<string, "open" | "done">();
  const visit = (name: string, stack: string[]): void => {
    state.set(name, "open");
    const s = byName.get(name);
    const serviceIndex = spec.services.findIndex((x) => x.name === name);
    s?.calls.forEach((to, callIndex) => {
      if (!byName.has(to) || to === name) return;
      if (state.get(to) === "open") {
        const cycle = [...stack.slice(stack.indexOf(to)), name, to].join(" -> ");
        out.push({ serviceIndex, callIndex, edge: { from: name, to }, rule: `calls must not form a cycle (${cycle})` });
      } else if (!state.has(to)) visit(to, [...stack, name]);
    });
    state.set(name, "done");
  };
  for (const s of spec.services) if (!state.has(s.name)) visit(s.name, []);

  return out;
}
