/**
 * The Celery beat scheduler. It must never run twice (every job would fire twice), not even during
 * a rollout or a node failure: a one-replica StatefulSet gives that, since the controller never
 * starts a pod's replacement until the old pod is confirmed gone, unlike a Deployment.
 */
import * as pulumi from "@pulumi/pulumi";
import { NAMES } from "../../model/names";
import { container, scratch } from "../lib/pod";
import type { BeatSpec, ServiceSpec } from "../../spec/schema";
import { APP_UID, CONFIG_DIR, configMount, secretEnv, serviceFiles } from "./appPod";
import type { AppSettings } from "./appSettings";
import { celeryBeatArgs } from "./celeryCommand";
import { CELERY_APP } from "./CeleryWorker";
import { serviceChart } from "./serviceChart";
import { serviceValues } from "./serviceValues";

const SCHEDULE_DIR = "/var/run/celery";

export interface CeleryBeatArgs {
  readonly beat: BeatSpec;
  readonly service: ServiceSpec;
  /** The service's settings.json, in beat's own ConfigMap: it starts without waiting for the service's chart. */
  readonly settings: AppSettings;
  readonly namespace: string;
}

export class CeleryBeat extends pulumi.ComponentResource {
  readonly statefulSetName: string;

  constructor(name: string, args: CeleryBeatArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stagecraft:app:CeleryBeat", name, {}, opts);
    const s = args.service;
    const tmp = scratch("tmp", "/tmp");
    const schedule = scratch("schedule", SCHEDULE_DIR);
    const config = configMount(NAMES.beat);
    const scheduleFile = `${SCHEDULE_DIR}/celerybeat-schedule`;
    // Beat has no health endpoint, and its schedule store is not rewritten while nothing is due (seen
    // on the real node: unchanged for 10+ minutes with an hourly task), so a file's age cannot tell a
    // wedged beat from an idle one. Readiness: beat started (its store exists). Liveness: that, and
    // the container's main process is still beat (not a leftover shell).
    const started = ["sh", "-c", `test -n "$(find ${SCHEDULE_DIR} -name 'celerybeat-schedule*')"`];
    const running = [
      "sh",
      "-c",
      `test -n "$(find ${SCHEDULE_DIR} -name 'celerybeat-schedule*')" && tr '\\0' ' ' </proc/1/cmdline | grep -q ' beat '`,
    ];
    const values = serviceValues({
      name: NAMES.beat,
      role: "scheduler",
      kind: "StatefulSet",
      replicas: 1,
      uid: APP_UID,
      configFiles: serviceFiles(args.settings),
      containers: [
        container({
          name: "beat",
          image: s.image,
          resources: args.beat.resources,
          command: ["celery"],
          args: celeryBeatArgs(CELERY_APP, scheduleFile),
          env: [{ name: "STAGECRAFT_SETTINGS", value: `${CONFIG_DIR}/settings.json` }, ...secretEnv(s)],
          volumeMounts: [tmp.mount, schedule.mount, config.mount],
          // Every 5 s (a `find` in one directory): at 30 s, beat's Ready came up to 30 s after its store,
          // and whatever waits for the app tier (the late-rows Jobs) waited with it.
          readinessProbe: { exec: { command: started }, initialDelaySeconds: 5, periodSeconds: 5 },
          livenessProbe: { exec: { command: running }, initialDelaySeconds: 120, periodSeconds: 60, failureThreshold: 3 },
        }),
      ],
      volumes: [tmp.volume, schedule.volume, config.volume],
      terminationGracePeriodSeconds: 30,
    });
    serviceChart(`${name}-chart`, args.namespace, values, { parent: this });
    this.statefulSetName = NAMES.beat;
    this.registerOutputs({ statefulSetName: this.statefulSetName });
  }
}
