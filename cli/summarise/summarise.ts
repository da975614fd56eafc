/**
 * `stagecraft summarise <preview.json|-> [--stage X] [--stack-file F]... [--out FILE] [--fail-on-red-flags]`:
 * `pulumi preview --json` output as a short Markdown summary for a pull request, red flags first.
 * With stack files it also checks the stage's connection budget against the servers' limits.
 */
import * as fs from "fs";
import type { ConnectionBudget } from "../../model/connections";
import { SpecError } from "../../spec/errors";
import { validateStack } from "../../validate/validateStack";
import { readStackFile } from "../../spec/stackFile";
import { parsePreview, parseUrn } from "./preview";
import { changesOf, redFlags, summaryMarkdown } from "./summary";

const USAGE =
  "usage: stagecraft summarise <preview.json|-> [--stage X] [--stack-file stacks/Pulumi.X.yaml]... [--out FILE] [--fail-on-red-flags]";

export interface SummariseOptions {
  readonly preview: string;
  readonly stage?: string;
  readonly stackFiles: readonly string[];
  readonly out?: string;
  readonly failOnRedFlags: boolean;
}

export function parseSummariseArgs(args: readonly string[]): SummariseOptions | string {
  let preview: string | undefined;
  let stage: string | undefined;
  let out: string | undefined;
  let failOnRedFlags = false;
  const stackFiles: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--fail-on-red-flags") {
      failOnRedFlags = true;
      continue;
    }
    if (a.startsWith("--")) {
      const [flag, inline] = a.split(/=(.*)/s, 2);
      const value = inline ?? args[++i];
      if (value === undefined || value === "") return `${flag} needs a value\n${USAGE}`;
      if (flag === "--stage") stage = value;
      else if (flag === "--stack-file") stackFiles.push(value);
      else if (flag === "--out") out = value;
      else return `unknown option '${a}'\n${USAGE}`;
    } else if (preview === undefined) preview = a;
    else return `one preview at a time (got '${preview}' and '${a}')\n${USAGE}`;
  }
  if (preview === undefined) return USAGE;
  return { preview, stage, stackFiles, out, failOnRedFlags };
}

/** The budget of the stack the preview is for: the stack file of that name, or the only one given. */
function budgetFor(stack: string, files: readonly string[]): { budget: ConnectionBudget; source: string } | undefined {
  const read = files.map((f) => ({ file: f, ...readStackFile(f) }));
  const match = read.find((r) => r.stack === stack) ?? (read.length === 1 ? read[0] : undefined);
  if (!match) {
    if (read.length > 0)
      throw new Error(`no stack file for stack '${stack}' among ${files.join(", ")}: pass stacks/Pulumi.${stack}.yaml or --stage`);
    return undefined;
  }
  return { budget: validateStack(match.stack, match.raw).model.connections, source: match.file };
}

export function summariseCommand(args: readonly string[]): number {
  const opts = parseSummariseArgs(args);
  if (typeof opts === "string") {
    console.error(opts);
    return 2;
  }
  try {
    const text = fs.readFileSync(opts.preview === "-" ? 0 : opts.preview, "utf8");
    const digest = parsePreview(text, opts.preview === "-" ? "stdin" : opts.preview);
    const firstUrn = digest.steps?.[0]?.urn;
    const stack = opts.stage ?? (firstUrn ? parseUrn(firstUrn).stack : undefined);
    const b = stack ? budgetFor(stack, opts.stackFiles) : undefined;
    const md = summaryMarkdown(digest, { stage: stack, budget: b?.budget, budgetSource: b?.source });
    if (opts.out) fs.writeFileSync(opts.out, md);
    else process.stdout.write(md);
    const flagged = redFlags(changesOf(digest), b?.budget).length;
    return opts.failOnRedFlags && flagged > 0 ? 1 : 0;
  } catch (e) {
    console.error(e instanceof SpecError ? e.message : (e as Error).message);
    return 2;
  }
}
