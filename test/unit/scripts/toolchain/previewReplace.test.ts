import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync } from "child_process";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { patchPreviewReplace, ANCHOR, PATCHED } = require("../../../../scripts/toolchain/k8sprovider/previewReplace.js") as {
  patchPreviewReplace: (s: string) => string;
  ANCHOR: string;
  PATCHED: string;
};

describe("the provider's preview retry also takes a Service's clusterIP refusal", () => {
  const around = (cond: string) => `\t\t\t\tif c.Preview &&\n\t\t\t\t\t${cond} {\n\t\t\t\t\tpreviewName := ...\n`;

  it("widens the condition, once, and keeps the rest", () => {
    const out = patchPreviewReplace(`head\n${around(ANCHOR)}tail\n`);
    expect(out).toBe(`head\n${around(PATCHED)}tail\n`);
    expect(out).toContain('"may not change once set"');
    expect(out).toContain("apivalidation.FieldImmutableErrorMsg");
  });

  it("refuses a source without the condition, or with it twice (the provider changed)", () => {
    expect(() => patchPreviewReplace("package await\n")).toThrow("not there exactly once");
    expect(() => patchPreviewReplace(ANCHOR + ANCHOR)).toThrow("not there exactly once");
    // Patched already: the condition is gone, so a second run is refused rather than stacked.
    expect(() => patchPreviewReplace(patchPreviewReplace(ANCHOR))).toThrow("not there exactly once");
  });

  it("as a program, rewrites pkg/await/await.go under the directory it is given", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "provider-"));
    fs.mkdirSync(path.join(dir, "pkg", "await"), { recursive: true });
    fs.writeFileSync(path.join(dir, "pkg", "await", "await.go"), around(ANCHOR));
    execFileSync(process.execPath, [path.resolve(__dirname, "../../../../scripts/toolchain/k8sprovider/previewReplace.js"), dir]);
    expect(fs.readFileSync(path.join(dir, "pkg", "await", "await.go"), "utf8")).toBe(around(PATCHED));
    fs.rmSync(dir, { recursive: true });
  });
});
