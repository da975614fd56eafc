/**
 * Render mode writes manifests to disk. Secrets must never appear there, so for a render target
 * every Secret reaches the provider without its values; its keys stay, so a reviewer still sees
 * which Secret holds what.
 */
import * as pulumi from "@pulumi/pulumi";

export const REDACTED = "<redacted: set by pulumi up on a cluster>";

/** Annotation carrying a redacted Secret's keys to render-tree, which writes them back as stringData. */
export const REDACTED_KEYS = "stagecraft.dev/redacted-keys";

/** Pure: a Secret's data with every value replaced by the marker. */
export function redactValues(data: Record<string, unknown> | undefined): Record<string, string> | undefined {
  return data && Object.fromEntries(Object.keys(data).map((k) => [k, REDACTED]));
}

/** Pure: the keys of a Secret's data and stringData, sorted and comma-separated. */
export function secretKeys(data: Record<string, unknown> | undefined, stringData: Record<string, unknown> | undefined): string {
  return [...new Set([...Object.keys(data ?? {}), ...Object.keys(stringData ?? {})])].sort().join(",");
}

type Metadata = { annotations?: Record<string, string> } & Record<string, unknown>;

/**
 * A transformation that redacts Kubernetes Secrets. It is the SDK-side kind (applied in the
 * program to a component's children), not the engine-side transform, which needs callback support
 * the language host built here (sdk v3.58.0) does not provide.
 * The provider marks any Secret's data as secret whatever it holds (pulumi-kubernetes'
 * annotateSecrets) and then warns that the rendered file holds a secret in plaintext; so the
 * Secret goes without data and stringData, its keys in the REDACTED_KEYS annotation.
 */
export const redactSecrets: pulumi.ResourceTransformation = (args) => {
  if (args.type !== "kubernetes:core/v1:Secret") return undefined;
  const { data, stringData, ...props } = args.props as Record<string, unknown>;
  // Only the keys survive, so the result carries no secret and needs no secret marking.
  const keys = pulumi.unsecret(
    pulumi
      .all([data as pulumi.Input<Record<string, unknown>> | undefined, stringData as pulumi.Input<Record<string, unknown>> | undefined])
      .apply(([d, s]) => secretKeys(d, s)),
  );
  props.metadata = pulumi
    .all([props.metadata as pulumi.Input<Metadata> | undefined, keys])
    .apply(([m, k]) => ({ ...m, annotations: { ...m?.annotations, [REDACTED_KEYS]: k } }));
  return { props, opts: args.opts };
};
