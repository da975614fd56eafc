/** zod's issues turned into problems that name the field and say what to run. */
import { z } from "zod";
import { setCommand, type SpecProblem } from "../spec/errors";
import { editDistance } from "./nearest";

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
export function zodProblems(stack: string, key: string, schema: z.ZodTypeAny, raw: unknown, error: z.ZodError): SpecProblem[] {
  const out: SpecProblem[] = [];
  for (const issue of error.issues) {
    const path = issue.path;
    const got = valueAt(raw, path);
    const set = (value: string) => setCommand(stack, key, path, value);
    switch (issue.code) {
      case "unrecognized_keys": {
        const known = Object.keys(objectAt(schema, raw, path)?.shape ?? {});
        for (const k of issue.keys) {
          const near = known.map((c) => [c, editDistance(k.toLowerCase(), c.toLowerCase())] as const).sort((a, b) => a[1] - b[1])[0];
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
