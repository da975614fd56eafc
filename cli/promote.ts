/**
 * `stagecraft promote --stack prod --to split [--yes]`: moves a live stack to another stage by
 * replacing only its `stagecraft:spec` with the stage file's; the target, the secrets, the
 * encryption salt and the environment's overrides stay. Shows what changes first and writes
 * only with --yes. The stack must validate after the move, or nothing is written.
 */
import * as fs from "fs";
import * as path from "path";
import { parseDocument } from "yaml";
import { formatProblem, SpecError } from "../spec/errors";
import { CONFIG_NS } from "../spec/config";
import { checkStorageMove } from "../validate/moveRules";
import { validateStack } from "../validate/validateStack";
import { parseStackFile } from "../spec/stackFile";
import { stageChanges } from "./compare/changes";
import { listStacks, unknownStackMessage, unknownStageMessage } from "./stacks";

const USAGE = "stagecraft promote --stack <live stack> --to <stage> [--yes]";

export interface PromoteOptions {
  readonly stack: string;
  readonly to: string;
  readonly stacksDir: string;
  readonly write: boolean;
}

function parseArgs(args: string[]): PromoteOptions | string {
  const opts: { stack?: string; to?: string; stacksDir: string; write: boolean } = { stacksDir: "stacks", write: false };
  const value = (flag: string, v: string | undefined) =>
    v === undefined || v.startsWith("--") ? `${flag} needs a value. Fix: ${USAGE}` : undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--yes") {
      opts.write = true;
      continue;
    }
    if (a !== "--stack" && a !== "--to" && a !== "--stacks-dir") return `unknown argument ${a}. Fix: ${USAGE}`;
    const missing = value(a, args[i + 1]);
    if (missing) return missing;
    const v = args[++i];
    if (a === "--stack") opts.stack = v;
    else if (a === "--to") opts.to = v;
    else opts.stacksDir = v;
  }
  if (!opts.stack || !opts.to) return `${!opts.stack ? "--stack" : "--to"} is required. Fix: ${USAGE}`;
  return { stack: opts.stack, to: opts.to, stacksDir: opts.stacksDir, write: opts.write };
}

/** Pure core: the live stack file's text with its spec swapped for the stage's. */
export function promotedText(liveText: string, stageText: string): string {
  const live = parseDocument(liveText);
  const stage = parseDocument(stageText);
  const key = `${CONFIG_NS}:spec`;
  const spec = stage.getIn(["config", key], true);
  if (!spec) throw new Error(`the stage file has no ${key}`);
  live.setIn(["config", key], spec);
  return live.toString();
}

export function promoteCommand(args: string[]): number {
  const opts = parseArgs(args);
  if (typeof opts === "string") {
    console.error(opts);
    return 2;
  }
  const liveFile = path.join(opts.stacksDir, `Pulumi.${opts.stack}.yaml`);
  const stageFile = path.join(opts.stacksDir, `Pulumi.${opts.to}.yaml`);
  if (!fs.existsSync(liveFile)) return fail(unknownStackMessage(opts.stack, opts.stacksDir, listStacks(opts.stacksDir)));
  if (!fs.existsSync(stageFile)) return fail(unknownStageMessage(opts.to, opts.stacksDir, listStacks(opts.stacksDir)));

  const liveText = fs.readFileSync(liveFile, "utf8");
  const before = parseStackFile(liveFile, liveText);
  const text = promotedText(liveText, fs.readFileSync(stageFile, "utf8"));
  // Validate the result exactly as the engine will, before anything is written.
  const after = parseStackFile(liveFile, text);
  let next;
  try {
    next = validateStack(opts.stack, after.raw).model;
  } catch (e) {
    if (e instanceof SpecError) return fail(`stack ${opts.stack} would not be valid at stage ${opts.to}; nothing written:\n${e.message}`);
    throw e;
  }
  let prev;
  try {
    prev = validateStack(opts.stack, before.raw).model;
  } catch {
    prev = undefined;
  }
  // Data first: a move that would replace a store's StatefulSet is refused, dry run or not.
  const storage = prev ? checkStorageMove(opts.stack, prev.spec, next.spec) : [];
  if (storage.length > 0)
    return fail(
      `stack ${opts.stack} cannot move to stage ${opts.to} as it is: the move would replace a data store; nothing written:\n` +
        storage.map((p) => formatProblem(opts.stack, p)).join("\n"),
    );
  console.log(`stack ${opts.stack}: ${prev ? `stage ${prev.spec.stage}` : "no valid stage"} -> stage ${next.spec.stage}`);
  for (const line of prev ? stageChanges(prev, next) : ["everything is new"]) console.log(`  - ${line}`);
  console.log("kept: stagecraft:target, secrets, encryptionsalt, stagecraft:specOverrides");
  if (!opts.write) {
    console.log(`dry run: re-run with --yes to write ${liveFile}, then: npm run stage -- ${opts.stack} preview`);
    return 0;
  }
  fs.writeFileSync(liveFile, text);
  console.log(`wrote ${liveFile}; next: npm run stage -- ${opts.stack} preview, then up`);
  return 0;
}

function fail(message: string): number {
  console.error(message);
  return 1;
}
