/**
 * `stagecraft` commands. Each lives in its own file; this only dispatches.
 *   validate <stack file>...   check stack files without the engine (exit 1 on any problem)
 *   compare                    the comparison report for teams choosing a stage (see compare.ts)
 *   summarise <preview.json>   a pull request's summary of a preview, red flags first (see summarise.ts)
 *   images build               the project's images (scripts/images/main.ts)
 */
import { compareCommand } from "./compare";
import { promoteCommand } from "./promote";
import { renderTreeCommand } from "./renderTree";
import { summariseCommand } from "./summarise";
import { validateCommand } from "./validate";
import { runImages } from "../scripts/images/main";

const USAGE = `usage: stagecraft <command> [args]
  validate <stacks/Pulumi.<stack>.yaml>...   check stack files (no engine); exit 1 on error
  compare [--out DIR] [--instance TYPE]       the four stages compared: HTML + Markdown report with diagrams, costs, charts
  summarise <preview.json|-> [--stage X] [--stack-file F]...   Markdown summary of 'pulumi preview --json', red flags first
  promote --stack S --to STAGE [--yes]       move a live stack to another stage (spec only; target, secrets, overrides kept)
  render-tree <raw dir> <out dir>             organise rendered manifests as <tier>/<kind>-<name>.yaml
  images build [NAME...] [--push REGISTRY]    build images/*/Dockerfile (podman), import into the local real node, push`;

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
      return runImages(rest);
    default:
      console.error(USAGE);
      return cmd === undefined || cmd === "help" || cmd === "--help" ? 0 : 2;
  }
}
