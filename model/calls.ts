/**
 * The call graph as the stage runs it: each declared call to a service of the stage, with the
 * protocol it speaks (the callee's kind) and the port it reaches. Settings, NetworkPolicies and the
 * diagram read these edges; validate/callGraph.ts checks the declared ones against the rules.
 */
import type { ServiceSpec } from "../spec/schema";

export interface Call {
  readonly from: string;
  readonly to: string;
  /** HTTP to a Django service (by DNS), RPC to an RPC service (found in the registry). */
  readonly protocol: "http" | "rpc";
  readonly port: number;
}

/** Calls in spec order; a call to an unknown service or to itself is not an edge (validation says why). */
export function calls(services: readonly ServiceSpec[]): Call[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  return services.flatMap((s) =>
    s.calls.flatMap((to) => {
      const callee = byName.get(to);
      if (!callee || to === s.name) return [];
      return [{ from: s.name, to, protocol: callee.kind === "web" ? ("http" as const) : ("rpc" as const), port: callee.port }];
    }),
  );
}

/**
 * Service names, each after the services it calls, otherwise in spec order: the order a stage
 * starts (or rolls) them, so a caller's new pods never go live before their callees serve. A cycle
 * (which validation refuses) cannot be ordered: its services keep spec order.
 */
export function calleesFirst(services: readonly ServiceSpec[], edges: readonly Call[]): string[] {
  const out: string[] = [];
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const callees = new Map<string, string[]>();
  for (const e of edges) callees.set(e.from, [...(callees.get(e.from) ?? []), e.to]);
  const visit = (name: string): void => {
    if (placed.has(name) || visiting.has(name)) return;
    visiting.add(name);
    for (const to of callees.get(name) ?? []) visit(to);
    visiting.delete(name);
    placed.add(name);
    out.push(name);
  };
  for (const s of services) visit(s.name);
  return out;
}
