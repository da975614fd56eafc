/**
 * What a service's migration Jobs run, and the pod they run it in. The migration Job runs `migrate`
 * always, then `adopt` when the service takes rows over from an earlier stage's schema (spec
 * mysql.adopt); the late-rows Job (AdoptionCatchUp) runs `adopt --late`. The steps run as the
 * Job's init container(s) and its one container, so each has its own log (`kubectl logs -c adopt`)
 * and a failed step stops the ones after it.
 */
import type * as k8s from "@pulumi/kubernetes";
import { container, podSecurity, scratch } from "../lib/pod";
import type { ServiceSpec } from "../../spec/schema";
import { APP_UID, configMount } from "./appPod";

export interface MigrationStep {
  readonly name: string;
  readonly command: string[];
}

/** The steps, in order: only the last runs as the Job's container, the rest as init containers. */
export function migrationStepList(service: ServiceSpec): MigrationStep[] {
  const steps: MigrationStep[] = [{ name: "migrate", command: ["python", "manage.py", "migrate", "--noinput"] }];
  if ((service.mysql?.adopt ?? []).length > 0) steps.push({ name: "adopt", command: ["python", "manage.py", "adopt"] });
  return steps;
}

/** The pod spec's `initContainers` (absent when only one step) and `containers`, built by `make`. */
export function stepContainers<C>(
  steps: readonly MigrationStep[],
  make: (step: MigrationStep) => C,
): { initContainers?: C[]; containers: C[] } {
  const made = steps.map(make);
  const last = made.pop() as C;
  return made.length > 0 ? { initContainers: made, containers: [last] } : { containers: [last] };
}

export interface MigrationPodArgs {
  readonly service: ServiceSpec;
  readonly serviceAccount: string;
  /** The ConfigMap holding the service's settings.json (and rpc.json): the migration Job's own. */
  readonly configMap: string;
  /** The service's env (settings and rpc.json paths, secrets), as its pods get it. */
  readonly env: k8s.types.input.core.v1.EnvVar[];
  readonly steps: readonly MigrationStep[];
}

/** The pod a migration-type Job runs: the service's image, env and settings, one container per step. */
export function migrationPod(a: MigrationPodArgs): k8s.types.input.core.v1.PodSpec {
  const s = a.service;
  const tmp = scratch("tmp", "/tmp", "256Mi");
  const config = configMount(s.name);
  const mounts = [tmp.mount, { ...config.mount, name: "job-config" }];
  return {
    // A failed run restarts in the same pod: a new pod's first connection can be refused until the
    // NetworkPolicy enforcer has admitted its address (seen on the real node, every retry pod
    // failed the same way), while the same pod's second try gets through.
    restartPolicy: "OnFailure",
    serviceAccountName: a.serviceAccount,
    automountServiceAccountToken: false,
    securityContext: podSecurity(APP_UID),
    ...stepContainers(a.steps, (step) =>
      container({ name: step.name, image: s.image, resources: s.resources, command: step.command, env: a.env, volumeMounts: mounts }),
    ),
    volumes: [tmp.volume, { name: "job-config", configMap: { name: a.configMap } }],
  };
}
