/**
 * Stagecraft's policy pack: `pulumi preview --policy-pack policy` (scripts/stage.sh passes it to
 * every preview, up and render). The rules live in rules/, one pure function each.
 */
import { PolicyPack } from "@pulumi/policy";
import { toPolicies } from "./pack";
import { RULES } from "./rules";

new PolicyPack("stagecraft", { policies: toPolicies(RULES) });
