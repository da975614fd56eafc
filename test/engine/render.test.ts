/**
 * The real engine: the Pulumi CLI built by scripts/toolchain.sh has run every stage stack in render
 * mode (provider renderYamlToDirectory; see globalSetup.ts); each is previewed again here. Checks: every rendered object
 * parses and validates against the Kubernetes schemas, every workload the spec implies is there,
 * no secret value reaches a file, and a second preview plans no change at all.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { readObjects, type K8sObject } from "../../cli/renderTree";
import { validateStack } from "../../validate/validateStack";
import { readStackFile } from "../../spec/stackFile";
import { workloads } from "../../model/workloads";
import { derivePassword } from "../../components/lib/secrets";
import { STAGES } from "./globalSetup";

const ROOT = path.join(__dirname, "..", "..");

function sh(args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync("bash", args, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Runs a command with the project's environment (tools on PATH, backend, passphrase). */
function pulumi(args: string, env: NodeJS.ProcessEnv = {}): string {
  return sh(["-c", `source scripts/env.sh && pulumi ${args}`], env);
}

/** The class kubernetes-models has for an object's apiVersion and kind. */
function modelOf(o: K8sObject): { new (data: unknown): { validate(): void } } {
  const group = o.apiVersion.includes("/") ? o.apiVersion : `v1`;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module path is data (the object's apiVersion)
  const mod = require(`kubernetes-models/${group}`) as Record<string, { new (data: unknown): { validate(): void } }>;
  const model = mod[o.kind];
  if (!model) throw new Error(`no schema for ${o.apiVersion} ${o.kind}`);
  return model;
}

describe.each(STAGES)("stage %s through the real engine", (stage) => {
  const out = path.join(ROOT, "rendered", stage);
  const backend = `file://${path.join(ROOT, ".pulumi-state", "render", stage, "backend")}`;
  let objects: K8sObject[] = [];

  // The engine suite's globalSetup rendered every stage through scripts/stage.sh.
  beforeAll(() => {
    objects = readObjects(out);
  });

  test("every rendered object parses, names itself and validates against the Kubernetes schemas", () => {
    expect(objects.length).toBeGreaterThan(20);
    const invalid: string[] = [];
    for (const o of objects) {
      expect(typeof o.apiVersion).toBe("string");
      expect(typeof o.kind).toBe("string");
      expect(o.metadata?.name).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
      try {
        new (modelOf(o))(o).validate();
      } catch (e) {
        invalid.push(`${o.kind}/${o.metadata.name}: ${(e as Error).message}`);
      }
    }
    expect(invalid).toEqual([]);
  });

  test("every workload the spec implies is rendered, with its replicas", () => {
    const { stack, raw } = readStackFile(path.join(ROOT, "stacks", `Pulumi.${stage}.yaml`));
    const { spec } = validateStack(stack, raw);
    for (const w of workloads(spec)) {
      const found = objects.find((o) => o.kind === w.kind && o.metadata.name === w.name);
      expect({ workload: w.name, found: !!found }).toEqual({ workload: w.name, found: true });
      const replicas = (found?.spec as { replicas?: number } | undefined)?.replicas;
      // Scaled by an HPA: the Deployment leaves replicas to it.
      const hpa = objects.find((o) => o.kind === "HorizontalPodAutoscaler" && o.metadata.name === w.name);
      if (!hpa) expect({ workload: w.name, replicas }).toEqual({ workload: w.name, replicas: w.replicas });
    }
  });

  test("no secret value reaches a rendered file", () => {
    const seed = pulumi(`config get secretSeed --stack ${stage}`, { PULUMI_BACKEND_URL: backend }).trim();
    expect(seed.length).toBeGreaterThan(20);
    const { stack, raw } = readStackFile(path.join(ROOT, "stacks", `Pulumi.${stage}.yaml`));
    const { spec } = validateStack(stack, raw);
    const purposes = [
      "redis/password",
      "mysql/root",
      "mysql/replication",
      ...spec.services.flatMap((s) => (s.mysql ? [`mysql/user/${s.mysql.user}`] : [])),
      "etcd/root",
    ];
    const secrets = [seed, ...purposes.map((p) => derivePassword(seed, p))];
    const rawDir = path.join(ROOT, ".pulumi-state", "render", stage, "raw");
    for (const dir of [out, rawDir]) {
      const text = readObjects(dir)
        .map((o) => JSON.stringify(o))
        .join("\n");
      for (const s of secrets) expect(text.includes(s)).toBe(false);
    }
    const secretObjects = objects.filter((o) => o.kind === "Secret");
    expect(secretObjects.length).toBeGreaterThan(0);
  });

  test(
    "a second preview plans no change",
    () => {
      const preview = JSON.parse(pulumi(`preview --json --non-interactive --stack ${stage}`, { PULUMI_BACKEND_URL: backend })) as {
        steps?: { op: string; urn: string }[];
      };
      const changed = (preview.steps ?? []).filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn}`);
      expect(changed).toEqual([]);
    },
    10 * 60_000,
  );

  test("the rendered tree is sorted by tier", () => {
    const tiers = fs.readdirSync(out).sort();
    expect(tiers).toEqual(expect.arrayContaining(["app", "data", "edge", "platform"]));
    expect(tiers).not.toContain("other");
  });
});
