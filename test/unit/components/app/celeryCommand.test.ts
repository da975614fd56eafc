import * as path from "path";
import { celeryBeatArgs, celeryWorkerArgs } from "../../../../components/app/celeryCommand";
import { validateStack } from "../../../../validate/validateStack";
import type { Spec, WorkerSpec } from "../../../../spec/schema";
import { ROOT } from "../../../lib/paths";
import { readStackFile } from "../../../../spec/stackFile";

function stage(name: string): Spec {
  const { stack, raw } = readStackFile(path.join(ROOT, `stacks/Pulumi.${name}.yaml`));
  return validateStack(stack, raw).spec;
}

/** The value after a flag; fails when the flag is missing or repeated. */
function valueOf(args: string[], flag: string): string {
  const at = args.flatMap((a, i) => (a === flag ? [i] : []));
  expect(at).toHaveLength(1);
  return args[at[0] + 1];
}

const worker = stage("mvc").workers[0];

describe("celeryWorkerArgs", () => {
  test("stage mvc's default worker: gevent pool, its concurrency and queue", () => {
    expect(celeryWorkerArgs(worker, "app.celery")).toEqual([
      "-A",
      "app.celery",
      "worker",
      "-P",
      "gevent",
      "-c",
      "20",
      "-Q",
      "default",
      "-n",
      "celery@%h",
      "--without-mingle",
      "--without-gossip",
      "--loglevel",
      "INFO",
    ]);
  });

  test.each<[Partial<WorkerSpec>, string, string, string]>([
    [{ name: "feed", queue: "feed", concurrency: 1 }, "1", "feed", "celery@%h"],
    [{ name: "mail", queue: "mail.low", concurrency: 500 }, "500", "mail.low", "celery@%h"],
  ])("%j: -c %s -Q %s -n %s", (over, concurrency, queue, hostname) => {
    const args = celeryWorkerArgs({ ...worker, ...over }, "proj");
    expect(args.slice(0, 3)).toEqual(["-A", "proj", "worker"]);
    expect(valueOf(args, "-P")).toBe("gevent");
    expect(valueOf(args, "-c")).toBe(concurrency);
    expect(valueOf(args, "-Q")).toBe(queue);
    expect(valueOf(args, "-n")).toBe(hostname);
  });

  test.each([
    ["an app with a space", { ...worker }, "app celery", /app 'app celery'/],
    ["a queue with a comma (would add a second queue)", { ...worker, queue: "a,b" }, "app", /queue 'a,b' is not a queue name/],
    ["zero concurrency", { ...worker, concurrency: 0 }, "app", /concurrency must be a positive whole number/],
  ])("refuses %s", (_what, w, app, message) => {
    expect(() => celeryWorkerArgs(w, app)).toThrow(message);
  });
});

describe("celeryBeatArgs", () => {
  test("schedule on the writable volume", () => {
    expect(celeryBeatArgs("app.celery", "/var/lib/celery/beat-schedule")).toEqual([
      "-A",
      "app.celery",
      "beat",
      "--schedule",
      "/var/lib/celery/beat-schedule",
      "--loglevel",
      "INFO",
    ]);
  });

  test.each([
    ["a relative schedule file", "app", "celerybeat-schedule", /scheduleFile 'celerybeat-schedule' must be an absolute path/],
    ["an empty app", "", "/data/s", /app '' must be a dotted module path/],
  ])("refuses %s", (_what, app, file, message) => {
    expect(() => celeryBeatArgs(app, file)).toThrow(message);
  });
});
