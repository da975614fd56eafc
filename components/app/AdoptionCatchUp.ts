/**
 * The second half of a row move (spec mysql.adopt): once every caller has moved to the new owner,
 * a Job copies the rows the old owner still wrote between the owner's own adoption (in its
 * migration Job) and that moment (`manage.py adopt --late`, backend/app/adoption.py). The Stage
 * creates it after the whole app tier, so it runs after the callers' rollouts.
 *
 * Its pods carry the migration Job's labels and read its settings ConfigMap, so the NetworkPolicies
 * and the connection budget that admit the migration admit it too (the two never run at once); it
 * has a ServiceAccount of its own, like every workload.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { adoptLateJobName, labels, migrateJobName } from "../../model/names";
import type { ServiceSpec } from "../../spec/schema";
import { migrationPod } from "./migrationSteps";

export interface AdoptionCatchUpArgs {
  /** A service whose spec adopts rows (mysql.adopt) and runs a migration Job. */
  readonly service: ServiceSpec;
  readonly namespace: string;
  /** The service's env, as its AppService gives its pods and its migration Job (AppService.env). */
  readonly env: k8s.types.input.core.v1.EnvVar[];
}

export class AdoptionCatchUp extends pulumi.ComponentResource {
  readonly jobName: string;

  constructor(name: string, args: AdoptionCatchUpArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stagecraft:app:AdoptionCatchUp", name, {}, opts);
    const s = args.service;
    const group = migrateJobName(s.name);
    const jobLabels = labels(group, "migration", "app");
    this.jobName = adoptLateJobName(s.name);
    const account = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      {
        metadata: { name: this.jobName, namespace: args.namespace, labels: jobLabels },
        automountServiceAccountToken: false,
      },
      { parent: this },
    );
    new k8s.batch.v1.Job(
      `${name}-job`,
      {
        metadata: { name: this.jobName, namespace: args.namespace, labels: jobLabels },
        spec: {
          backoffLimit: 3,
          activeDeadlineSeconds: 900,
          template: {
            metadata: { labels: jobLabels },
            spec: migrationPod({
              service: s,
              serviceAccount: this.jobName,
              configMap: `${group}-config`,
              env: args.env,
              steps: [{ name: "adopt-late", command: ["python", "manage.py", "adopt", "--late"] }],
            }),
          },
        },
      },
      // The pod template is immutable: a new image means a new Job, deleted first (same name).
      { parent: this, deleteBeforeReplace: true, dependsOn: [account] },
    );
    this.registerOutputs({ jobName: this.jobName });
  }
}
