/** Every rule of the pack, in the order the pack reports them. */
import { callGraph } from "./callGraph";
import { DATA_RULES } from "./data";
import type { Rule } from "./types";
import { WORKLOAD_RULES } from "./workload";

export const RULES: readonly Rule[] = [callGraph, ...WORKLOAD_RULES, ...DATA_RULES.resource, ...DATA_RULES.stack];
