/**
 * Which objects `pulumi up` waits for. The Kubernetes provider holds every Service until its
 * Endpoints have had no event for 10 s, without even asking for a ready address behind it; the
 * app tier depends on the data components, so those waits chain and made `up` several times slower
 * than `kubectl apply` plus rollout waits. The Deployment, StatefulSet and Job awaits (kept) are what
 * prove pods Ready. A LoadBalancer Service keeps its await: it proves the cloud assigned an address.
 */
import * as pulumi from "@pulumi/pulumi";

/** The provider's annotation that skips its await for one object. */
export const SKIP_AWAIT = { "pulumi.com/skipAwait": "true" } as const;

type Metadata = { annotations?: Record<string, string> } & Record<string, unknown>;

/** Pure: the metadata of an in-cluster Service with the await skipped; a LoadBalancer's unchanged. */
export function withoutServiceAwait(metadata: Metadata | undefined, type: string | undefined): Metadata {
  if (type === "LoadBalancer") return { ...metadata };
  return { ...metadata, annotations: { ...metadata?.annotations, ...SKIP_AWAIT } };
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
