/**
 * The call graph as law, read from what the program deploys: NetworkPolicies say which pod group
 * may reach which (that is how Stagecraft enforces its call graph at run time), and each pod
 * group's labels say its tier and, for services, its layer. Application services never call each
 * other in a layered stage, and data services depend on nothing above them (application or edge).
 */
import { CALL_RULES_ANNOTATION, LAYER_LABEL, NAME_LABEL, TIER_LABEL, TYPES } from "../contract";
import { isWorkload } from "./workload";
import { describe, metaOf, specOf, type Finding, type PolicyResource, type StackRule } from "./types";

interface Peer {
  readonly podSelector?: { readonly matchLabels?: Readonly<Record<string, string>> };
  readonly namespaceSelector?: unknown;
}
interface NetworkPolicySpec {
  readonly podSelector?: { readonly matchLabels?: Readonly<Record<string, string>> };
  readonly ingress?: readonly { readonly from?: readonly Peer[] }[];
  readonly egress?: readonly { readonly to?: readonly Peer[] }[];
}

/** A pod group by its name label: its tier and (services only) its layer. */
export interface Group {
  readonly tier?: string;
  readonly layer?: string;
}

/** One allowed connection between pod groups, and the NetworkPolicy that opens it. */
export interface Edge {
  readonly from: string;
  readonly to: string;
  readonly policy: PolicyResource;
}

/** Pod groups of the stack's workloads, by `app.kubernetes.io/name` of their pod template. */
export function groups(resources: readonly PolicyResource[]): Map<string, Group> {
  const out = new Map<string, Group>();
  for (const r of resources.filter(isWorkload)) {
    const spec = specOf<{ template?: { metadata?: { labels?: Record<string, string> } } }>(r);
    const labels = { ...(metaOf(r).labels ?? {}), ...(spec.template?.metadata?.labels ?? {}) };
    const name = labels[NAME_LABEL];
    if (name) out.set(name, { tier: labels[TIER_LABEL], layer: labels[LAYER_LABEL] });
  }
  return out;
}

// A peer in another namespace (DNS) is not part of the stage's call graph.
const groupOf = (p: Peer | undefined): string | undefined => (p?.namespaceSelector ? undefined : p?.podSelector?.matchLabels?.[NAME_LABEL]);

/** Every pod-group edge the NetworkPolicies open, from either end (egress of the caller, ingress of the callee). */
export function edges(resources: readonly PolicyResource[]): Edge[] {
  const out: Edge[] = [];
  for (const policy of resources.filter((r) => r.type === TYPES.networkPolicy)) {
    const spec = specOf<NetworkPolicySpec>(policy);
    const self = spec.podSelector?.matchLabels?.[NAME_LABEL];
    if (!self) continue;
    for (const rule of spec.egress ?? [])
      for (const peer of rule.to ?? []) {
        const to = groupOf(peer);
        if (to && to !== self) out.push({ from: self, to, policy });
      }
    for (const rule of spec.ingress ?? [])
      for (const peer of rule.from ?? []) {
        const from = groupOf(peer);
        if (from && from !== self) out.push({ from, to: self, policy });
      }
  }
  return out;
}

/** Layered unless the Namespace says otherwise; without the annotation, a stage with data services is layered. */
export function layered(resources: readonly PolicyResource[], g: Map<string, Group>): boolean {
  const declared = resources.filter((r) => r.type === TYPES.namespace).map((r) => metaOf(r).annotations?.[CALL_RULES_ANNOTATION]);
  const said = declared.find((v) => v !== undefined);
  if (said !== undefined) return said === "layered";
  return [...g.values()].some((x) => x.layer === "data");
}

export const callGraph: StackRule = {
  name: "call-graph-layers",
  description: "Data services depend on nothing above them; in a layered stage, application services never call each other.",
  level: "mandatory",
  checkStack(resources) {
    const g = groups(resources);
    const isLayered = layered(resources, g);
    const out: Finding[] = [];
    const seen = new Set<string>();
    for (const e of edges(resources)) {
      const from = g.get(e.from);
      const to = g.get(e.to);
      if (!from || !to) continue;
      let why: string | undefined;
      // Above a data service: application services and the edge. Shared infrastructure of the app tier
      // without a layer (push fan-out, Celery) is not a service of the call graph.
      if (from.layer === "data" && (to.layer === "app" || to.tier === "edge"))
        why = `data service ${e.from} depends on ${e.to} (${to.layer === "app" ? "an application service" : "the edge"}): data services depend on nothing above them`;
      else if (isLayered && from.layer === "app" && to.layer === "app")
        why = `application service ${e.from} calls application service ${e.to}: application services do not call each other; share a data service instead`;
      if (!why || seen.has(`${e.policy.urn}|${e.from}|${e.to}`)) continue;
      seen.add(`${e.policy.urn}|${e.from}|${e.to}`);
      out.push({
        urn: e.policy.urn,
        message: `${describe(e.policy)} opens ${e.from} -> ${e.to}: ${why}. Fix: remove '${e.to}' from the calls of ${e.from} (Stagecraft: spec.services[…].calls)`,
      });
    }
    return out;
  },
};
