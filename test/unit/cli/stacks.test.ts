import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { listStacks, stackFileProblem, stackNameFromFile, unknownStackMessage, unknownStageMessage } from "../../../cli/stacks";

const STACKS = path.join(__dirname, "..", "..", "..", "stacks");
const listing = { stacks: ["ddd", "micro", "mvc", "prod", "split"], stages: ["ddd", "micro", "mvc", "split"] };

describe("stack file names and listings", () => {
  test.each([
    ["stacks/Pulumi.mvc.yaml", "mvc"],
    ["Pulumi.prod.yml", "prod"],
    ["stacks/nope.yaml", undefined],
  ])("%s -> %s", (file, want) => expect(stackNameFromFile(file)).toBe(want));

  test("the project's stacks: the four stages and the live local stack (a stack, not a stage)", () => {
    expect(listStacks(STACKS)).toEqual({ stacks: ["ddd", "local", "micro", "mvc", "split"], stages: ["ddd", "micro", "mvc", "split"] });
  });

  test("a live stack is a stack but not a stage; a missing directory lists nothing", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stacks-"));
    fs.copyFileSync(path.join(STACKS, "Pulumi.mvc.yaml"), path.join(dir, "Pulumi.mvc.yaml"));
    fs.copyFileSync(path.join(STACKS, "Pulumi.mvc.yaml"), path.join(dir, "Pulumi.prod.yaml"));
    fs.writeFileSync(path.join(dir, "Pulumi.broken.yaml"), "config: [");
    expect(listStacks(dir)).toEqual({ stacks: ["broken", "mvc", "prod"], stages: ["mvc"] });
    expect(listStacks(path.join(dir, "absent"))).toEqual({ stacks: [], stages: [] });
  });
});

describe("messages for files and stages that are not there", () => {
  test("a missing file says so once and shows a file that exists", () => {
    const m = stackFileProblem("stacks/nope.yaml", false, listing)!;
    expect(m).toBe(
      "stacks/nope.yaml: no such file. Fix: give a stack file, e.g. stagecraft validate stacks/Pulumi.ddd.yaml (stacks there: ddd, micro, mvc, prod, split)",
    );
    expect(m.split("stacks/nope.yaml")).toHaveLength(2);
  });

  test("an existing file with the wrong name is told the naming rule and the rename", () => {
    expect(stackFileProblem("x/mvc.yaml", true, listing)).toBe(
      "x/mvc.yaml: not a stack file name; Pulumi reads a stack's config only from Pulumi.<stack>.yaml. Fix: rename it to x/Pulumi.<stack>.yaml",
    );
  });

  test("an existing, well-named file has no problem", () => {
    expect(stackFileProblem("stacks/Pulumi.mvc.yaml", true, listing)).toBeUndefined();
  });

  test("an unknown stage names the stages (not live stacks)", () => {
    expect(unknownStageMessage("nowhere", "stacks", listing)).toBe(
      'no stage "nowhere" (stacks/Pulumi.nowhere.yaml does not exist). Fix: --to one of: ddd, micro, mvc, split',
    );
    expect(unknownStageMessage("x", "d", { stacks: [], stages: [] })).toContain("none: d has no Pulumi.<stack>.yaml");
  });

  test("an unknown live stack names the stacks and how to make one", () => {
    const m = unknownStackMessage("nope", "stacks", listing);
    expect(m).toContain('no stack "nope" (stacks/Pulumi.nope.yaml does not exist)');
    expect(m).toContain("Fix: --stack one of: ddd, micro, mvc, prod, split, or create stacks/Pulumi.nope.yaml");
  });
});
