/**
 * Reads a stack's config (from the engine or from a stack file), validates all of it, and either
 * returns the typed spec and target or throws one SpecError listing every problem with its fix.
 * Nothing here registers a resource, so bad input never touches a cluster.
 */
import { z } from "zod";
import { setCommand, SpecError, type SpecProblem } from "../spec/errors";
import { applyOverrides } from "../spec/overrides";
import { checkRules } from "./rules";
import { checkEksTarget } from "./targetRules";
import { Spec } from "../spec/schema";
import { Target } from "../spec/target";

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

export interface LoadedStack {
  readonly stack: string;
  readonly spec: Spec;
  readonly target: Target;
}

/** Secret keys every stack needs: one seed from which per-user passwords are derived. */
export const REQUIRED_SECRETS = ["secretSeed"] as const;

/** Secret keys a given (raw) spec refers to, beyond the required ones. */
export function referencedSecrets(rawSpec: unknown): string[] {
  const consumers = (rawSpec as { edge?: { kong?: { consumers?: unknown } } } | undefined)?.edge?.kong?.consumers;
  if (!Array.isArray(consumers)) return [];
  return consumers.map((c) => (c as { credentialSecret?: unknown }).credentialSecret).filter((k): k is string => typeof k === "string");
}

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

/** Peels wrappers (default, optional, refinements) off a schema. */
function unwrap(s: z.ZodTypeAny): z.ZodTypeAny {
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
    else if (s instanceof z.ZodDefault) s = s.removeDefault();
    else if (s instanceof z.ZodEffects) s = s.innerType();
    else return s;
  }
}

/** The object schema found at `path`, choosing union members by the raw value's discriminator. */
function objectAt(schema: z.ZodTypeAny, raw: unknown, path: readonly (string | number)[]): z.AnyZodObject | undefined {
  let s = unwrap(schema);
  let value = raw;
  for (const p of [...path, undefined]) {
    if (s instanceof z.ZodDiscriminatedUnion) {
      const tag = (value as Record<string, unknown> | undefined)?.[s.discriminator];
      s = unwrap(s.optionsMap.get(tag as never) ?? s.options[0]);
    }
    if (p === undefined) break;
    if (s instanceof z.ZodArray && typeof p === "number") s = unwrap(s.element);
    else if (s instanceof z.ZodObject && typeof p === "string") s = unwrap(s.shape[p] ?? z.never());
    else return undefined;
    value = (value as Record<string | number, unknown> | undefined)?.[p];
  }
  return s instanceof z.ZodObject ? s : undefined;
}

function valueAt(raw: unknown, path: readonly (string | number)[]): unknown {
  return path.reduce<unknown>((v, p) => (v as Record<string | number, unknown> | undefined)?.[p], raw);
}

const show = (v: unknown) => (v === undefined ? "nothing" : JSON.stringify(v));

/** Turns zod's issues into problems that say what to run. */
function zodProblems(stack: string, key: string, schema: z.ZodTypeAny, raw: unknown, error: z.ZodError): SpecProblem[] {
  const out: SpecProblem[] = [];
  for (const issue of error.issues) {
    const path = issue.path;
    const got = valueAt(raw, path);
    const set = (value: string) => setCommand(stack, key, path, value);
    switch (issue.code) {
      case "unrecognized_keys": {
        const known = Object.keys(objectAt(schema, raw, path)?.shape ?? {});
        for (const k of issue.keys) {
          const near = known.map((c) => [c, levenshtein(k.toLowerCase(), c.toLowerCase())] as const).sort((a, b) => a[1] - b[1])[0];
          const hint = near && near[1] <= Math.max(2, Math.floor(k.length / 3)) ? near[0] : undefined;
          out.push({
            key,
            path: [...path, k],
            message: `is not a known field${hint ? ` (did you mean '${hint}'?)` : ""}; known fields here: ${known.join(", ")}`,
            fix: `pulumi config rm --path '${[key, ...path, k]
              .map((p) => (typeof p === "number" ? `[${p}]` : p))
              .join(".")
              .replace(/\.\[/g, "[")}' --stack ${stack}${hint ? ` and set '${hint}' instead` : ""}`,
          });
        }
        break;
      }
      case "invalid_type":
        out.push({
          key,
          path,
          message:
            got === undefined
              ? "is required"
              : `must be ${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected} (got ${show(got)})`,
          fix: set(`<${issue.expected}>`),
        });
        break;
      case "invalid_enum_value":
        out.push({
          key,
          path,
          message: `must be one of ${issue.options.map((o) => `'${String(o)}'`).join(", ")} (got ${show(got)})`,
          fix: set(String(issue.options[0])),
        });
        break;
      case "invalid_union_discriminator":
        out.push({
          key,
          path: [...path],
          message: `must be one of ${issue.options.map((o) => `'${String(o)}'`).join(", ")} (got ${show(got)})`,
          fix: set(String(issue.options[0])),
        });
        break;
      case "too_small":
        out.push({
          key,
          path,
          message:
            issue.type === "array"
              ? `must have at least ${String(issue.minimum)} entries`
              : `must be at least ${String(issue.minimum)} (got ${show(got)})`,
          fix:
            issue.type === "array"
              ? `add entries under '${key}.${path.join(".")}' in stacks/Pulumi.${stack}.yaml`
              : set(String(issue.minimum)),
        });
        break;
      case "too_big":
        out.push({ key, path, message: `must be at most ${String(issue.maximum)} (got ${show(got)})`, fix: set(String(issue.maximum)) });
        break;
      default:
        out.push({
          key,
          path,
          message: `${issue.message.replace(/^[A-Z]/, (c) => c.toLowerCase())} (got ${show(got)})`,
          fix: set("<a valid value>"),
        });
    }
  }
  return out;
}

/** Validates a whole stack. Throws SpecError with every problem; returns the typed result otherwise. */
export function validateStack(stack: string, raw: RawStack): LoadedStack {
  const problems: SpecProblem[] = [];

  for (const k of [...REQUIRED_SECRETS, ...referencedSecrets(raw.spec)]) {
    const state = raw.secrets[k] ?? "missing";
    if (state === "plaintext")
      problems.push({
        key: `${CONFIG_NS}:${k}`,
        path: [],
        message: "is stored in plaintext, but it is a secret: plaintext config lands in state, previews and logs",
        fix: `pulumi config set --secret ${CONFIG_NS}:${k} <value> --stack ${stack}`,
      });
    if (state === "missing")
      problems.push({
        key: `${CONFIG_NS}:${k}`,
        path: [],
        message: "is required (a secret)",
        fix: `pulumi config set --secret ${CONFIG_NS}:${k} "$(openssl rand -base64 32)" --stack ${stack}`,
      });
  }

  const target = Target.safeParse(raw.target ?? {});
  if (!target.success) problems.push(...zodProblems(stack, "target", Target, raw.target ?? {}, target.error));

  if (raw.spec === undefined) {
    problems.push({
      key: "spec",
      path: [],
      message: "is missing: the stack holds no stage",
      fix: `copy the 'stagecraft:spec' block of a stage file, e.g. npx stagecraft promote --stack ${stack} --to mvc`,
    });
    throw new SpecError(stack, problems);
  }
  const merged = applyOverrides(raw.spec, raw.overrides);
  problems.push(...merged.problems);
  const spec = Spec.safeParse(merged.spec);
  if (!spec.success) {
    problems.push(...zodProblems(stack, "spec", Spec, merged.spec, spec.error));
    throw new SpecError(stack, problems);
  }
  problems.push(...checkRules(stack, spec.data));
  if (target.success) problems.push(...checkEksTarget(stack, spec.data, target.data));
  if (problems.length > 0 || !target.success) throw new SpecError(stack, problems);
  return { stack, spec: spec.data, target: target.data };
}
