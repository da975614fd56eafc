/**
 * Which objects `pulumi up` waits for. The Kubernetes provider holds every Service until its
 * Endpoints have had no event for 10 s, without even asking for a ready address behind it; the
 * app tier depends on the data components, so those waits chain and made `up` several times slower
 * than `kubectl apply` plus rollout waits. The Deployment, StatefulSet and Job awaits (kept) are what
 * prove pods Ready. A LoadBalancer Service is still awaited until the cloud has assigned it an
 * address, but by that alone (the provider's `waitFor` condition on its status) instead of the
 * built-in await, which also sits out the same 10 s of quiet Endpoints: the last 10 s of every `up`.
 */
import * as pulumi from "@pulumi/pulumi";

/** The provider's annotation that skips its await for one object. */
export const SKIP_AWAIT = { "pulumi.com/skipAwait": "true" } as const;

type Metadata = { annotations?: Record<string, string> } & Record<string, unknown>;

/**
 * The provider's annotation that replaces its built-in await with a condition on the object: here,
 * that the Service's status lists a load-balancer ingress (an address or a hostname).
 */
export const AWAIT_LB_ADDRESS = { "pulumi.com/waitFor": "jsonpath={.status.loadBalancer.ingress[0]}" } as const;

/** Pure: the metadata of an in-cluster Service with the await skipped; a LoadBalancer's awaiting its address only. */
export function withoutServiceAwait(metadata: Metadata | undefined, type: string | undefined): Metadata {
  return { ...metadata, annotations: { ...metadata?.annotations, ...(type === "LoadBalancer" ? AWAIT_LB_ADDRESS : SKIP_AWAIT) } };
}

/** An SDK-side transformation (see redact.ts for why not the engine-side kind) applying it to every Service. */
export const skipServiceAwait: pulumi.ResourceTransformation = (args) => {
  if (args.type !== "kubernetes:core/v1:Service") return undefined;
  const props = { ...args.props } as Record<string, unknown>;
  props.metadata = pulumi
    .all([props.metadata as pulumi.Input<Metadata> | undefined, props.spec as pulumi.Input<{ type?: string }> | undefined])
    .apply(([m, s]) => withoutServiceAwait(m, s?.type));
  return { props, opts: args.opts };
};
