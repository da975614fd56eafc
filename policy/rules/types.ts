/**
 * The shapes every rule shares. Rules are pure functions of what the engine hands a policy pack
 * (type, URN, inputs, options), so each one is unit-tested without the engine.
 */

/** `mandatory` fails the preview; `advisory` is printed and lets it pass. */
export type Level = "mandatory" | "advisory";

/** One resource as the analyzer sees it: its inputs (`props`) and the options the analyzer is given. */
export interface PolicyResource {
  readonly type: string;
  readonly urn: string;
  /** Pulumi's name for it (the last URN part). */
  readonly name: string;
  readonly props: Readonly<Record<string, unknown>>;
  readonly opts?: { readonly protect?: boolean; readonly deleteBeforeReplace?: boolean };
}

/** A violation: which resource, what is wrong and how to fix it (the rule's name is added when reported). */
export interface Finding {
  readonly urn: string;
  readonly message: string;
}

interface RuleBase {
  /** Unique in the pack; shown in every violation. */
  readonly name: string;
  readonly description: string;
  readonly level: Level;
}

/** Judges one resource at a time. */
export interface ResourceRule extends RuleBase {
  /** Messages for this resource (each names the resource and the fix); empty when it passes. */
  check(r: PolicyResource): string[];
}

/** Judges the stack as a whole (relations between resources). */
export interface StackRule extends RuleBase {
  checkStack(resources: readonly PolicyResource[]): Finding[];
}

export type Rule = ResourceRule | StackRule;

export const isStackRule = (r: Rule): r is StackRule => "checkStack" in r;

/** The text a violation carries: `<rule>: <what is wrong>`, the fix inside the message. */
export const violation = (rule: string, message: string): string => `${rule}: ${message}`;

// ---------------------------------------------------------------------------------------------
// Reading Kubernetes objects out of untyped inputs. A missing field reads as missing.

export interface ObjectMeta {
  readonly name?: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The object's `metadata`, or empty. */
export function metaOf(r: PolicyResource): ObjectMeta {
  const m = r.props.metadata;
  return typeof m === "object" && m !== null ? (m as ObjectMeta) : {};
}

/** The object's `spec`, or empty. */
export function specOf<T>(r: PolicyResource): Partial<T> {
  const s = r.props.spec;
  return (typeof s === "object" && s !== null ? s : {}) as Partial<T>;
}

/** `kubernetes:apps/v1:Deployment` -> `Deployment`. */
export const kindOf = (type: string): string => type.split(":").pop() ?? type;

/** How messages name a Kubernetes object: `StatefulSet stagecraft/etcd`. */
export function describe(r: PolicyResource): string {
  const m = metaOf(r);
  return `${kindOf(r.type)} ${m.namespace ? `${m.namespace}/` : ""}${m.name ?? r.name}`;
}
