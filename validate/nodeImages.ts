/**
 * Are the stage's images on the node that runs them? On the local cluster no registry is reachable:
 * the kubelet runs only what is already in the real node's containerd (`npx stagecraft images build`
 * imports the project's images there), so an image that is not there leaves its pods in
 * ErrImagePull. Pure: the images present and the ones the project can build are passed in by the
 * pre-flight (scripts/preflight), problems naming the spec field and the fix come out.
 */
import { setCommand, type SpecProblem } from "../spec/errors";
import type { Spec } from "../spec/schema";
import type { Target } from "../spec/target";
import { NAMES, workerName } from "../model/names";
import { eligibleNodes, placementFor, type ClusterNode, type PlacementKey } from "./clusterFit";
import { editDistance, nearest } from "./nearest";

/** One image field of the spec and what runs it. */
export interface ImageUse {
  /** Path under `spec`, e.g. ['services', 0, 'image']. */
  readonly path: readonly (string | number)[];
  readonly image: string;
  /** The workloads and Jobs whose pods run it. */
  readonly runBy: readonly string[];
  readonly placement: PlacementKey;
}

/** Every image field of a spec (model/images.ts lists the same images, without their fields). */
export function imageUses(spec: Spec): ImageUse[] {
  const out: ImageUse[] = [];
  const { nginx, kong } = spec.edge;
  if (nginx) out.push({ path: ["edge", "nginx", "image"], image: nginx.image, runBy: [NAMES.nginx], placement: "default" });
  if (kong) out.push({ path: ["edge", "kong", "image"], image: kong.image, runBy: [NAMES.kong], placement: "kong" });
  spec.services.forEach((s, i) => {
    const runBy = [
      s.name,
      ...spec.workers.filter((w) => w.service === s.name).map((w) => workerName(w.name)),
      ...(spec.beat?.service === s.name ? [NAMES.beat] : []),
    ];
    out.push({ path: ["services", i, "image"], image: s.image, runBy, placement: "default" });
  });
  if (spec.push?.kind === "tormq") out.push({ path: ["push", "image"], image: spec.push.image, runBy: [NAMES.push], placement: "default" });
  if (spec.shortUrl) out.push({ path: ["shortUrl", "image"], image: spec.shortUrl.image, runBy: [NAMES.shortUrl], placement: "default" });
  const { mysql, redis, etcd } = spec.data;
  const replicas = mysql.readReplicas > 0 ? [NAMES.mysqlReplica] : [];
  out.push({
    path: ["data", "mysql", "image"],
    image: mysql.image,
    runBy: [NAMES.mysql, ...replicas, NAMES.mysqlBootstrap],
    placement: "data",
  });
  out.push({ path: ["data", "redis", "image"], image: redis.image, runBy: [NAMES.redis], placement: "data" });
  if (etcd) {
    out.push({ path: ["data", "etcd", "image"], image: etcd.image, runBy: [NAMES.etcd], placement: "data" });
    if (etcd.auth)
      out.push({ path: ["data", "etcd", "toolsImage"], image: etcd.toolsImage, runBy: [NAMES.etcdAuth], placement: "default" });
  }
  return out;
}

/**
 * An image reference as containerd and the kubelet name it: a first part without a dot, colon or
 * `localhost` is not a registry (docker.io is meant), and a one-part Docker Hub name is `library/`.
 */
export function normalizeImage(ref: string): string {
  const slash = ref.indexOf("/");
  const first = slash < 0 ? "" : ref.slice(0, slash);
  const hasRegistry = slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost");
  let name = hasRegistry ? ref : `docker.io/${ref}`;
  if (!hasRegistry && slash < 0) name = `docker.io/library/${ref}`;
  const lastPart = name.slice(name.lastIndexOf("/") + 1);
  return lastPart.includes(":") || name.includes("@") ? name : `${name}:latest`;
}

/**
 * Problems for each image field whose pods land on a real node (a fake KWOK node runs no container,
 * so Kong placed there needs no image) and whose image is not in `present`. The fix: build and
 * import it when `buildable` (tag -> images/images.yaml name) has it, else an image that exists here.
 */
export function checkNodeImages(
  stack: string,
  spec: Spec,
  target: Target,
  nodes: readonly ClusterNode[],
  present: ReadonlySet<string>,
  buildable: ReadonlyMap<string, string>,
): SpecProblem[] {
  const have = new Set([...present].map(normalizeImage));
  const build = new Map([...buildable].map(([tag, name]) => [normalizeImage(tag), name]));
  const problems: SpecProblem[] = [];
  for (const u of imageUses(spec)) {
    const real = eligibleNodes(placementFor(u.placement, target), nodes).filter((n) => !n.fake);
    if (real.length === 0 || have.has(normalizeImage(u.image))) continue;
    const where = real.length === 1 ? `node ${real[0].name}'s containerd` : `the containerd of nodes ${real.map((n) => n.name).join(", ")}`;
    const name = build.get(normalizeImage(u.image));
    const runs = `${u.runBy.join(", ")} would stay in ErrImagePull`;
    if (name !== undefined)
      problems.push({
        key: "spec",
        path: u.path,
        message: `is ${u.image}, which is not in ${where} yet (no registry is reachable here): ${runs}`,
        fix: `npx stagecraft images build ${name} (builds it from images/images.yaml's entry '${name}' and imports it into the node)`,
      });
    else {
      const alike = similarImage(u.image, [...buildable.keys()]);
      const suggestion = alike ? setCommand(stack, "spec", u.path, alike) : undefined;
      problems.push({
        key: "spec",
        path: u.path,
        message:
          `is ${u.image}, which is neither in ${where} nor built by the project (images/images.yaml), ` +
          `and no registry is reachable here: ${runs}`,
        fix:
          (suggestion
            ? `name the image the project builds for it: ${suggestion}; `
            : `name one the project builds (${[...buildable.keys()].join(", ")}); `) +
          "or add an images/<name>/Dockerfile and its entry in images/images.yaml, then npx stagecraft images build <name>",
      });
    }
  }
  return problems;
}

/** The repository's last part without tag or digest: 'docker.io/library/redis:7.2' -> 'redis'. */
const baseName = (ref: string) =>
  ref
    .replace(/@.*$/, "")
    .replace(/:[^:/]*$/, "")
    .split("/")
    .pop() ?? ref;

/** The project's image for the same server (same base name, or one a typo away), if there is one. */
export function similarImage(image: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const b = baseName(image);
  const same = known.find((k) => baseName(k) === b);
  if (same) return same;
  const near = nearest(b, known.map(baseName));
  return editDistance(b, near) <= 2 ? known.find((k) => baseName(k) === near) : undefined;
}
