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
