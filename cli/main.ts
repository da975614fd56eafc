/**
 * `stagecraft` commands. Each lives in its own file; this only dispatches.
 *   validate <stack file>...   check stack files without the engine (exit 1 on any problem)
 *   compare                    the comparison report for teams choosing a stage (see compare/compare.ts)
 *   summarise <preview.json>   a pull request's summary of a preview, red flags first (see summarise/summarise.ts)
 *   promote --stack S --to X   move a live stack to another stage (see promote.ts)
 *   render-tree RAW OUT        organise rendered manifests (see renderTree.ts)
 *   images build               the project's images from images/<name>/Dockerfile (see images.ts)
 */
import { compareCommand } from "./compare/compare";
import { promoteCommand } from "./promote";
import { renderTreeCommand } from "./renderTree";
import { summariseCommand } from "./summarise/summarise";
import { imagesCommand } from "./images";
import { validateCommand } from "./validate";
import { editDistance } from "../validate/nearest";

const USAGE = `usage: stagecraft <command> [args]
  validate <stacks/Pulumi.<stack>.yaml>...   check stack files (no engine); exit 1 on error
  compare [--out DIR] [--instance TYPE]       the four stages compared: HTML + Markdown report with diagrams, costs, charts
  summarise <preview.json|-> [--stage X] [--stack-file F]...   Markdown summary of 'pulumi preview --json', red flags first
  promote --stack S --to STAGE [--yes]       move a live stack to another stage (spec only; target, secrets, overrides kept)
  render-tree <raw dir> <out dir>             organise rendered manifests as <tier>/<kind>-<name>.yaml
  images build [NAME...] [--push REGISTRY]    build images/*/Dockerfile (podman), import into the local real node, push`;

const COMMANDS = ["validate", "compare", "summarise", "promote", "render-tree", "images"] as const;

/** What an unknown command gets: what was wrong and the fix, then the usage (printed once). */
export function unknownCommandMessage(cmd: string): string {
  const near = COMMANDS.find((c) => editDistance(cmd.toLowerCase(), c) <= 2);
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
    case "images":
      return imagesCommand(rest);
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
