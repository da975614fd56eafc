/**
 * One service of the stage: a Django web service under uWSGI (master + workers, gevent) or an RPC
 * service (gevent + msgpack, registered in etcd), rendered from the project's chart, with its
 * migration Job. New pods take traffic only once the schema is migrated: the Job runs first (the
 * chart depends on it) and every pod's init container waits for `migrate --check`.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { labels, migrateJobName } from "../../model/names";
import { container, scratch } from "../lib/pod";
import type { ServiceSpec } from "../../spec/schema";
import { APP_UID, configEnv, configMount, secretEnv, serviceFiles } from "./appPod";
import type { AppSettings } from "./appSettings";
import { migrationPod, migrationStepList } from "./migrationSteps";
import { serviceChart } from "./serviceChart";
import { servicePod } from "./servicePod";
import { serviceValues } from "./serviceValues";

export interface AppServiceArgs {
  /** The service's spec entry. */
  readonly service: ServiceSpec;
  readonly namespace: string;
  /** What the code is told about its stores, callees and push endpoint (settings.json). */
  readonly settings: AppSettings;
  /** Registry prefix, lease and client policies (rpc.json), when it registers or calls RPC services. */
  readonly rpcConfig?: string;
  /** True when etcd auth is on and the service talks to the registry. */
  readonly etcdAuth: boolean;
  /**
   * What the service's pods go live after (its callees' AppServices): only the chart waits for them.
   * Not the component's `dependsOn`: the SDK registers a component only once every resource under
   * its `dependsOn` is created (awaits included), and a child only once its parent's URN is known
   * (prepareResource, @pulumi/pulumi runtime/resource.js), so that would hold every child back,
   * the migration Job too, which touches only the service's own schema.
   */
  readonly rolloutAfter: pulumi.Resource[];
}

export class AppService extends pulumi.ComponentResource {
  /** Kubernetes Service name callers and the edge use. */
  readonly serviceName: string;
  readonly port: number;
  /** The env its pods and its Jobs get (settings.json, rpc.json, secrets): another Job of this service reuses it. */
  readonly env: k8s.types.input.core.v1.EnvVar[];
  /** Its migration Job, if it migrates: whatever else runs its code (Celery) starts after it. */
  readonly migration?: k8s.batch.v1.Job;
  /** Its settings.json, as given: whatever else runs its code (Celery) reads the same. */
  readonly settings: AppSettings;

  constructor(name: string, args: AppServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stagecraft:app:AppService", name, {}, opts);
    const s = args.service;
    const tmp = scratch("tmp", "/tmp", "256Mi");
    const config = configMount(s.name);
    const mounts = [tmp.mount, config.mount];
    // A web service that calls RPC needs rpc.json as much as an RPC server does (seen: web pods of
    // ddd answered 500 "STAGECRAFT_RPC is not set" on every call to a data service).
    const env = [...configEnv(!!args.rpcConfig), ...secretEnv(s, args.etcdAuth)];
    this.env = env;
    const pod = servicePod(s, env, mounts);

    const migrate = s.migrate ? this.migrateJob(name, args, env) : undefined;
    this.migration = migrate;
    this.settings = args.settings;

    const values = serviceValues({
      name: s.name,
      role: pod.role,
      layer: s.layer,
      replicas: s.replicas,
      hpa: s.hpa,
      uid: APP_UID,
      configFiles: { ...serviceFiles(args.settings, args.rpcConfig), ...pod.files },
      initContainers: s.migrate
        ? [
            container({
              name: "wait-for-migrations",
              image: s.image,
              resources: { cpu: "50m", memory: "128Mi", ephemeralStorage: "64Mi" },
              command: ["sh", "-c", "until python manage.py migrate --check >/dev/null; do echo waiting for migrations; sleep 5; done"],
              env,
              volumeMounts: mounts,
            }),
          ]
        : [],
      containers: [pod.container],
      volumes: [tmp.volume, config.volume],
      // Never headless: RPC clients balance across pods themselves (from the registry), but a
      // Service's clusterIP is immutable, and a service that turns from HTTP into RPC (split ->
      // micro) must keep its Service in place, virtual IP included.
      service: { headless: false, ports: pod.ports },
      terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds,
    });
    serviceChart(`${name}-chart`, args.namespace, values, {
      parent: this,
      dependsOn: [...(migrate ? [migrate] : []), ...args.rolloutAfter],
    });

    this.serviceName = s.name;
    this.port = s.port;
    this.registerOutputs({ serviceName: this.serviceName, port: this.port });
  }

  /**
   * `manage.py migrate` as a Job. It runs before the chart (whose pods wait for it), so it cannot use
   * the chart's ServiceAccount or ConfigMap: it gets its own, made first.
   */
  private migrateJob(name: string, args: AppServiceArgs, env: k8s.types.input.core.v1.EnvVar[]): k8s.batch.v1.Job {
    const s = args.service;
    const jobName = migrateJobName(s.name);
    const jobLabels = labels(jobName, "migration", "app");
    const meta = (n: string) => ({ name: n, namespace: args.namespace, labels: jobLabels });
    const account = new k8s.core.v1.ServiceAccount(
      `${name}-migrate-sa`,
      { metadata: meta(jobName), automountServiceAccountToken: false },
      { parent: this },
    );
    const jobConfig = new k8s.core.v1.ConfigMap(
      `${name}-migrate-config`,
      { metadata: meta(`${jobName}-config`), data: serviceFiles(args.settings, args.rpcConfig) },
      { parent: this },
    );
    return new k8s.batch.v1.Job(
      `${name}-migrate`,
      {
        metadata: meta(jobName),
        spec: {
          backoffLimit: 3,
          activeDeadlineSeconds: 1800,
          template: {
            metadata: { labels: jobLabels },
            spec: migrationPod({ service: s, serviceAccount: jobName, configMap: `${jobName}-config`, env, steps: migrationStepList(s) }),
          },
        },
      },
      // The pod template is immutable: a new image means a new Job, deleted first (same name).
      { parent: this, deleteBeforeReplace: true, dependsOn: [account, jobConfig] },
    );
  }
}
