/**
 * `stagecraft` commands. Each lives in its own file; this only dispatches.
 *   validate <stack file>...   check stack files without the engine (exit 1 on any problem)
 *   compare                    the comparison report for teams choosing a stage (see compare/compare.ts)
 *   summarise <preview.json>   a pull request's summary of a preview, red flags first (see summarise/summarise.ts)
 *   promote --stack S --to X   move a live stack to another stage (see promote.ts)
 *   render-tree RAW OUT        organise rendered manifests (see renderTree.ts)
 */
import { compareCommand } from "./compare/compare";
import { promoteCommand } from "./promote";
import { renderTreeCommand } from "./renderTree";
import { summariseCommand } from "./summarise/summarise";
import { validateCommand } from "./validate";

const USAGE = `usage: stagecraft <command> [args]
  validate <stacks/Pulumi.<stack>.yaml>...   check stack files (no engine); exit 1 on error
  compare [--out DIR] [--instance TYPE]       the four stages compared: HTML + Markdown report with diagrams, costs, charts
  summarise <preview.json|-> [--stage X] [--stack-file F]...   Markdown summary of 'pulumi preview --json', red flags first
  promote --stack S --to STAGE [--yes]       move a live stack to another stage (spec only; target, secrets, overrides kept)
  render-tree <raw dir> <out dir>             organise rendered manifests as <tier>/<kind>-<name>.yaml`;

const COMMANDS = ["validate", "compare", "summarise", "promote", "render-tree"] as const;

/** Edit distance, for "did you mean": small strings only. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length];
}

/** What an unknown command gets: what was wrong and the fix, then the usage (printed once). */
export function unknownCommandMessage(cmd: string): string {
  const near = COMMANDS.find((c) => distance(cmd.toLowerCase(), c) <= 2);
  const fix = near ? `did you mean "stagecraft ${near}"?` : `use one of: ${COMMANDS.join(", ")}`;
  return `stagecraft: unknown command "${cmd}". Fix: ${fix}\n\n${USAGE}`;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "validate":
      return validateCommand(rest);
    case "promote":
      return promoteCommand(rest);
    case "render-tree":
      return renderTreeCommand(rest);
    case "compare":
      return compareCommand(rest);
    case "summarise":
      return summariseCommand(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return 0;
    default:
      console.error(unknownCommandMessage(cmd));
      return 2;
  }
}
