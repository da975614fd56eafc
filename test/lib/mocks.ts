/**
 * Shared harness for the component tests: runs a program against Pulumi's mock monitor and records
 * every registration as the engine would receive it (type, name, URN with its parent chain, inputs
 * after serialization, provider, protect, retainOnDelete, dependencies), plus the props each
 * resource was constructed with (before serialization, where an Output is still an Output).
 *
 * One Pulumi runtime serves many builds: each build installs a fresh mock monitor and waits until
 * every registration has settled, so builds never see each other's resources. The stage's files
 * are the real ones (stacks/Pulumi.<stage>.yaml), read and validated as the CLI does.
 */
import * as path from "path";
import type * as pulumiTypes from "@pulumi/pulumi";
import { ROOT } from "./paths";
import type { LoadedStack } from "../../validate/validateStack";

export type Pulumi = typeof pulumiTypes;

export { ROOT };
export const STAGES = ["mvc", "split", "micro", "ddd"] as const;
export type StageName = (typeof STAGES)[number];
/** One live stack switched between stage files (stage-moves.md): URNs carry this stack name. */
export const LIVE_STACK = "prod";
/** The mocked stack seed: every derived password comes from it. */
export const SEED = "mock-seed-0123456789abcdef";

export interface Registration {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  /** Parent's URN ("" for a root resource). */
  readonly parent: string;
  readonly custom: boolean;
  /** Inputs as the monitor received them: secrets carry the wire marker, Outputs are resolved. */
  readonly inputs: Record<string, unknown>;
  /** Provider reference (`<urn>::<id>`) of a custom resource; "" means the default provider. */
  readonly provider: string;
  /** Providers map of a component (a remote component such as helm.v4.Chart uses it). */
  readonly providers: Readonly<Record<string, string>>;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly deleteBeforeReplace: boolean;
  readonly dependencies: readonly string[];
  readonly replaceOnChanges: readonly string[];
}

/** What a transformation saw: the constructor's props, Outputs and all. */
export interface RawProps {
  readonly type: string;
  readonly name: string;
  readonly props: Record<string, unknown>;
}

export interface Build {
  readonly registrations: readonly Registration[];
  readonly raw: readonly RawProps[];
  /** What the program threw, if it did (then registrations tell what got out before it). */
  readonly error?: unknown;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProvider(): string;
  getProvidersMap(): { toObject(): [string, string][] };
  getProtect(): boolean | undefined;
  getRetainondelete(): boolean | undefined;
  getDeletebeforereplace(): boolean;
  getDependenciesList(): string[];
  getReplaceonchangesList(): string[];
  getObject(): Parameters<Pulumi["runtime"]["deserializeProperties"]>[0];
}
interface RegisterResponse {
  getUrn(): string;
}
interface MonitorLike {
  registerResource(req: RegisterRequest, callback: (err: Error | null, res?: RegisterResponse) => void): void;
}
/** The SDK drains its RPC queue with this at shutdown; it is internal, so read through a narrow view. */
interface RuntimeInternals {
  waitForRPCs?: () => Promise<void>;
}

export interface BuildOptions {
  readonly stack?: string;
  /** Stack config (`stagecraft:key` -> JSON or string), for programs that read pulumi.Config. */
  readonly config?: Record<string, string>;
  readonly secretKeys?: readonly string[];
}

/**
 * Runs `program` against a fresh mock monitor on the given Pulumi module and returns what it
 * registered. `capture` is a transformation to pass where the raw props matter.
 */
export async function build(
  pulumi: Pulumi,
  program: (capture: pulumiTypes.ResourceTransformation) => unknown,
  options: BuildOptions = {},
): Promise<Build> {
  const registrations: Registration[] = [];
  const raw: RawProps[] = [];
  await pulumi.runtime.setMocks(
    {
      // State echoes the inputs: components read nothing back from Kubernetes objects.
      newResource: (args: pulumiTypes.runtime.MockResourceArgs) => ({ id: `${args.name}-id`, state: { ...args.inputs } }),
      call: (args: pulumiTypes.runtime.MockCallArgs) => {
        throw new Error(`unexpected invoke ${args.token}`);
      },
    },
    "stagecraft",
    options.stack ?? LIVE_STACK,
    false,
  );
  pulumi.runtime.setAllConfig(options.config ?? {}, [...(options.secretKeys ?? [])]);
  const monitor = pulumi.runtime.getMonitor() as unknown as MonitorLike;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    const inputs = pulumi.runtime.deserializeProperties(req.getObject()) as Record<string, unknown>;
    const base = {
      type: req.getType(),
      name: req.getName(),
      parent: req.getParent(),
      custom: req.getCustom(),
      inputs,
      provider: req.getProvider(),
      providers: Object.fromEntries(req.getProvidersMap().toObject()),
      protect: req.getProtect() === true,
      retainOnDelete: req.getRetainondelete() === true,
      deleteBeforeReplace: req.getDeletebeforereplace(),
      dependencies: req.getDependenciesList(),
      replaceOnChanges: req.getReplaceonchangesList(),
    };
    register(req, (err, res) => {
      if (res) registrations.push({ ...base, urn: res.getUrn() });
      callback(err, res);
    });
  };
  const capture: pulumiTypes.ResourceTransformation = (args) => {
    raw.push({ type: args.type, name: args.name, props: args.props });
    return undefined;
  };

  let error: unknown;
  try {
    await program(capture);
  } catch (e) {
    error = e;
  }
  await settle(pulumi, () => registrations.length);
  return { registrations, raw, error };
}

/** Waits for the SDK's RPC queue to drain, then until no registration has arrived for a moment. */
async function settle(pulumi: Pulumi, count: () => number): Promise<void> {
  const internals = pulumi.runtime as unknown as RuntimeInternals;
  if (internals.waitForRPCs) await internals.waitForRPCs();
  for (let n = -1; n !== count();) {
    n = count();
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The stage file as the CLI reads it: spec and target, validated. */
export async function loadStage(stage: StageName): Promise<LoadedStack & { secretKeys: string[] }> {
  const { readStackFile } = await import("../../spec/stackFile");
  const { validateStack } = await import("../../validate/validateStack");
  const { raw } = readStackFile(path.join(ROOT, "stacks", `Pulumi.${stage}.yaml`));
  return { ...validateStack(stage, raw), secretKeys: Object.keys(raw.secrets) };
}

export interface StageBuild extends Build {
  readonly loaded: LoadedStack;
  /** The reference every Kubernetes object must carry: `<provider urn>::<provider id>`. */
  readonly providerRef: string;
}

/**
 * Builds a whole Stage from its stage file as index.ts would, on a render provider created here,
 * with the mocked seed and a mock value for each Kong credential.
 */
export async function buildStage(
  pulumi: Pulumi,
  stage: StageName,
  opts: {
    loadBalancerAnnotations?: Record<string, string>;
    kongPlacement?: { nodeSelector: Record<string, string>; tolerations: object[] };
  } = {},
): Promise<StageBuild> {
  const loaded = await loadStage(stage);
  const k8s = await import("@pulumi/kubernetes");
  const { Stage } = await import("../../components/stage/Stage");
  const { dataPlacement } = await import("../../aws/eksDefaults");
  let providerUrn: pulumiTypes.Output<string> | undefined;
  const built = await build(pulumi, async (capture) => {
    const provider = new k8s.Provider("k8s", { renderYamlToDirectory: "/nonexistent/render", namespace: loaded.target.namespace });
    providerUrn = provider.urn;
    const placement = dataPlacement(loaded.target);
    const stageResource = new Stage(
      "stagecraft",
      {
        model: loaded.model,
        namespace: loaded.target.namespace,
        secretSeed: pulumi.secret(SEED),
        credentials: Object.fromEntries(
          loaded.secretKeys.filter((k) => k !== "secretSeed").map((k) => [k, pulumi.secret(mockCredential(k))]),
        ),
        loadBalancerAnnotations: opts.loadBalancerAnnotations ?? loaded.target.loadBalancerAnnotations,
        dataPlacement: { nodeSelector: placement.nodeSelector, tolerations: [...placement.tolerations] },
        kongPlacement: opts.kongPlacement,
      },
      { providers: [provider], transformations: [capture] },
    );
    await resolved(stageResource.urn);
  });
  const urn = providerUrn ? await resolved(providerUrn) : "";
  return { ...built, loaded, providerRef: `${urn}::k8s-id` };
}

/** The mock value of a Kong consumer's credential (a secret config key). */
export const mockCredential = (key: string) => `mock-credential-${key}-0123456789`;

/** An Output's value (tests only: mocks resolve everything). */
export function resolved<T>(o: pulumiTypes.Output<T>): Promise<T> {
  return new Promise<T>((resolve) => o.apply((v) => resolve(v)));
}

// ---- looking things up ----------------------------------------------------------------------

export const K8S = {
  namespace: "kubernetes:core/v1:Namespace",
  secret: "kubernetes:core/v1:Secret",
  configMap: "kubernetes:core/v1:ConfigMap",
  service: "kubernetes:core/v1:Service",
  serviceAccount: "kubernetes:core/v1:ServiceAccount",
  statefulSet: "kubernetes:apps/v1:StatefulSet",
  deployment: "kubernetes:apps/v1:Deployment",
  job: "kubernetes:batch/v1:Job",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  chart: "kubernetes:helm.sh/v4:Chart",
} as const;

export const ofType = (b: Build, type: string) => b.registrations.filter((r) => r.type === type);

/** The Kubernetes object of `type` with metadata.name `name`, or a failure that lists what exists. */
export function object(b: Build, type: string, name: string): Registration {
  const found = b.registrations.filter((r) => r.type === type && meta(r).name === name);
  if (found.length !== 1)
    throw new Error(`expected one ${type} named ${name}, found ${found.length}; have ${ofType(b, type).map((r) => meta(r).name)}`);
  return found[0];
}

/** The registration of `type` with Pulumi name `name`. */
export function named(b: Build, type: string, name: string): Registration {
  const found = b.registrations.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) throw new Error(`expected one ${type} with Pulumi name ${name}, found ${found.length}`);
  return found[0];
}

export interface Meta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export const meta = (r: Registration): Meta => (r.inputs.metadata ?? {}) as Meta;

/** Children of a registration (by parent URN). */
export const childrenOf = (b: Build, parent: Registration) => b.registrations.filter((r) => r.parent === parent.urn);

/** The raw props a resource was constructed with. */
export function rawOf(b: Build, type: string, name: string): Record<string, unknown> {
  const found = b.raw.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) throw new Error(`expected raw props of one ${type} named ${name}, found ${found.length}`);
  return found[0].props;
}

// ---- secrets and plain data -------------------------------------------------------------------

/** True if a captured input value carries the wire's secret marker. */
export function isWireSecret(pulumi: Pulumi, v: unknown): v is { value: unknown } {
  return (
    v !== null && typeof v === "object" && (v as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
  );
}

/** The value under a secret marker, or the value. */
export const reveal = (pulumi: Pulumi, v: unknown): unknown => (isWireSecret(pulumi, v) ? v.value : v);

/** Paths in a value tree holding something other than plain data (an Output, a Promise, a Resource, a function). */
export function nonPlainPaths(pulumi: Pulumi, v: unknown, at = "$"): string[] {
  if (v === null || ["string", "number", "boolean", "undefined"].includes(typeof v)) return [];
  if (pulumi.Output.isInstance(v) || pulumi.Resource.isInstance(v) || v instanceof Promise || typeof v === "function") return [at];
  if (Array.isArray(v)) return v.flatMap((e, i) => nonPlainPaths(pulumi, e, `${at}[${i}]`));
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return [at];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, e]) => nonPlainPaths(pulumi, e, `${at}.${k}`));
}

// ---- pod templates ------------------------------------------------------------------------------

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: unknown };
}
export interface ContainerLike {
  name: string;
  image?: string;
  args?: string[];
  command?: string[];
  env?: EnvVar[];
  ports?: { name: string; containerPort: number }[];
}
export interface PodSpecLike {
  containers: ContainerLike[];
  initContainers?: ContainerLike[];
  volumes?: { name: string; secret?: { secretName: string }; configMap?: { name: string } }[];
}

/** Every container (init ones too) of a workload's pod template, or of a chart's values. */
export function containersOf(r: Registration): ContainerLike[] {
  if (r.type === K8S.chart) {
    const v = r.inputs.values as { containers: ContainerLike[]; initContainers?: ContainerLike[] };
    return [...(v.initContainers ?? []), ...v.containers];
  }
  const pod = (r.inputs.spec as { template: { spec: PodSpecLike } }).template.spec;
  return [...(pod.initContainers ?? []), ...pod.containers];
}

/** Environment variables whose name says they carry a password or key. */
export const credentialEnv = (c: ContainerLike) => (c.env ?? []).filter((e) => /PASSWORD|_KEY$|SECRET/.test(e.name));
