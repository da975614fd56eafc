import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { doneLine, duration, failureText, parseArgs, progressLine, run, startLine, type Step } from "../../../scripts/lib/progress";

const step: Step = { prefix: "toolchain", step: 2, of: 5, tool: "pulumi", expectS: 660, log: "/x/.tools/logs/toolchain.log" };

describe("progress lines", () => {
  test.each([
    [0, "0s"],
    [9.4, "9s"],
    [75, "1m15s"],
    [660, "11m00s"],
    [3725, "1h02m"],
  ])("duration(%d) = %s", (s, want) => expect(duration(s)).toBe(want));

  test("start: tool, step n of N, the first-run total and where the output goes", () => {
    expect(startLine(step)).toBe(
      "[toolchain 2/5] pulumi: building (a first run takes ~11m00s, a cached one seconds; output: /x/.tools/logs/toolchain.log)",
    );
    expect(startLine({ ...step, expectS: 0 })).toBe("[toolchain 2/5] pulumi: building (output: /x/.tools/logs/toolchain.log)");
  });

  test("progress: time so far against the expected total, downloads counted not shown", () => {
    expect(progressLine(step, 150, 312)).toBe("[toolchain 2/5] pulumi: 2m30s so far, of ~11m00s, 312 modules downloaded");
    expect(progressLine(step, 1200, 0)).toBe("[toolchain 2/5] pulumi: 20m00s so far, longer than the usual ~11m00s");
  });

  test("done and failed", () => {
    expect(doneLine(step, 61, 3)).toBe("[toolchain 2/5] pulumi: done in 1m01s (3 modules downloaded)");
    const tail = ["go: downloading a v1", "x.go:3: undefined: y", "", "go: downloading b v2", "exit status 1"].join("\n");
    expect(failureText(step, 1, tail)).toBe(
      "[toolchain 2/5] pulumi: FAILED (exit 1); last lines of /x/.tools/logs/toolchain.log:\n  x.go:3: undefined: y\n  exit status 1",
    );
  });

  test("arguments", () => {
    expect(parseArgs(["--prefix", "p", "--step", "3/4", "--tool", "t", "--expect", "40", "--log", "l", "--", "go", "build"])).toEqual({
      step: { prefix: "p", step: 3, of: 4, tool: "t", expectS: 40, log: "l" },
      cmd: ["go", "build"],
    });
    expect(() => parseArgs(["--step", "3", "--tool", "t", "--log", "l", "--", "go"])).toThrow("--step n/N");
    expect(() => parseArgs(["--step", "3/4", "--tool", "t", "--log", "l"])).toThrow("usage");
  });
});

describe("running a step", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "progress-"));
  const log = path.join(dir, "logs", "build.log");

  test("the command's output goes to the log; the terminal gets start, progress and done lines only", async () => {
    const said: string[] = [];
    const script = 'for i in 1 2 3; do echo "go: downloading m$i v1" >&2; done; sleep 0.3; echo built';
    const code = await run({ ...step, log }, ["sh", "-c", script], (l) => said.push(l), 100);
    expect(code).toBe(0);
    expect(said[0]).toMatch(/^\[toolchain 2\/5\] pulumi: building/);
    expect(said.slice(1, -1).length).toBeGreaterThanOrEqual(1);
    expect(said.slice(1, -1).every((l) => /so far, of ~11m00s, 3 modules downloaded$/.test(l))).toBe(true);
    expect(said[said.length - 1]).toMatch(/^\[toolchain 2\/5\] pulumi: done in \ds \(3 modules downloaded\)$/);
    expect(said.join("\n")).not.toContain("go: downloading");
    const text = fs.readFileSync(log, "utf8");
    expect(text).toContain("go: downloading m3 v1");
    expect(text).toContain("built");
  });

  test("a failure returns its exit code and shows the log's last lines, not the noise", async () => {
    const said: string[] = [];
    const code = await run({ ...step, log }, ["sh", "-c", 'echo "go: downloading z v1" >&2; echo "main.go:1: broken" >&2; exit 3'], (l) =>
      said.push(l),
    );
    expect(code).toBe(3);
    expect(said[said.length - 1]).toBe(`[toolchain 2/5] pulumi: FAILED (exit 3); last lines of ${log}:\n  main.go:1: broken`);
  });

  test("a command that does not exist fails with 127", async () => {
    const said: string[] = [];
    expect(await run({ ...step, log }, ["/nonexistent/go"], (l) => said.push(l))).toBe(127);
    expect(said[said.length - 1]).toContain("FAILED (exit 127)");
  });
});
