import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync } from "child_process";

interface Change {
  file: string;
  anchor: string;
  replacement: string;
}
const SCRIPT = path.resolve(__dirname, "../../../../scripts/toolchain/langhost/directMonitor.js");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { patchDirectMonitor, CHANGE } = require(SCRIPT) as { patchDirectMonitor: (s: string) => string; CHANGE: Change };

describe("the language host launches the program with the engine's monitor, not its own proxy", () => {
  const source = `func (host *nodeLanguageHost) Run() {\n\t// Launch the nodejs process.\n${CHANGE.anchor}\n\treturn <-responseChannel, nil\n}\n`;

  it("replaces the proxy's address with the engine's, and nothing else", () => {
    const out = patchDirectMonitor(source);
    expect(out).toBe(source.replace(CHANGE.anchor, CHANGE.replacement));
    expect(out).toContain("req.GetMonitorAddress(), pipes.directory())");
    expect(out).not.toContain("handle.Port");
  });

  it("refuses a source without the launch, with it twice, or changed already", () => {
    expect(() => patchDirectMonitor("package main\n")).toThrow("not there exactly once");
    expect(() => patchDirectMonitor(CHANGE.anchor + CHANGE.anchor)).toThrow("not there exactly once");
    expect(() => patchDirectMonitor(patchDirectMonitor(source))).toThrow("made already");
  });

  it("as a program, rewrites main.go under the directory it is given", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "langhost-"));
    fs.writeFileSync(path.join(dir, CHANGE.file), source);
    execFileSync(process.execPath, [SCRIPT, dir]);
    expect(fs.readFileSync(path.join(dir, CHANGE.file), "utf8")).toBe(patchDirectMonitor(source));
    fs.rmSync(dir, { recursive: true });
  });
});
