/** `stagecraft validate FILE...`: the same checks `pulumi preview` runs, without the engine. */
import * as fs from "fs";
import * as path from "path";
import { SpecError } from "../spec/errors";
import { validateStack } from "../validate/validateStack";
import { readStackFile } from "../spec/stackFile";
import { listStacks, stackFileProblem } from "./stacks";

export function validateCommand(files: string[]): number {
  if (files.length === 0) {
    console.error("usage: stagecraft validate <stacks/Pulumi.<stack>.yaml>...");
    return 2;
  }
  let failed = 0;
  for (const file of files) {
    // A missing or misnamed file is the user's typo, not a spec problem: say so before reading it.
    // Suggest stack files from the file's own directory, or from stacks/ when it has none.
    let dir = path.dirname(file);
    let listing = listStacks(dir);
    if (listing.stacks.length === 0 && fs.existsSync("stacks")) [dir, listing] = ["stacks", listStacks("stacks")];
    const problem = stackFileProblem(file, fs.existsSync(file), listing, dir);
    if (problem) {
      failed++;
      console.error(problem);
      continue;
    }
    try {
      const { stack, raw } = readStackFile(file);
      const { spec } = validateStack(stack, raw);
      console.log(`stack ${stack}: ok (${spec.services.length} services, ${spec.workers.length} workers)`);
    } catch (e) {
      failed++;
      const message = (e as Error).message;
      // readStackFile's own messages already name the stack or file; do not say it twice.
      console.error(e instanceof SpecError || message.startsWith("stack ") || message.startsWith(file) ? message : `${file}: ${message}`);
    }
  }
  return failed > 0 ? 1 : 0;
}
