/**
 * Bad input through the real engine: `pulumi preview` of a broken stack fails with the same message
 * the CLI validator prints (stack, field path, why, the fix), and registers nothing but the stack.
 * (test/unit/badInput.test.ts covers 80+ kinds through validateStack; this proves the engine path.)
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { copyProgram } from "../lib/program";

const ROOT = path.join(__dirname, "..", "..");
const STACK = "bad";

const CASES: { kind: string; base: string; path: (string | number)[]; value: unknown; says: string }[] = [
  {
    kind: "Kong with one node",
    base: "micro",
    path: ["edge", "kong", "replicas"],
    value: 1,
    says: "stack bad: spec.edge.kong.replicas must be at least 2 (got 1): two nodes keep the gateway up through a node loss. Fix: pulumi config set --path 'spec.edge.kong.replicas' 2 --stack bad",
  },
  {
    kind: "a typo in a field name",
    base: "mvc",
    path: ["data", "redis", "maxclient"],
    value: 10,
    says: "stack bad: spec.data.redis.maxclient is not a known field (did you mean 'maxclients'?)",
  },
  {
    kind: "an even etcd",
    base: "micro",
    path: ["data", "etcd", "members"],
    value: 4,
    says: "stack bad: spec.data.etcd.members must be odd (3, 5, 7)",
  },
  {
    kind: "a data service calling an application service",
    base: "ddd",
    path: ["services", 2, "calls"],
    value: ["web"],
    says: "stack bad: spec.services[2].calls[0] declares user-data -> web, which breaks the rule: data services never depend on application services",
  },
  {
    kind: "a connection budget that does not fit",
    base: "mvc",
    path: ["data", "mysql", "maxConnections"],
    value: 50,
    says: "stack bad: spec.data.mysql.maxConnections is 50, but the stage can open",
  },
];

describe("bad stack config through `pulumi preview`", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "stagecraft-bad-"));
  const project = path.join(work, "project");
  const env = { ...process.env, PULUMI_BACKEND_URL: `file://${work}` };
  const run = (script: string) =>
    spawnSync("bash", ["-c", `source ${ROOT}/scripts/env.sh && ${script}`], { cwd: project, env, encoding: "utf8" });

  beforeAll(() => {
    copyProgram(ROOT, project);
    const init = run(`bash ${ROOT}/scripts/toolchain.sh && pulumi stack init ${STACK} --non-interactive`);
    expect(init.status).toBe(0);
  }, 10 * 60_000);

  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test.each(CASES)(
    "$kind",
    ({ base, path: field, value, says }) => {
      const doc = parseDocument(fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${base}.yaml`), "utf8"));
      doc.setIn(["config", "stagecraft:spec", ...field], doc.createNode(value));
      fs.writeFileSync(path.join(project, "stacks", `Pulumi.${STACK}.yaml`), doc.toString());
      const r = run(`pulumi preview --non-interactive --stack ${STACK} --json`);
      expect(r.status).not.toBe(0);
      // --json escapes the message (`->` becomes `-\u003e`): read it decoded from the diagnostics.
      const preview = ((): { steps?: { urn: string }[]; diagnostics?: { message: string }[] } => {
        try {
          return JSON.parse(r.stdout) as { steps?: { urn: string }[]; diagnostics?: { message: string }[] };
        } catch {
          return {};
        }
      })();
      const out = [...(preview.diagnostics ?? []).map((d) => d.message), r.stderr].join("\n");
      expect(out).toContain(says);
      // Failed before registering anything: the preview planned no Kubernetes object.
      const steps = preview.steps ?? [];
      expect(steps.filter((s) => s.urn.includes("kubernetes:"))).toEqual([]);
    },
    5 * 60_000,
  );
});
