/**
 * NetworkPolicies from the stage model's flows: the call graph on paper becomes the call graph at run time.
 *
 * The namespace is closed first (default-deny ingress and egress, DNS the only exception), then each
 * pod group (selected by `app.kubernetes.io/name`) gets one policy opening exactly its flows
 * (model/flows.ts): declared calls, the edge's routes, the data stores a workload uses, replication
 * and peer traffic. Every flow is opened on both ends (egress of the sender, ingress of the receiver), because
 * with default-deny on both directions a one-sided rule opens nothing.
 *
 * A pod group's policy is named by its app and a hash of its rules (`allow-web-1a2b3c4d`): when a
 * stage move changes a group's flows, the engine creates the new policy first and deletes the old
 * one only at the end of the `up` (Pulumi runs deletions last). Policies add up, so while pods move
 * both the old flows (the old pods' calls) and the new ones are open; updating in place would close
 * the old callers' flows before their replacements exist (seen on the real node: micro -> ddd
 * failed 597 of 1558 writes with the policies switched at the start of the `up`).
 *
 * Pure: flows in, plain manifests out, in a deterministic order (sorted by name), so a reordering
 * of services in the stack file changes nothing in a preview.
 */
import { createHash } from "crypto";
import { ANYWHERE, cmp, type Flow } from "../../model/flows";
import { PART_OF, PORTS, TIER_LABEL } from "../../model/names";

/** `matchLabels` absent: every pod (of the namespace, for a podSelector). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
}

export interface NetworkPolicyPort {
  protocol: "TCP" | "UDP";
  port: number;
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
}

/** `from` absent: any source (the edge's public port). */
export interface NetworkPolicyIngressRule {
  from?: NetworkPolicyPeer[];
  ports: NetworkPolicyPort[];
}

export interface NetworkPolicyEgressRule {
  to: NetworkPolicyPeer[];
  ports: NetworkPolicyPort[];
}

/** Arrays are mutable on purpose: the objects are assignable to @pulumi/kubernetes input types. */
export interface NetworkPolicyManifest {
  apiVersion: "networking.k8s.io/v1";
  kind: "NetworkPolicy";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    podSelector: LabelSelector;
    policyTypes: ("Ingress" | "Egress")[];
    ingress: NetworkPolicyIngressRule[];
    egress: NetworkPolicyEgressRule[];
  };
}

/** The label every Stagecraft pod is selected by. */
export const POD_NAME_LABEL = "app.kubernetes.io/name";

/** Where cluster DNS runs: the same labels on kind, k3s and EKS (CoreDNS keeps the kube-dns label). */
const DNS_NAMESPACE = "kube-system";
const DNS_POD_LABELS = { "k8s-app": "kube-dns" };

const podPeer = (app: string): NetworkPolicyPeer => ({ podSelector: { matchLabels: { [POD_NAME_LABEL]: app } } });
const tcp = (port: number): NetworkPolicyPort => ({ protocol: "TCP", port });

/** Groups flows by port, in port order, each with its sorted peers. */
function byPort(flows: readonly Flow[], peerOf: (f: Flow) => string): [number, string[]][] {
  const ports = new Map<number, Set<string>>();
  for (const f of flows) ports.set(f.port, (ports.get(f.port) ?? new Set()).add(peerOf(f)));
  return [...ports.entries()].sort((a, b) => a[0] - b[0]).map(([port, peers]) => [port, [...peers].sort(cmp)]);
}

export function networkPolicies(flows: readonly Flow[], namespace: string): NetworkPolicyManifest[] {
  const metadata = (name: string) => ({
    name,
    namespace,
    labels: { "app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/managed-by": "pulumi", [TIER_LABEL]: "platform" },
  });

  const defaultDeny: NetworkPolicyManifest = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: metadata("default-deny"),
    spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress: [], egress: [] },
  };
  const dns: NetworkPolicyManifest = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: metadata("dns-egress"),
    spec: {
      podSelector: {},
      policyTypes: ["Egress"],
      ingress: [],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": DNS_NAMESPACE } },
              podSelector: { matchLabels: DNS_POD_LABELS },
            },
          ],
          ports: [
            { protocol: "UDP", port: PORTS.dns },
            { protocol: "TCP", port: PORTS.dns },
          ],
        },
      ],
    },
  };

  const apps = [...new Set(flows.flatMap((f) => [f.from, f.to]).filter((a) => a !== ANYWHERE))].sort(cmp);
  const perApp = apps.map((app): NetworkPolicyManifest => {
    const ingress = byPort(
      flows.filter((f) => f.to === app),
      (f) => f.from,
    ).map(([port, peers]): NetworkPolicyIngressRule =>
      // Any source on a public port: listing the callers too would change nothing.
      peers.includes(ANYWHERE) ? { ports: [tcp(port)] } : { from: peers.map(podPeer), ports: [tcp(port)] },
    );
    const egress = byPort(
      flows.filter((f) => f.from === app),
      (f) => f.to,
    ).map(([port, peers]): NetworkPolicyEgressRule => ({ to: peers.map(podPeer), ports: [tcp(port)] }));
    const spec: NetworkPolicyManifest["spec"] = {
      podSelector: { matchLabels: { [POD_NAME_LABEL]: app } },
      policyTypes: ["Ingress", "Egress"],
      ingress,
      egress,
    };
    return {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      // `allow-` keeps these apart from the two fixed names, whatever a service is called.
      metadata: metadata(`allow-${app}-${rulesHash(spec)}`),
      spec,
    };
  });

  return [defaultDeny, dns, ...perApp];
}

/** Eight hex digits of the rules' hash: a new name exactly when the rules change. */
function rulesHash(spec: NetworkPolicyManifest["spec"]): string {
  return createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 8);
}
