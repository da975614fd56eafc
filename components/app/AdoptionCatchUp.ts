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
import { container, podSecurity, scratch } from "../lib/pod";
import type { ServiceSpec } from "../../spec/schema";
import { APP_UID, configEnv, configMount, secretEnv } from "./appPod";

export interface AdoptionCatchUpArgs {
  /** A service whose spec adopts rows (mysql.adopt) and runs a migration Job. */
  readonly service: ServiceSpec;
  readonly namespace: string;
  /** The service's pods get rpc.json (its settings name RPC callees): the Job reads the same files. */
  readonly hasRpc: boolean;
  readonly etcdAuth: boolean;
}

export class AdoptionCatchUp extends pulumi.ComponentResource {
  readonly jobName: string;

  constructor(name: string, args: AdoptionCatchUpArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stagecraft:app:AdoptionCatchUp", name, {}, opts);
    const s = args.service;
    const group = migrateJobName(s.name);
    const tmp = scratch("tmp", "/tmp", "256Mi");
    const config = configMount(s.name);
    this.jobName = adoptLateJobName(s.name);
    const account = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      {
        metadata: { name: this.jobName, namespace: args.namespace, labels: labels(group, "migration", "app") },
        automountServiceAccountToken: false,
      },
      { parent: this },
    );
    new k8s.batch.v1.Job(
      `${name}-job`,
      {
        metadata: { name: this.jobName, namespace: args.namespace, labels: labels(group, "migration", "app") },
        spec: {
          backoffLimit: 3,
          activeDeadlineSeconds: 900,
          template: {
            metadata: { labels: labels(group, "migration", "app") },
            spec: {
              restartPolicy: "OnFailure",
              serviceAccountName: this.jobName,
              automountServiceAccountToken: false,
              securityContext: podSecurity(APP_UID),
              containers: [
                container({
                  name: "adopt-late",
                  image: s.image,
                  resources: s.resources,
                  command: ["python", "manage.py", "adopt", "--late"],
                  env: [...configEnv(args.hasRpc), ...secretEnv(s, args.etcdAuth)],
                  volumeMounts: [tmp.mount, { ...config.mount, name: "job-config" }],
                }),
              ],
              volumes: [tmp.volume, { name: "job-config", configMap: { name: `${group}-config` } }],
            },
          },
        },
      },
      // The pod template is immutable: a new image means a new Job, deleted first (same name).
      { parent: this, deleteBeforeReplace: true, dependsOn: [account] },
    );
    this.registerOutputs({ jobName: this.jobName });
  }
}
