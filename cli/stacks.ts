/**
 * What the CLI says when a stack file or stage a user named is not there. The messages are pure
 * (listStacks reads the directory for them); each names what is wrong and the fix, once.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

/** `Pulumi.<stack>.yaml` -> stack name; undefined for any other file name. */
export function stackNameFromFile(file: string): string | undefined {
  return /^Pulumi\.(.+)\.ya?ml$/.exec(path.basename(file))?.[1];
}

export interface StackListing {
  /** Every stack with a file in the directory, sorted. */
  readonly stacks: readonly string[];
  /** The stage stacks: those whose spec.stage is their own name (mvc, split, …), sorted. */
  readonly stages: readonly string[];
}

/** Reads the stacks directory for the messages below (never throws: a bad file is just skipped). */
export function listStacks(dir: string): StackListing {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return { stacks: [], stages: [] };
  }
  const stacks = names.flatMap((n) => stackNameFromFile(n) ?? []).sort();
  const stages = stacks.filter((s) => {
    try {
      const doc = parse(fs.readFileSync(path.join(dir, `Pulumi.${s}.yaml`), "utf8")) as {
        config?: Record<string, { stage?: unknown } | undefined>;
      } | null;
      return doc?.config?.["stagecraft:spec"]?.stage === s;
    } catch {
      return false;
    }
  });
  return { stacks, stages };
}

/**
 * Why `file` cannot be validated, or undefined when it can be read: a missing file or a name the
 * engine would never read as a stack. `exists` is passed in so this stays pure.
 */
export function stackFileProblem(file: string, exists: boolean, listing: StackListing, dir = "stacks"): string | undefined {
  const name = stackNameFromFile(file);
  const known = listing.stacks.length > 0 ? ` (stacks there: ${listing.stacks.join(", ")})` : "";
  if (!exists) {
    const example = listing.stacks[0] ?? "<stack>";
    return `${file}: no such file. Fix: give a stack file, e.g. stagecraft validate ${dir}/Pulumi.${example}.yaml${known}`;
  }
  if (name === undefined) {
    return `${file}: not a stack file name; Pulumi reads a stack's config only from Pulumi.<stack>.yaml. Fix: rename it to ${path.join(path.dirname(file), "Pulumi.<stack>.yaml")}`;
  }
  return undefined;
}

/** `promote --to X` for an X with no stack file: name the stages that can be moved to. */
export function unknownStageMessage(to: string, dir: string, listing: StackListing): string {
  const choices = listing.stages.length > 0 ? listing.stages : listing.stacks;
  const list = choices.length > 0 ? choices.join(", ") : `none: ${dir} has no Pulumi.<stack>.yaml`;
  return `no stage "${to}" (${path.join(dir, `Pulumi.${to}.yaml`)} does not exist). Fix: --to one of: ${list}`;
}

/** `promote --stack X` for an X with no stack file: name the stacks there are. */
export function unknownStackMessage(stack: string, dir: string, listing: StackListing): string {
  const list = listing.stacks.length > 0 ? listing.stacks.join(", ") : `none: ${dir} has no Pulumi.<stack>.yaml`;
  return `no stack "${stack}" (${path.join(dir, `Pulumi.${stack}.yaml`)} does not exist). Fix: --stack one of: ${list}, or create ${path.join(dir, `Pulumi.${stack}.yaml`)} from a stage's file with your own target and secrets`;
}
