/**
 * The program (index.ts, components/) must stand alone: `pulumi up` loads it without the CLI or the
 * tests, so it may import neither. (A component importing cli/ once broke every engine run from a
 * copy of the program.)
 */
import * as fs from "fs";
import { ROOT } from "../lib/paths";
import * as path from "path";

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith(".ts") ? [p] : [];
  });
}

test.each([path.join(ROOT, "index.ts"), ...sources(path.join(ROOT, "components"))].map((f) => [path.relative(ROOT, f)]))(
  "%s imports nothing from cli/, test/ or scripts/",
  (file) => {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");
    const imports = [...text.matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1]).filter((s) => s.startsWith("."));
    const outside = imports.filter((s) => {
      const target = path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), s));
      return /^(cli|test|scripts)(\/|$)/.test(target);
    });
    expect(outside).toEqual([]);
  },
);
