/**
 * `stagecraft` commands. Each lives in its own file; this only dispatches.
 *   validate <stack file>...   check stack files without the engine (exit 1 on any problem)
 */
import { validateCommand } from "./validate";

const USAGE = `usage: stagecraft <command> [args]
  validate <stacks/Pulumi.<stack>.yaml>...   check stack files (no engine); exit 1 on error`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "validate":
      return validateCommand(rest);
    default:
      console.error(USAGE);
      return cmd === undefined || cmd === "help" || cmd === "--help" ? 0 : 2;
  }
}
