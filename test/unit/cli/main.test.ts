import { main, unknownCommandMessage } from "../../../cli/main";

/** Runs the CLI and captures what it printed on each stream. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, "log").mockImplementation((m: string) => void out.push(m));
  const error = jest.spyOn(console, "error").mockImplementation((m: string) => void err.push(m));
  try {
    const code = await main(argv);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe("stagecraft command dispatch", () => {
  test("an unknown command says which, the fix, then the usage, once", async () => {
    const r = await run(["frob"]);
    expect(r.code).toBe(2);
    expect(r.err.split("\n")[0]).toBe(
      'stagecraft: unknown command "frob". Fix: use one of: validate, compare, summarise, promote, render-tree, images',
    );
    expect(r.err.match(/usage: stagecraft/g)).toHaveLength(1);
    expect(r.out).toBe("");
  });

  test("a typo gets the nearest command", () => {
    expect(unknownCommandMessage("valdiate")).toMatch(/^stagecraft: unknown command "valdiate". Fix: did you mean "stagecraft validate"\?/);
    expect(unknownCommandMessage("promot")).toContain('did you mean "stagecraft promote"?');
  });

  test("no command or help prints the usage on stdout and succeeds", async () => {
    for (const argv of [[], ["help"], ["--help"]]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^usage: stagecraft <command>/);
      expect(r.err).toBe("");
    }
  });

  test("validate of a missing file says it is missing, naming the file once", async () => {
    const r = await run(["validate", "stacks/nope.yaml"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^stacks\/nope\.yaml: no such file\. Fix: give a stack file, e\.g\. stagecraft validate stacks\/Pulumi\.\w+\.yaml/,
    );
    expect(r.err.split("stacks/nope.yaml")).toHaveLength(2);
    expect(r.err).not.toContain("a stack file is named");
  });

  test("validate of a file that is not a stack file says how to name it", async () => {
    const r = await run(["validate", "package.json"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("package.json: not a stack file name");
    expect(r.err).toContain("Fix: rename it to Pulumi.<stack>.yaml");
  });

  test("validate of a good stack file still passes", async () => {
    const r = await run(["validate", "stacks/Pulumi.mvc.yaml"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^stack mvc: ok/);
  });

  test("promote to an unknown stage names the stages", async () => {
    const r = await run(["promote", "--stack", "mvc", "--to", "nowhere"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe('no stage "nowhere" (stacks/Pulumi.nowhere.yaml does not exist). Fix: --to one of: ddd, micro, mvc, split');
  });

  test.each([
    [["--stack", "mvc"], "--to is required. Fix: stagecraft promote --stack <live stack> --to <stage> [--yes]"],
    [["--stack", "mvc", "--to"], "--to needs a value. Fix: stagecraft promote"],
    [["--stack", "--to", "split"], "--stack needs a value. Fix: stagecraft promote"],
    [["--stack", "mvc", "--to", "split", "--force"], "unknown argument --force. Fix: stagecraft promote"],
  ])("promote %j: says what is wrong and the usage as the fix", async (args, want) => {
    const r = await run(["promote", ...args]);
    expect(r.code).toBe(2);
    expect(r.err.startsWith(want)).toBe(true);
  });
});
