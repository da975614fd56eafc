/**
 * Stagecraft's program: read and validate the stack's config, pick the Kubernetes target, build the
 * stage. Validation runs before any resource is registered, so bad input never touches a cluster.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as Eks from "./aws/EksCluster";
import { dataPlacement, eksClusterName } from "./aws/eksDefaults";
import { targetProvider } from "./components/platform/provider";
import { skipServiceAwait } from "./components/platform/awaits";
import { redactSecrets } from "./components/platform/redact";
import { SpecError } from "./spec/errors";
import { CONFIG_NS, REQUIRED_SECRETS, referencedSecrets, type SecretState } from "./spec/config";
import { validateStack } from "./validate/validateStack";
import { Stage } from "./components/stage/Stage";

const config = new pulumi.Config(CONFIG_NS);
const stack = pulumi.getStack();

// The SDK knows which config keys are secrets but keeps that helper internal; it is the only way
// to tell plaintext from secret config, so it is read through a narrow typed view.
const isSecret = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret ?? (() => false);

function load() {
  const spec = config.getObject<unknown>("spec");
  const secrets: Record<string, SecretState> = {};
  for (const k of [...REQUIRED_SECRETS, ...referencedSecrets(spec)]) {
    secrets[k] = config.get(k) === undefined ? "missing" : isSecret(`${CONFIG_NS}:${k}`) ? "secret" : "plaintext";
  }
  try {
    return validateStack(stack, {
      spec,
      target: config.getObject<unknown>("target"),
      secrets,
      overrides: config.getObject<unknown>("specOverrides"),
    });
  } catch (e) {
    // RunError prints the message alone: the problems, their paths and fixes, without a stack trace.
    if (e instanceof SpecError) throw new pulumi.RunError(e.message);
    throw e;
  }
}

const { spec, target, model } = load();

/**
 * aws/EksCluster, loaded only for an eks target: it pulls in @pulumi/aws, a fifth of a render's
 * start-up (docs/benchmarks.md), which no other target uses.
 */
function eksModule(): typeof Eks {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a static import would load @pulumi/aws for every target
  return require("./aws/EksCluster") as typeof Eks;
}

const provider =
  target.kind === "eks"
    ? new (eksModule().EksCluster)("eks", {
        clusterName: eksClusterName(stack),
        region: target.region,
        kubernetesVersion: target.kubernetesVersion,
        availabilityZones: target.availabilityZones,
        vpcCidr: target.vpcCidr,
        nodeGroups: target.nodeGroups,
      }).provider
    : targetProvider(target, __dirname, stack);

const placement = dataPlacement(target);
const kongPlacement = target.kind === "kubeconfig" ? target.placement.kong : undefined;
const credentials = Object.fromEntries(referencedSecrets(spec).map((k) => [k, config.requireSecret(k)]));
const stage = new Stage(
  "stagecraft",
  {
    model,
    namespace: target.namespace,
    secretSeed: config.requireSecret("secretSeed"),
    credentials,
    loadBalancerAnnotations: target.loadBalancerAnnotations,
    dataPlacement: {
      nodeSelector: placement.nodeSelector && { ...placement.nodeSelector },
      tolerations: placement.tolerations.map((t) => ({ ...t })),
    },
    kongPlacement: kongPlacement && {
      nodeSelector: { ...kongPlacement.nodeSelector },
      tolerations: kongPlacement.tolerations.map((t) => ({ ...t })),
    },
  },
  // Every in-cluster Service skips the provider's Endpoints wait (awaits.ts); render mode writes files, so no Secret value may reach them.
  { providers: [provider], transformations: [skipServiceAwait, ...(target.kind === "render" ? [redactSecrets] : [])] },
);

export const stageName: string = stage.stage;
export const namespace: string = stage.namespace;
export const entryPoints: string[] = stage.entryPoints;
export const connectionUse: { mysql: string; redis: string } = stage.connectionUse;
