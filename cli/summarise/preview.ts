/**
 * The engine's `pulumi preview --json` document (display.PreviewDigest in the Pulumi CLI): the
 * fields the summariser reads, checked on the way in so a wrong file fails with a clear message.
 * Unknown fields pass through untouched: the engine adds fields over time.
 */
import { z } from "zod";

const Json = z.record(z.unknown());

export const ResourceState = z
  .object({
    urn: z.string().optional(),
    type: z.string(),
    id: z.string().optional(),
    custom: z.boolean().optional(),
    inputs: Json.optional(),
    outputs: Json.optional(),
    parent: z.string().optional(),
  })
  .passthrough();

export const PropertyDiff = z.object({ kind: z.string(), inputDiff: z.boolean().optional() }).passthrough();

export const PreviewStep = z
  .object({
    op: z.string(),
    urn: z.string(),
    provider: z.string().optional(),
    oldState: ResourceState.optional(),
    newState: ResourceState.optional(),
    diffReasons: z.array(z.string()).optional(),
    replaceReasons: z.array(z.string()).optional(),
    detailedDiff: z.record(PropertyDiff).nullable().optional(),
  })
  .passthrough();

export const PreviewDigest = z
  .object({
    config: z.record(z.string()).optional(),
    steps: z.array(PreviewStep).optional(),
    diagnostics: z
      .array(z.object({ urn: z.string().optional(), message: z.string().optional(), severity: z.string().optional() }).passthrough())
      .optional(),
    changeSummary: z.record(z.number()).optional(),
  })
  .passthrough();

export type ResourceState = z.infer<typeof ResourceState>;
export type PreviewStep = z.infer<typeof PreviewStep>;
export type PreviewDigest = z.infer<typeof PreviewDigest>;

/** Parses the text of `pulumi preview --json`; throws a message that says what was expected. */
export function parsePreview(text: string, source = "preview"): PreviewDigest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message}); expected the output of 'pulumi preview --json'`);
  }
  const parsed = PreviewDigest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${source}: not a 'pulumi preview --json' document: ${issue.path.join(".") || "(top)"} ${issue.message}`);
  }
  return parsed.data;
}

/** The parts of a URN: `urn:pulumi:<stack>::<project>::<parent types $ type>::<name>`. */
export interface ParsedUrn {
  readonly stack: string;
  readonly project: string;
  /** The type chain, outermost parent first, the resource's own type last. */
  readonly types: readonly string[];
  readonly name: string;
}

export function parseUrn(urn: string): ParsedUrn {
  const m = /^urn:pulumi:(.*?)::(.*?)::(.*?)::(.*)$/s.exec(urn);
  if (!m) throw new Error(`not a Pulumi URN: ${urn}`);
  return { stack: m[1], project: m[2], types: m[3].split("$"), name: m[4] };
}

/** A value at a detailedDiff path such as `spec.template.spec.containers[0].image` or `data["kong.yml"]`. */
export function valueAtPath(root: unknown, path: string): unknown {
  const parts: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g;
  for (let m = re.exec(path); m; m = re.exec(path)) parts.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : JSON.parse(`"${m[3]}"`)));
  return parts.reduce<unknown>(
    (v, p) => (v !== null && typeof v === "object" ? (v as Record<string | number, unknown>)[p] : undefined),
    root,
  );
}
