/**
 * Stage moves through the real engine (render target: no cluster needed, the provider's diff is the
 * same): one stack, its spec swapped stage by stage with `promotedText`, exactly as `stagecraft
 * promote` does, mvc -> split -> micro -> ddd -> micro. Each move is previewed (`--json`, saved
 * under artifacts/moves/) before it is applied. No move may replace a data-bearing object; a
 * delete is allowed only for a store the next stage drops and only if it is retained (never lost).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promotedText } from "../../cli/promote";
import { guardedPreview, shell, type Step } from "../lib/moves";
import { copyProgram } from "../lib/program";

const ROOT = path.join(__dirname, "..", "..");
const STACK = "moves";
const MOVES = ["split", "micro", "ddd", "micro"];

describe("stage moves on one stack, through the real engine", () => {
  // The program runs from its own copy, so the passphrase manager's salt file and the render output
  // of this test stack land there, never in the repository's stacks/ folder.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "stagecraft-moves-"));
  const project = path.join(work, "project");
  const configFile = path.join(project, "stacks", `Pulumi.${STACK}.yaml`);
  const env = { ...process.env, PULUMI_BACKEND_URL: `file://${work}` };
  const run = (script: string) => shell(ROOT, script, project, env);
  const pulumi = (args: string) => run(`pulumi ${args} --stack ${STACK} --non-interactive`);
  const artifacts = path.join(ROOT, "artifacts", "moves");

  beforeAll(() => {
    fs.mkdirSync(artifacts, { recursive: true });
    copyProgram(ROOT, project);
    fs.writeFileSync(configFile, fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.mvc.yaml"), "utf8"));
    run(`bash ${ROOT}/scripts/toolchain.sh && pulumi stack init ${STACK} --non-interactive`);
    // micro and ddd need the Kong consumer key: an environment secret, set once like a team would.
    pulumi(`config set --secret kongMobileAppKey test-consumer-key-0123456789`);
    pulumi("up --yes --skip-preview");
  }, 15 * 60_000);

  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  let from = "mvc";
  test.each(MOVES)(
    "move to %s: no data-bearing object replaced or lost, and the move applies",
    (to) => {
      const stageFile = fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${to}.yaml`), "utf8");
      fs.writeFileSync(configFile, promotedText(fs.readFileSync(configFile, "utf8"), stageFile));
      const { json, losses } = guardedPreview(pulumi, work);
      fs.writeFileSync(path.join(artifacts, `${from}-to-${to}.json`), json);
      const steps = (JSON.parse(json) as { steps?: Step[] }).steps ?? [];
      expect(steps.filter((s) => s.op !== "same").length).toBeGreaterThan(0);
      expect(losses).toEqual([]);
      // The primary and the cache are the same objects at every stage: updated in place or untouched
      // (the preview's JSON leaves unchanged objects out).
      for (const name of ["mysql", "redis"]) {
        const sts = steps.find(
          (s) =>
            (s.newState ?? s.oldState)?.type === "kubernetes:apps/v1:StatefulSet" &&
            (s.newState ?? s.oldState)?.inputs?.metadata?.name === name,
        );
        expect({ name, op: sts?.op ?? "same" }).toEqual({ name, op: expect.stringMatching(/^(same|update)$/) });
      }
      pulumi("up --yes --skip-preview");
      const again = (JSON.parse(pulumi("preview --json")) as { steps?: Step[] }).steps ?? [];
      expect(again.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn}`)).toEqual([]);
      from = to;
    },
    15 * 60_000,
  );
});
