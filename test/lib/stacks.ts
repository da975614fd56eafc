/** The four stages from stacks/, validated, for tests of pure functions. */
import * as path from "path";
import type { StageModel } from "../../model/stage";
import type { Spec } from "../../spec/schema";
import { readStackFile } from "../../spec/stackFile";
import { validateStack } from "../../validate/validateStack";
import { ROOT } from "./paths";

/** A stage's model, as index.ts derives it from the stack file. */
export function stageModelOf(stage: string): StageModel {
  const { stack, raw } = readStackFile(path.join(ROOT, `stacks/Pulumi.${stage}.yaml`));
  return validateStack(stack, raw).model;
}

export function stageSpec(stage: string): Spec {
  return stageModelOf(stage).spec;
}
