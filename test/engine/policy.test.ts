/**
 * The policy pack through the real engine: `pulumi preview --policy-pack policy` starts the pack
 * through the analyzer shim (scripts/toolchain/policy), a compliant program passes, and a
 * mandatory violation fails the preview with the rule's name, the resource and the fix. Then the
 * plan check scripts/stage.sh runs after a preview (policy/guard.ts) refuses a real plan that
 * replaces or deletes an object holding data. The program is test/fixtures/policy/program, which
 * registers Stagecraft-shaped objects rendered to YAML (no cluster), compliant or not by SCENARIO.
 * (The four stages run the pack too: scripts/stage.sh passes it to every render in globalSetup.)
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const FIXTURE = path.join(ROOT, "test", "fixtures", "policy", "program");
const STACK = "policy";
const PACK = path.join(ROOT, "policy");

describe("policy pack through the real engine", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "stagecraft-policy-"));
  const project = path.join(work, "project");
  const env = { ...process.env, PULUMI_BACKEND_URL: `file://${work}/backend`, RENDER_DIR: path.join(work, "rendered") };
  const run = (script: string, scenario = "pass") =>
    spawnSync("bash", ["-c", `source ${ROOT}/scripts/env.sh && ${script}`], {
      cwd: project,
      env: { ...env, SCENARIO: scenario },
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
  const output = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;
  const preview = (scenario: string) => run(`pulumi preview --non-interactive --stack ${STACK} --policy-pack ${PACK}`, scenario);
  /** What scripts/stage.sh does for `preview`: the pack, then the plan check over the plan and the state. */
  const guardedPreview = (scenario: string) =>
    run(
      [
        `pulumi preview --non-interactive --stack ${STACK} --policy-pack ${PACK} --save-plan ${work}/plan.json`,
        `pulumi stack export --stack ${STACK} --file ${work}/state.json`,
        `cd ${ROOT} && node -r ts-node/register/transpile-only policy/guard.ts ${work}/plan.json ${work}/state.json`,
      ].join(" && "),
      scenario,
    );

  beforeAll(() => {
    fs.cpSync(FIXTURE, project, { recursive: true });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(project, "node_modules"));
    fs.mkdirSync(path.join(work, "backend"));
    const init = run(`bash ${ROOT}/scripts/toolchain.sh && pulumi stack init ${STACK} --non-interactive`);
    if (init.status !== 0) throw new Error(`set-up failed:\n${output(init)}`);
  }, 15 * 60_000);

  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test(
    "a compliant program passes, and the pack did run",
    () => {
      const r = preview("pass");
      if (r.status !== 0) throw new Error(output(r));
      expect(r.stdout).toMatch(/✅ stagecraft@v0\.1\.0 \(local: .*policy\)/);
      // From the plugin cache (scripts/toolchain.sh registers it), not PATH: no "ambient plugin" warning.
      expect(output(r)).not.toMatch(/using pulumi-analyzer-policy/);
    },
    5 * 60_000,
  );

  test(
    "mandatory violations fail the preview, each naming the rule, the resource and the fix",
    () => {
      const r = preview("violate");
      const out = output(r);
      expect(r.status).not.toBe(0);
      expect(out).toMatch(/❌ stagecraft@v0\.1\.0/);
      expect(out).toContain("[mandatory]  etcd-quorum  (kubernetes:apps/v1:StatefulSet: etcd)");
      expect(out).toContain(
        "etcd-quorum: StatefulSet fixture/etcd runs 2 member(s): fewer than 3 cannot lose one and keep quorum. Fix: set replicas to 3",
      );
      expect(out).toContain("[mandatory]  workload-image-pinned  (kubernetes:apps/v1:Deployment: web)");
      expect(out).toContain(
        "workload-image-pinned: Deployment fixture/web container web uses image 'ghcr.io/stagecraft-demo/django-web' without a tag. Fix: pin a version",
      );
    },
    5 * 60_000,
  );

  test(
    "the plan check refuses a preview that replaces or deletes data, and passes one that does not",
    () => {
      const up = run(`pulumi up --yes --non-interactive --skip-preview --stack ${STACK} --policy-pack ${PACK}`, "pass");
      if (up.status !== 0) throw new Error(output(up));

      const replace = guardedPreview("replace");
      expect(replace.status).toBe(1);
      expect(replace.stderr).toContain(
        "data-no-replace-or-unretained-delete: StatefulSet fixture/etcd holds data and this preview replaces it",
      );

      const drop = guardedPreview("drop");
      expect(drop.status).toBe(1);
      expect(drop.stderr).toContain(
        "data-no-replace-or-unretained-delete: Secret fixture/etcd-root holds data and this preview deletes it",
      );

      const same = guardedPreview("pass");
      if (same.status !== 0) throw new Error(output(same));
    },
    10 * 60_000,
  );
});
