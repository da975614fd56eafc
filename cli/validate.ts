/** `stagecraft validate FILE...`: the same checks `pulumi preview` runs, without the engine. */
import { SpecError } from "../spec/errors";
import { validateStack } from "../validate/validateStack";
import { readStackFile } from "../spec/stackFile";

export function validateCommand(files: string[]): number {
  if (files.length === 0) {
    console.error("usage: stagecraft validate <stacks/Pulumi.<stack>.yaml>...");
    return 2;
  }
  let failed = 0;
  for (const file of files) {
    try {
      const { stack, raw } = readStackFile(file);
      const { spec } = validateStack(stack, raw);
      console.log(`stack ${stack}: ok (${spec.services.length} services, ${spec.workers.length} workers)`);
    } catch (e) {
      failed++;
      console.error(e instanceof SpecError ? e.message : `${file}: ${(e as Error).message}`);
    }
  }
  return failed > 0 ? 1 : 0;
}
