/**
 * What a service's migration Job runs, in order: `migrate` always; then `adopt` when the service
 * takes rows over from an earlier stage's schema (spec mysql.adopt). The steps run as the Job's
 * init container(s) and its one container, so each has its own log (`kubectl logs -c adopt`) and a
 * failed step stops the ones after it.
 */
import type { ServiceSpec } from "../../spec/schema";

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
export function migrationSteps<C>(service: ServiceSpec, make: (step: MigrationStep) => C): { initContainers?: C[]; containers: C[] } {
  const steps = migrationStepList(service).map(make);
  const last = steps.pop() as C;
  return steps.length > 0 ? { initContainers: steps, containers: [last] } : { containers: [last] };
}
