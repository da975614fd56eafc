/**
 * A throwaway copy of the Pulumi program (not the repository): tests and the benchmark run the
 * engine from it, so their stack files, salts and render output never land in stacks/ or rendered/.
 */
import * as fs from "fs";
import * as path from "path";

/** What `pulumi` needs to run Stagecraft's program. */
export const PROGRAM_FILES = [
  "Pulumi.yaml",
  "boot",
  "index.ts",
  "tsconfig.json",
  "package.json",
  "spec",
  "model",
  "validate",
  "cost",
  "aws",
  "components",
  "charts",
];

/** Copies `items` (default: the program) from `root` into `dir`, with node_modules linked, and an empty stacks/. */
export function copyProgram(root: string, dir: string, items: readonly string[] = PROGRAM_FILES): string {
  for (const item of items) fs.cpSync(path.join(root, item), path.join(dir, item), { recursive: true });
  fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
  fs.mkdirSync(path.join(dir, "stacks"), { recursive: true });
  return dir;
}
