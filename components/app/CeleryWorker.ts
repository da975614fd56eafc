/**
 * Celery workers for one queue: a Deployment running the service's code with the gevent pool
 * (`-P gevent -c N`), from the project's chart. One component per queue, so queues scale apart.
 */
import * as pulumi from "@pulumi/pulumi";
import { workerName } from "../../model/names";
import { container, scratch } from "../lib/pod";
import type { ServiceSpec, WorkerSpec } from "../../spec/schema";
import { APP_UID, CONFIG_DIR, configMount, secretEnv, serviceFiles } from "./appPod";
import type { AppSettings } from "./appSettings";
import { celeryWorkerArgs } from "./celeryCommand";
import { celeryLivenessCommand, celeryPingCommand } from "./healthChecks";
import { serviceChart } from "./serviceChart";
import { serviceValues } from "./serviceValues";

/** The image contract: the Celery app's import path. */
export const CELERY_APP = "app.celery";

export interface CeleryWorkerArgs {
  readonly worker: WorkerSpec;
  /** The service whose code, settings and credentials the worker uses. */
  readonly service: ServiceSpec;
  /** The service's settings.json, in the worker's own ConfigMap: it starts without waiting for the service's chart. */
  readonly settings: AppSettings;
  readonly namespace: string;
}

export class CeleryWorker extends pulumi.ComponentResource {
  readonly deploymentName: string;

  constructor(name: string, args: CeleryWorkerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stagecraft:app:CeleryWorker", name, {}, opts);
    const { worker: w, service: s } = args;
    const k8sName = workerName(w.name);
    const tmp = scratch("tmp", "/tmp", "256Mi");
    const config = configMount(k8sName);
    const values = serviceValues({
      name: k8sName,
      role: "worker",
      replicas: w.replicas,
      uid: APP_UID,
      configFiles: serviceFiles(args.settings),
      containers: [
        container({
          name: "worker",
          image: s.image,
          resources: w.resources,
          command: ["celery"],
          args: celeryWorkerArgs(w, CELERY_APP),
          env: [{ name: "STAGECRAFT_SETTINGS", value: `${CONFIG_DIR}/settings.json` }, ...secretEnv(s)],
          volumeMounts: [tmp.mount, config.mount],
          // No port: the broker is the interface. Ready: the worker answers a ping over it. Alive: it
          // answers whenever the broker is up (a broker outage is no reason to restart it).
          readinessProbe: { exec: { command: celeryPingCommand(CELERY_APP) }, periodSeconds: 30, timeoutSeconds: 15, failureThreshold: 3 },
          livenessProbe: {
            exec: { command: celeryLivenessCommand(CELERY_APP, `${CONFIG_DIR}/settings.json`) },
            initialDelaySeconds: 60,
            periodSeconds: 60,
            timeoutSeconds: 20,
            failureThreshold: 5,
          },
        }),
      ],
      volumes: [tmp.volume, config.volume],
      // Warm shutdown: let running tasks finish before the pod goes.
      terminationGracePeriodSeconds: 120,
    });
    serviceChart(`${name}-chart`, args.namespace, values, { parent: this });
    this.deploymentName = k8sName;
    this.registerOutputs({ deploymentName: this.deploymentName });
  }
}
