/**
 * `node -r ts-node/register/transpile-only policy/guard.ts <plan.json> <state.json>`: run by
 * scripts/stage.sh after a preview; prints each data loss the plan would cause and exits 1 if any.
 */
import * as fs from "fs";
import { dataLosses, type PlanFile, type StateFile } from "./plan";

const [planPath, statePath] = process.argv.slice(2);
if (!planPath || !statePath) {
  console.error("usage: guard.ts <plan.json from pulumi preview --save-plan> <state.json from pulumi stack export>");
  process.exit(2);
}
const read = <T>(p: string): T => JSON.parse(fs.readFileSync(p, "utf8") || "{}") as T;
const losses = dataLosses(read<PlanFile>(planPath), read<StateFile>(statePath));
for (const l of losses) console.error(l);
if (losses.length > 0) {
  console.error(`data protection: ${losses.length} violation(s); the preview is refused`);
  process.exit(1);
}
