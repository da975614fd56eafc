import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promoteCommand, promotedText } from "../../../cli/promote";
import { applyOverrides } from "../../../spec/overrides";
import { validateStack } from "../../../validate/validateStack";
import { ROOT } from "../../lib/paths";
import { readStackFile } from "../../../spec/stackFile";

const STACKS = path.join(ROOT, "stacks");
const read = (s: string) => fs.readFileSync(path.join(STACKS, `Pulumi.${s}.yaml`), "utf8");

/** A live stack `prod` made from the mvc stage, with its own target, overrides and secret. */
function liveDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "promote-"));
  for (const s of ["mvc", "split", "micro"]) fs.writeFileSync(path.join(dir, `Pulumi.${s}.yaml`), read(s));
  const prod = read("mvc")
    .replace("kind: render", "kind: kubeconfig\n    context: prod-cluster")
    .replace("config:\n", "config:\n  stagecraft:specOverrides:\n    services: { web: { replicas: 4 } }\n");
  fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), prod);
  return dir;
}

describe("promote", () => {
  test("swaps the spec and keeps target, secrets, salt and overrides", () => {
    const live = readStackFile(path.join(STACKS, "Pulumi.mvc.yaml"));
    const text = promotedText(read("mvc").replace("kind: render", "kind: kubeconfig"), read("split"));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "promote-"));
    fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), text);
    const after = readStackFile(path.join(dir, "Pulumi.prod.yaml"));
    expect((after.raw.spec as { stage: string }).stage).toBe("split");
    expect((after.raw.target as { kind: string }).kind).toBe("kubeconfig");
    expect(after.raw.secrets).toEqual(live.raw.secrets);
    expect(text).toContain(read("mvc").match(/encryptionsalt: .*/)?.[0]);
    expect(text).toContain(read("mvc").match(/secure: .*/)?.[0]);
  });

  test("a dry run writes nothing; --yes writes a stack that validates at the new stage", () => {
    const dir = liveDir();
    const file = path.join(dir, "Pulumi.prod.yaml");
    const before = fs.readFileSync(file, "utf8");
    expect(promoteCommand(["--stack", "prod", "--to", "split", "--stacks-dir", dir])).toBe(0);
    expect(fs.readFileSync(file, "utf8")).toBe(before);
    expect(promoteCommand(["--stack", "prod", "--to", "split", "--stacks-dir", dir, "--yes"])).toBe(0);
    const { stack, raw } = readStackFile(file);
    const { spec } = validateStack(stack, raw);
    expect(spec.stage).toBe("split");
    // The environment's override survived the move.
    expect(spec.services.find((s) => s.name === "web")?.replicas).toBe(4);
  });

  test("writes nothing outside the stacks folder: the promoted text is validated in memory", () => {
    const dir = liveDir();
    // A copy of the stack file (its encrypted secrets included) used to be left in the temp folder.
    const promoteTemps = () => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith("stagecraft-promote-"));
    const before = promoteTemps();
    const log = jest.spyOn(console, "log").mockImplementation(() => undefined);
    expect(promoteCommand(["--stack", "prod", "--to", "split", "--stacks-dir", dir])).toBe(0);
    expect(promoteCommand(["--stack", "prod", "--to", "split", "--stacks-dir", dir, "--yes"])).toBe(0);
    log.mockRestore();
    expect(promoteTemps()).toEqual(before);
  });

  test("a move that would leave the stack invalid writes nothing and says why", () => {
    const dir = liveDir();
    const file = path.join(dir, "Pulumi.prod.yaml");
    const before = fs.readFileSync(file, "utf8");
    const errors: string[] = [];
    const spy = jest.spyOn(console, "error").mockImplementation((m: string) => void errors.push(m));
    // micro needs the Kong consumer key, which prod does not have yet.
    expect(promoteCommand(["--stack", "prod", "--to", "micro", "--stacks-dir", dir, "--yes"])).toBe(1);
    spy.mockRestore();
    expect(fs.readFileSync(file, "utf8")).toBe(before);
    expect(errors.join("\n")).toContain("stagecraft:kongMobileAppKey is required (a secret)");
  });
});

describe("overrides", () => {
  const spec = { stage: "x", services: [{ name: "web", replicas: 2, resources: { cpu: "1" } }], data: { mysql: { maxConnections: 100 } } };
  test.each([
    [{ services: { web: { replicas: 5 } } }, (s: typeof spec) => s.services[0].replicas, 5],
    [
      { services: { web: { resources: { memory: "1Gi" } } } },
      (s: typeof spec) => JSON.stringify(s.services[0].resources),
      '{"cpu":"1","memory":"1Gi"}',
    ],
    [{ data: { mysql: { maxConnections: 900 } } }, (s: typeof spec) => s.data.mysql.maxConnections, 900],
  ])("%j merges by name and deeply", (o, pick, want) => {
    const r = applyOverrides(spec, o);
    expect(r.problems).toEqual([]);
    expect(pick(r.spec as typeof spec)).toEqual(want);
  });
  test("an override for a service the stage lacks is a problem naming it", () => {
    const r = applyOverrides(spec, { services: { orders: { replicas: 3 } } });
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0].path).toEqual(["services", "orders"]);
    expect(r.problems[0].message).toContain("'orders'");
  });
});

describe("promote and a store's storage", () => {
  /** prod (stage mvc) and a stage `big` that is split with MySQL's storage grown to 100Gi. */
  function dirWithBigStage(): string {
    const dir = liveDir();
    fs.writeFileSync(path.join(dir, "Pulumi.big.yaml"), read("split").replace(/storage: 50Gi/, "storage: 100Gi"));
    return dir;
  }

  function promote(dir: string, ...extra: string[]): { code: number; err: string; out: string } {
    const err: string[] = [];
    const out: string[] = [];
    const e = jest.spyOn(console, "error").mockImplementation((m: string) => void err.push(m));
    const o = jest.spyOn(console, "log").mockImplementation((m: string) => void out.push(m));
    try {
      return {
        code: promoteCommand(["--stack", "prod", "--to", "big", "--stacks-dir", dir, ...extra]),
        err: err.join("\n"),
        out: out.join("\n"),
      };
    } finally {
      e.mockRestore();
      o.mockRestore();
    }
  }

  test("a move that changes a store's size is refused, dry run or not, and nothing is written", () => {
    const dir = dirWithBigStage();
    const file = path.join(dir, "Pulumi.prod.yaml");
    const before = fs.readFileSync(file, "utf8");
    for (const extra of [[], ["--yes"]]) {
      const r = promote(dir, ...extra);
      expect(r.code).toBe(1);
      expect(r.err).toContain("stack prod cannot move to stage big as it is: the move would replace a data store; nothing written");
      expect(r.err).toContain("stack prod: spec.data.mysql.storage would change from 50Gi to 100Gi");
      expect(r.err).toContain(
        "Fix: keep this stack's size as an environment override, which promote keeps: pulumi config set --path 'specOverrides.data.mysql.storage' 50Gi --stack prod",
      );
    }
    expect(fs.readFileSync(file, "utf8")).toBe(before);
  });

  test("with the fix applied (the override keeps 50Gi) the move goes through and keeps the size", () => {
    const dir = dirWithBigStage();
    const file = path.join(dir, "Pulumi.prod.yaml");
    fs.writeFileSync(
      file,
      fs
        .readFileSync(file, "utf8")
        .replace("services: { web: { replicas: 4 } }", "services: { web: { replicas: 4 } }\n    data: { mysql: { storage: 50Gi } }"),
    );
    expect(promote(dir, "--yes").code).toBe(0);
    const { stack, raw } = readStackFile(file);
    expect(validateStack(stack, raw).spec.data.mysql.storage).toBe("50Gi");
  });
});
