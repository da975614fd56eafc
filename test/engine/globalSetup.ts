/**
 * Before any engine test: render every stage once with the real engine (scripts/stage.sh), so the
 * render checks and the baseline check read the same, complete output.
 */
import { execFileSync } from "child_process";
import * as path from "path";

export const STAGES = ["mvc", "split", "micro", "ddd"];

export default function renderEveryStage(): void {
  const root = path.join(__dirname, "..", "..");
  for (const stage of STAGES) {
    const t0 = Date.now();
    execFileSync("bash", ["scripts/stage.sh", stage, "render"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
    process.stderr.write(`[engine setup] rendered ${stage} in ${((Date.now() - t0) / 1000).toFixed(0)}s\n`);
  }
}
