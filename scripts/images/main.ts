/**
 * Builds the project's images from their Dockerfiles (images/<name>/, or the entry's `context`,
 * e.g. backend/ for the app images) with podman (Debian), FROM the
 * mmdebstrap bookworm base loaded as debian:bookworm-slim, saves each as a docker-archive in
 * .tools/images/built, imports it into the real node's containerd when one runs, and pushes when asked.
 *
 *   npx stagecraft images build [NAME...] [--push REGISTRY]    (or npm run images -- build ...)
 *
 * Cached by content hash (catalog.ts): an image whose Dockerfile, context files and base did not
 * change is neither rebuilt nor re-imported. An entry with `wheels` gets its lock's wheels fetched
 * on the host (no registry is reachable from inside a build here) into .tools/images/wheels/<lock
 * hash>, once per lock, and copied into its context. podman keeps its storage in .tools/podman and builds
 * with the host's network (no CNI bridge, no iptables rules left behind).
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { baseArchive, BASE_IMAGE } from "../cluster/node/images";
import { Fail, log, setLogPrefix, sh, which } from "../cluster/node/host";
import { layoutFor } from "../cluster/node/layout";
import { buildArgs, contextHash, included, mayHoldIncluded, parseCatalog, pushTarget, wheelsKey, type ImageEntry } from "./catalog";

const root = path.resolve(__dirname, "../..");
const tools = process.env.STAGECRAFT_TOOLS || path.join(root, ".tools");
const cache = path.join(tools, "images");
const built = path.join(cache, "built");
const podmanArgs = [
  "--root",
  path.join(tools, "podman", "storage"),
  "--runroot",
  path.join(tools, "podman", "run"),
  "--storage-driver",
  "overlay",
  // cgroup v1 without systemd; podman's default journald events logger is absent here.
  "--cgroup-manager",
  "cgroupfs",
  "--events-backend",
  "file",
];
const podman = (args: string[], timeout = 30 * 60_000) => sh("podman", [...podmanArgs, ...args], { timeout });

/** Files under dir (symlinks followed), descending only into folders `include` may take from. */
function files(dir: string, include?: readonly string[], rel = ""): { path: string; content: Buffer }[] {
  return fs.readdirSync(path.join(dir, rel)).flatMap((name) => {
    const p = path.join(rel, name);
    if (fs.statSync(path.join(dir, p)).isDirectory()) return mayHoldIncluded(p, include) ? files(dir, include, p) : [];
    return included(p, include) ? [{ path: p, content: fs.readFileSync(path.join(dir, p)) }] : [];
  });
}

/** The lock's wheels in the cache, fetched by the entry's script the first time (atomically). */
function ensureWheels(e: ImageEntry): { path: string; content: Buffer }[] {
  if (!e.wheels) return [];
  const into = e.wheels.into;
  const lock = path.join(root, e.wheels.lock);
  if (!fs.existsSync(lock)) throw new Fail(`${e.name}: wheels.lock ${e.wheels.lock} does not exist. Fix: the path in images/images.yaml`);
  const dir = path.join(cache, "wheels", wheelsKey(fs.readFileSync(lock)));
  const inContext = () => files(dir).map((f) => ({ ...f, path: path.join(into, f.path) }));
  if (fs.existsSync(dir)) return inContext();
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const t0 = Date.now();
  sh("bash", [path.join(root, e.wheels.fetch), tmp], { timeout: 15 * 60_000 });
  fs.renameSync(tmp, dir);
  log(`${e.name}: wheels of ${e.wheels.lock} fetched in ${((Date.now() - t0) / 1000).toFixed(0)}s -> ${path.relative(root, dir)}`);
  return inContext();
}

/** The base image in podman's storage, loaded from the mmdebstrap archive; returns its cache key. */
function ensureBase(): string {
  const archive = baseArchive({ root, bin: path.join(tools, "bin"), cache });
  const key = path.basename(archive, ".tar");
  const marker = path.join(tools, "podman", "base.loaded");
  if (!(
    fs.existsSync(marker) &&
    fs.readFileSync(marker, "utf8") === key &&
    spawnSync("podman", [...podmanArgs, "image", "exists", BASE_IMAGE]).status === 0
  )) {
    podman(["load", "-i", archive]);
    fs.writeFileSync(marker, key);
    log(`images: base ${BASE_IMAGE} loaded into podman from ${path.basename(archive)}`);
  }
  return key;
}

function build(e: ImageEntry, baseKey: string): string {
  const dir = path.join(root, e.context);
  if (!fs.existsSync(path.join(dir, "Dockerfile")))
    throw new Fail(`${e.context}/Dockerfile is missing (image ${e.name} in images/images.yaml). Fix: add it or drop the entry`);
  const extra = Object.entries(e.files).map(([name, src]) => {
    if (!fs.existsSync(src))
      throw new Fail(
        `${e.name}: context file ${name} comes from ${src}, which does not exist. Fix: bash scripts/cluster-tools.sh --real-node`,
      );
    return { path: name, content: fs.readFileSync(src) };
  });
  const own = files(dir, e.include);
  const absent = (e.include ?? []).filter((p) => !own.some((f) => included(f.path, [p])));
  if (absent.length)
    throw new Fail(`${e.name}: include names ${absent.join(", ")}, not in ${e.context}/. Fix: the list in images/images.yaml`);
  const ctx = [...own, ...extra, ...ensureWheels(e)];
  const key = contextHash(e.tag, baseKey, ctx, e.target);
  const out = path.join(built, `${e.name}-${key}.tar`);
  if (fs.existsSync(out)) {
    log(`${e.name}: cached (${path.basename(out)})`);
    return out;
  }
  const tmp = fs.mkdtempSync(path.join(cache, `.ctx-${e.name}-`));
  try {
    for (const f of ctx) {
      fs.mkdirSync(path.dirname(path.join(tmp, f.path)), { recursive: true });
      fs.writeFileSync(path.join(tmp, f.path), f.content, { mode: 0o755 });
    }
    const t0 = Date.now();
    log(`${e.name}: building ${e.tag}`);
    podman(buildArgs(e, tmp));
    podman(["save", "--format", "docker-archive", "-o", `${out}.tmp`, e.tag]);
    fs.renameSync(`${out}.tmp`, out);
    log(`${e.name}: built in ${((Date.now() - t0) / 1000).toFixed(0)}s -> ${path.relative(root, out)}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

/** Imports into the real node's containerd when it runs; a marker per image skips unchanged ones. */
function importToNode(e: ImageEntry, archive: string): void {
  const l = layoutFor(process.env.STAGECRAFT_CLUSTER_DIR || path.join(tools, "cluster"), process.env);
  if (!fs.existsSync(l.containerdSocket)) return;
  const markers = path.join(l.dir, "imported");
  fs.mkdirSync(markers, { recursive: true });
  const marker = path.join(markers, e.name);
  if (fs.existsSync(marker) && fs.readFileSync(marker, "utf8") === path.basename(archive)) return;
  const t0 = Date.now();
  sh("ctr", ["-a", l.containerdSocket, "-n", "k8s.io", "images", "import", archive], { timeout: 10 * 60_000 });
  fs.writeFileSync(marker, path.basename(archive));
  log(`${e.name}: imported into the real node's containerd in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}

/** `stagecraft images build [NAME...] [--push REGISTRY]` (also `npm run images -- build ...`). */
export function imagesCommand(argv: string[]): number {
  setLogPrefix("images");
  const [cmd, ...rest] = argv;
  if (cmd !== "build") {
    process.stderr.write("usage: stagecraft images build [NAME...] [--push REGISTRY]\n");
    return 2;
  }
  let registry: string | undefined;
  const names: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--push") {
      registry = rest[++i];
      if (!registry) throw new Fail("--push needs a registry, e.g. --push ghcr.io/my-org");
    } else names.push(rest[i]);
  }
  const missing = ["podman", "mmdebstrap"].filter((b) => !which(b));
  if (missing.length) throw new Fail(`missing ${missing.join(", ")}. Fix: bash scripts/node-packages.sh`);
  const catalog = parseCatalog(fs.readFileSync(path.join(root, "images", "images.yaml"), "utf8"), tools);
  const unknown = names.filter((n) => !catalog.some((e) => e.name === n));
  if (unknown.length)
    throw new Fail(`unknown image ${unknown.join(", ")}; images/images.yaml has ${catalog.map((e) => e.name).join(", ")}`);
  const chosen = names.length ? catalog.filter((e) => names.includes(e.name)) : catalog;
  fs.mkdirSync(built, { recursive: true });
  const baseKey = ensureBase();
  for (const e of chosen) {
    const archive = build(e, baseKey);
    importToNode(e, archive);
    if (registry) {
      // Untested here: no registry is reachable from this machine.
      const target = pushTarget(e.tag, registry);
      podman(["push", e.tag, `docker://${target}`]);
      log(`${e.name}: pushed ${target}`);
    }
  }
  return 0;
}

/** Runs the command; a Fail is the user's error (its message names the fix), anything else a bug. */
export function runImages(argv: string[]): number {
  try {
    return imagesCommand(argv);
  } catch (e) {
    log(`error: ${e instanceof Fail ? e.message : (e as Error).stack}`);
    return 1;
  }
}

if (require.main === module) process.exit(runImages(process.argv.slice(2)));
