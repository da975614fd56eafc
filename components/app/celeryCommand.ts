/**
 * Command-line arguments of the Celery worker and beat containers, as pure functions of the spec.
 * They are the container's `args` after the `celery` executable (its `command`).
 */
import type { WorkerSpec } from "../../spec/schema";

const APP = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(:[A-Za-z_][A-Za-z0-9_]*)?$/;
const QUEUE = /^[a-z][a-z0-9_.-]*$/;
const FILE = /^\/[A-Za-z0-9_\-/.]+$/;

function checkApp(app: string): void {
  if (!APP.test(app))
    throw new Error(`celeryCommand: app '${app}' must be a dotted module path with an optional ':attribute' (e.g. 'app.celery')`);
}

/**
 * `celery -A <app> worker` for one queue: the gevent pool with the spec's concurrency.
 * Mingle and gossip are off: they make every worker talk to every other one through the broker at
 * start and all the time after, which costs broker traffic that grows with the replica count and
 * buys nothing here (no revokes to sync, no remote control between workers).
 */
export function celeryWorkerArgs(worker: WorkerSpec, app: string): string[] {
  checkApp(app);
  if (!QUEUE.test(worker.queue)) throw new Error(`celeryCommand: worker ${worker.name}: queue '${worker.queue}' is not a queue name`);
  if (!Number.isInteger(worker.concurrency) || worker.concurrency < 1)
    throw new Error(`celeryCommand: worker ${worker.name}: concurrency must be a positive whole number, got ${worker.concurrency}`);
  return [
    "-A",
    app,
    "worker",
    "-P",
    "gevent",
    "-c",
    String(worker.concurrency),
    "-Q",
    worker.queue,
    // %h is the pod's name (celery-<worker>-<hash>): unique per replica and already naming the worker.
    // Probes address the node as celery@$HOSTNAME.
    "-n",
    "celery@%h",
    "--without-mingle",
    "--without-gossip",
    "--loglevel",
    "INFO",
  ];
}

/**
 * `celery -A <app> beat`: the schedule state lives in `scheduleFile` on a writable volume (the root
 * filesystem is read-only). That beat never runs twice is the Deployment's job, not the command's.
 */
export function celeryBeatArgs(app: string, scheduleFile: string): string[] {
  checkApp(app);
  if (!FILE.test(scheduleFile)) throw new Error(`celeryCommand: scheduleFile '${scheduleFile}' must be an absolute path`);
  return ["-A", app, "beat", "--schedule", scheduleFile, "--loglevel", "INFO"];
}
