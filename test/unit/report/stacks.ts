/** The four stage specs from stacks/, validated, for the report's tests. */
import * as path from "path";
import { validateStack } from "../../../components/stage/load";
import type { Spec } from "../../../components/stage/spec";
import { readStackFile } from "../../../components/stage/stackFile";

export function stageSpec(stage: string): Spec {
  const { stack, raw } = readStackFile(path.join(__dirname, `../../../stacks/Pulumi.${stage}.yaml`));
  return validateStack(stack, raw).spec;
}
