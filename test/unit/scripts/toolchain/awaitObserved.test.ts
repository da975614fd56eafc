import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync } from "child_process";

interface Change {
  file: string;
  object: string;
  anchor: string;
  insert: string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { patchAwaitObserved, CHANGES } = require("../../../../scripts/toolchain/k8sprovider/awaitObserved.js") as {
  patchAwaitObserved: (s: string, c: Change) => string;
  CHANGES: Change[];
};

describe("the provider's Deployment and StatefulSet awaits wait for the controller to observe the update", () => {
  const source = (c: Change) => `func process(event watch.Event) {\n${c.anchor}\n\t// Mark the rollout as incomplete if it's deleted.\n}\n`;

  it("covers both awaiters, each in its own file", () => {
    expect(CHANGES.map((c) => [c.file, c.object])).toEqual([
      [path.join("pkg", "await", "deployment.go"), "deployment"],
      [path.join("pkg", "await", "statefulset.go"), "statefulset"],
    ]);
  });

  it.each(CHANGES.map((c) => [c.object, c] as const))(
    "%s: inserts the observedGeneration check right after the stale-object check",
    (object, c) => {
      const out = patchAwaitObserved(source(c), c);
      expect(out).toBe(
        `func process(event watch.Event) {\n${c.anchor}${c.insert}\n\t// Mark the rollout as incomplete if it's deleted.\n}\n`,
      );
      expect(out).toContain(`unstructured.NestedInt64(${object}.Object, "status", "observedGeneration")`);
      expect(out).toContain(`observed < ${object}.GetGeneration()`);
    },
  );

  it("refuses a source without the anchor, with it twice, or changed already", () => {
    const [c] = CHANGES;
    expect(() => patchAwaitObserved("package await\n", c)).toThrow("not there exactly once");
    expect(() => patchAwaitObserved(c.anchor + c.anchor, c)).toThrow("not there exactly once");
    expect(() => patchAwaitObserved(patchAwaitObserved(source(c), c), c)).toThrow("made already");
  });

  it("as a program, rewrites both files under the directory it is given", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "provider-"));
    fs.mkdirSync(path.join(dir, "pkg", "await"), { recursive: true });
    for (const c of CHANGES) fs.writeFileSync(path.join(dir, c.file), source(c));
    execFileSync(process.execPath, [path.resolve(__dirname, "../../../../scripts/toolchain/k8sprovider/awaitObserved.js"), dir]);
    for (const c of CHANGES) expect(fs.readFileSync(path.join(dir, c.file), "utf8")).toBe(patchAwaitObserved(source(c), c));
    fs.rmSync(dir, { recursive: true });
  });
});
