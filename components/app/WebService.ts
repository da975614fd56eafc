/**
 * A Django service under uWSGI (master + workers, gevent), rendered from the project's chart, with
 * its migration Job. New pods take traffic only once the schema is migrated: the Job runs first
 * (the chart depends on it) and every pod's init container waits for `migrate --check`.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { labels, migrateJobName } from "../lib/names";
import { container, podSecurity, probes, scratch } from "../lib/pod";
import type { ServiceSpec } from "../stage/spec";
import type { AppSettings } from "./appSettings";
import { APP_UID, CONFIG_DIR, configMount, secretEnv, serviceFiles } from "./appPod";
import { serviceChart } from "./serviceChart";
import { serviceValues } from "./serviceValues";
import { uwsgiIni } from "./uwsgiIni";

/** The image contract: the Django project's WSGI entry point and manage.py location. */
export const WSGI_MODULE = "app.wsgi:application";

export interface WebServiceArgs {
  /** The service's spec entry (kind `web`, with `uwsgi`). */
  readonly service: ServiceSpec;
  readonly namespace: string;
  /** What the code is told about its stores, callees and push endpoint (settings.json). */
  readonly settings: AppSettings;
  /** Registry and client policy for RPC callees (rpc.json), when it calls any. */
  readonly rpcConfig?: string;
  /** True when etcd auth is on and the service watches the registry (it calls RPC services). */
  readonly etcdAuth?: boolean;
  /** Resources to finish before the service starts (its database users, the cache). */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export class WebService extends pulumi.ComponentResource {
  /** Kubernetes Service name callers and the edge use. */
  readonly serviceName: string;
  readonly port: number;

  constructor(name: string, args: WebServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stagecraft:app:WebService", name, {}, opts);
    const s = args.service;
    if (!s.uwsgi) throw new Error(`service ${s.name}: a web service needs uwsgi settings (the spec rules should have caught this)`);
    const files = {
      ...serviceFiles(args.settings, args.rpcConfig),
      "uwsgi.ini": uwsgiIni({ service: s, httpPort: s.port, module: WSGI_MODULE }),
    };
    const tmp = scratch("tmp", "/tmp", "256Mi");
    const config = configMount(s.name);
    const mounts = [tmp.mount, config.mount];
    const env = [{ name: "STAGECRAFT_SETTINGS", value: `${CONFIG_DIR}/settings.json` }, ...secretEnv(s, args.etcdAuth)];

    let migrate: k8s.batch.v1.Job | undefined;
    if (s.migrate) {
      const jobName = migrateJobName(s.name);
      migrate = new k8s.batch.v1.Job(
        `${name}-migrate`,
        {
          metadata: { name: jobName, namespace: args.namespace, labels: labels(jobName, "migration", "app") },
          spec: {
            backoffLimit: 3,
            activeDeadlineSeconds: 1800,
            template: {
              metadata: { labels: labels(jobName, "migration", "app") },
              spec: {
                restartPolicy: "Never",
                serviceAccountName: s.name,
                automountServiceAccountToken: false,
                securityContext: podSecurity(APP_UID),
                containers: [
                  container({
                    name: "migrate",
                    image: s.image,
                    resources: s.resources,
                    command: ["python", "manage.py", "migrate", "--noinput"],
                    env,
                    volumeMounts: mounts,
                  }),
                ],
                volumes: [tmp.volume, config.volume],
              },
            },
          },
        },
        // The pod template is immutable: a new image means a new Job, deleted first (same name).
        { parent: this, deleteBeforeReplace: true, dependsOn: args.dependsOn },
      );
    }

    const values = serviceValues({
      name: s.name,
      role: "web",
      layer: s.layer,
      replicas: s.replicas,
      hpa: s.hpa,
      uid: APP_UID,
      configFiles: files,
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
      containers: [
        container({
          name: "uwsgi",
          image: s.image,
          resources: s.resources,
          command: ["uwsgi", "--ini", `${CONFIG_DIR}/uwsgi.ini`],
          ports: [{ name: "http", containerPort: s.port }],
          env,
          volumeMounts: mounts,
          // Readiness asks the app (database reachable); liveness only that uWSGI answers.
          ...probes({ httpGet: { path: "/readyz", port: "http" } }, { httpGet: { path: "/healthz", port: "http" } }),
        }),
      ],
      volumes: [tmp.volume, config.volume],
      service: { headless: false, ports: [{ name: "http", port: s.port, targetPort: "http" }] },
      // uWSGI's harakiri bounds a request; give in-flight ones that long to finish.
      terminationGracePeriodSeconds: s.uwsgi.harakiri + 10,
    });
    serviceChart(`${name}-chart`, args.namespace, values, { parent: this, dependsOn: migrate ? [migrate] : args.dependsOn });

    this.serviceName = s.name;
    this.port = s.port;
    this.registerOutputs({ serviceName: this.serviceName, port: this.port });
  }
}
