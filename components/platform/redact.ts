/**
 * Render mode writes manifests to disk. Secrets must never appear there, so for a render target
 * every Secret's values are replaced by a marker before the provider sees them; the keys stay,
 * so a reviewer still sees which Secret holds what.
 */
import * as pulumi from "@pulumi/pulumi";

export const REDACTED = "<redacted: set by pulumi up on a cluster>";

/** Pure: a Secret's data with every value replaced by the marker. */
export function redactValues(data: Record<string, unknown> | undefined): Record<string, string> | undefined {
  return data && Object.fromEntries(Object.keys(data).map((k) => [k, REDACTED]));
}

/**
 * A transformation that redacts Kubernetes Secrets. It is the SDK-side kind (applied in the
 * program to a component's children), not the engine-side transform, which needs callback support
 * the language host built here (sdk v3.58.0) does not provide.
 */
export const redactSecrets: pulumi.ResourceTransformation = (args) => {
  if (args.type !== "kubernetes:core/v1:Secret") return undefined;
  const props = { ...args.props };
  for (const field of ["stringData", "data"]) {
    if (props[field] !== undefined) {
      // Only the keys survive, so the result carries no secret and needs no secret marking.
      props[field] = pulumi.unsecret(pulumi.output(props[field] as pulumi.Input<Record<string, unknown>>).apply(redactValues));
    }
  }
  return { props, opts: args.opts };
};
