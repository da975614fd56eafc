/** The four stage specs from stacks/, validated, for the report's tests. */
import * as path from "path";
import { validateStack } from "../../validate/validateStack";
import type { Spec } from "../../spec/schema";
import { ROOT } from "./paths";
import { readStackFile } from "../../spec/stackFile";

export function stageSpec(stage: string): Spec {
  const { stack, raw } = readStackFile(path.join(ROOT, `stacks/Pulumi.${stage}.yaml`));
  return validateStack(stack, raw).spec;
}
