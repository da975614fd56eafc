/**
 * The program itself (index.ts) under Pulumi mocks, fed stack config the way the engine feeds it.
 * Each case loads index.ts in its own module registry, since a program runs once per load. Two
 * promises of index.ts are checked: a render target never hands a Secret's value to the provider
 * (which would write it to disk), and bad config stops the program before any resource exists.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { build, isWireSecret, K8S, meta, ofType, ROOT, type Build, type BuildOptions, type Pulumi } from "../lib/mocks";
import { REDACTED_KEYS } from "../../components/platform/redact";

const STACK = "micro";
// Each fresh Pulumi runtime adds its own process exit handlers; six loads pass Node's default of 10.
process.setMaxListeners(32);

/** The micro stage file's spec (it has every kind of Secret: MySQL, Redis, etcd, Kong) as engine config. */
function configFor(target: Record<string, unknown>, change: (spec: Record<string, unknown>) => void = () => undefined): BuildOptions {
  const file = parse(fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${STACK}.yaml`), "utf8")) as { config: Record<string, unknown> };
  const spec = structuredClone(file.config["stagecraft:spec"]) as Record<string, unknown>;
  change(spec);
  return {
    stack: STACK,
    config: {
      "stagecraft:spec": JSON.stringify(spec),
      "stagecraft:target": JSON.stringify(target),
      "stagecraft:secretSeed": "index-test-seed-0123456789",
      "stagecraft:kongMobileAppKey": "index-test-consumer-key-0123456789",
    },
    secretKeys: ["stagecraft:secretSeed", "stagecraft:kongMobileAppKey"],
  };
}

/** Runs index.ts once, in a fresh module registry (and so a fresh Pulumi runtime). */
async function runProgram(options: BuildOptions): Promise<{ pulumi: Pulumi; built: Build }> {
  let result: { pulumi: Pulumi; built: Build } | undefined;
  await jest.isolateModulesAsync(async () => {
    const pulumi = await import("@pulumi/pulumi");
    const built = await build(pulumi, () => import("../../index"), options);
    result = { pulumi, built };
  });
  if (!result) throw new Error("the isolated program did not run");
  return result;
}

const RENDER = { kind: "render", namespace: "stagecraft" };
const CLUSTER = { kind: "kubeconfig", namespace: "stagecraft", kubeconfig: "/nonexistent/kubeconfig" };

describe("a render target", () => {
  let run: { pulumi: Pulumi; built: Build };
  beforeAll(async () => {
    run = await runProgram(configFor(RENDER));
  }, 60_000);

  it("builds the stage", () => {
    expect(run.built.error).toBeUndefined();
    expect(ofType(run.built, "stagecraft:stage:Stage")).toHaveLength(1);
  });

  it("hands the provider every Secret with its keys but no values (redactSecrets)", () => {
    const secrets = ofType(run.built, K8S.secret);
    expect(secrets.map((s) => meta(s).name)).toEqual(
      expect.arrayContaining(["mysql-admin", "redis-credentials", "etcd-root", "kong-secrets", "mysql-user-app"]),
    );
    for (const s of secrets) {
      // No data at all: the provider marks any Secret's data secret and warns it is rendered in plaintext.
      expect(s.inputs.stringData).toBeUndefined();
      expect(s.inputs.data).toBeUndefined();
      const keys = (meta(s).annotations as Record<string, string>)[REDACTED_KEYS];
      expect({ secret: meta(s).name, marked: isWireSecret(run.pulumi, keys) }).toEqual({ secret: meta(s).name, marked: false });
      // Secret keys are [-._a-zA-Z0-9]+, so a comma never occurs inside one.
      expect(keys).toMatch(/^[-._a-zA-Z0-9]+(,[-._a-zA-Z0-9]+)*$/);
    }
    expect((meta(secrets.find((s) => meta(s).name === "mysql-admin")!).annotations as Record<string, string>)[REDACTED_KEYS]).toBe(
      "replication-password,root-password",
    );
  });

  it("lets neither the consumer key nor the seed reach any input", () => {
    const leaks = run.built.registrations.filter((r) => /index-test-(seed|consumer-key)/.test(JSON.stringify(r.inputs)));
    expect(leaks.map((r) => r.urn)).toEqual([]);
  });
});

it("a cluster target hands Secrets over unredacted, as secrets (the redaction is the render target's alone)", async () => {
  const { pulumi, built } = await runProgram(configFor(CLUSTER));
  expect(built.error).toBeUndefined();
  const secrets = ofType(built, K8S.secret);
  expect(secrets.length).toBeGreaterThan(3);
  for (const s of secrets) {
    expect(isWireSecret(pulumi, s.inputs.stringData)).toBe(true);
    expect(JSON.stringify(s.inputs.stringData)).not.toContain("<redacted");
  }
}, 60_000);

it("a cluster target waits for LoadBalancer Services (their address) and no other Service (awaits.ts)", async () => {
  const { built } = await runProgram(configFor(CLUSTER));
  expect(built.error).toBeUndefined();
  const services = ofType(built, "kubernetes:core/v1:Service");
  expect(services.length).toBeGreaterThan(3);
  for (const s of services) {
    const lb = (s.inputs.spec as { type?: string }).type === "LoadBalancer";
    const annotations = (meta(s).annotations as Record<string, string> | undefined) ?? {};
    const skipped = annotations["pulumi.com/skipAwait"] === "true";
    const waitFor = annotations["pulumi.com/waitFor"];
    expect({ service: meta(s).name, skipped, waitFor }).toEqual({
      service: meta(s).name,
      skipped: !lb,
      waitFor: lb ? "jsonpath={.status.loadBalancer.ingress[0]}" : undefined,
    });
  }
}, 60_000);

describe("bad stack config stops the program before any resource is registered", () => {
  it.each<[string, BuildOptions, RegExp]>([
    ["an unknown spec field", configFor(RENDER, (spec) => Object.assign(spec, { replicaz: 2 })), /spec\.replicaz.*is not a known field/],
    [
      "a secret in plaintext",
      { ...configFor(RENDER), secretKeys: ["stagecraft:kongMobileAppKey"] },
      /stagecraft:secretSeed.*plaintext[\s\S]*pulumi config set --secret stagecraft:secretSeed/,
    ],
    [
      "a rule broken (one Kong node)",
      configFor(RENDER, (spec) => Object.assign((spec.edge as { kong: Record<string, unknown> }).kong, { replicas: 1 })),
      /kong\.replicas/,
    ],
    ["an unknown target kind", configFor({ kind: "minikube" }), /target/],
  ])(
    "%s",
    async (_case, options, message) => {
      const { pulumi, built } = await runProgram(options);
      expect(built.registrations).toEqual([]);
      expect(pulumi.RunError.isInstance(built.error)).toBe(true);
      const text = (built.error as Error).message;
      expect(text).toMatch(new RegExp(`stack ${STACK}`));
      expect(text).toMatch(message);
    },
    60_000,
  );
});
