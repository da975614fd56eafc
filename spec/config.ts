/**
 * A stack's config as Stagecraft reads it, from the engine (index.ts) or from a stack file
 * (stackFile.ts): the keys, and the raw shape validation takes.
 */

/** The config namespace: Pulumi prefixes keys with the project name. */
export const CONFIG_NS = "stagecraft";

/** How a secret-valued config key was supplied. */
export type SecretState = "secret" | "plaintext" | "missing";

export interface RawStack {
  readonly spec: unknown;
  readonly target: unknown;
  /** State of each secret key the stack may need, by key name without the namespace. */
  readonly secrets: Readonly<Record<string, SecretState>>;
  /** The environment's overrides of the stage (`stagecraft:specOverrides`), merged before validation. */
  readonly overrides?: unknown;
}

/** Secret keys every stack needs: one seed from which per-user passwords are derived. */
export const REQUIRED_SECRETS = ["secretSeed"] as const;

/** Secret keys a given (raw) spec refers to, beyond the required ones. */
export function referencedSecrets(rawSpec: unknown): string[] {
  const consumers = (rawSpec as { edge?: { kong?: { consumers?: unknown } } } | undefined)?.edge?.kong?.consumers;
  if (!Array.isArray(consumers)) return [];
  return consumers.map((c) => (c as { credentialSecret?: unknown }).credentialSecret).filter((k): k is string => typeof k === "string");
}
