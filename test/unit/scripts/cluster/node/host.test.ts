import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { writeIfChanged } from "../../../../../scripts/cluster/node/host";

describe("writeIfChanged: a config a running process watches is written only when its text changes", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stagecraft-host-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes a new file, leaves the same text alone (no write event), writes a changed one", () => {
    const file = path.join(dir, "proxy.yaml");
    expect(writeIfChanged(file, "a: 1\n")).toBe(true);
    const before = fs.statSync(file).mtimeMs;
    fs.utimesSync(file, new Date(0), new Date(0));
    expect(writeIfChanged(file, "a: 1\n")).toBe(false);
    expect(fs.statSync(file).mtimeMs).toBe(0);
    expect(writeIfChanged(file, "a: 2\n")).toBe(true);
    expect(fs.readFileSync(file, "utf8")).toBe("a: 2\n");
    expect(fs.statSync(file).mtimeMs).not.toBe(0);
    expect(before).toBeGreaterThan(0);
  });
});
