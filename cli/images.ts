/**
 * `stagecraft images build [NAME...] [--push REGISTRY]`: runs the image builder, a program of the
 * local tooling (scripts/images/main.ts), in its own process: the CLI stays above the tooling and
 * imports none of it.
 */
import { spawnSync } from "child_process";
import * as path from "path";

const BUILDER = path.join(__dirname, "..", "scripts", "images", "main.ts");

export function imagesCommand(args: readonly string[]): number {
  const run = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", BUILDER, ...args], { stdio: "inherit" });
  if (run.error) {
    console.error(`stagecraft images: could not start the image builder: ${run.error.message}`);
    return 1;
  }
  return run.status ?? 1;
}
