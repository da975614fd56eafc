/**
 * The project's images (images/images.yaml + a Dockerfile each), validated, and the content hash
 * of each build context that keys the build cache. Pure: the reading of files is passed in, so bad
 * catalogs and hash changes are tested without a disk.
 */
import { createHash } from "crypto";
import { parse } from "yaml";

/** Wheels fetched on the host (no registry is reachable from a build) and copied into the context. */
export interface WheelsSpec {
  /** The hashed lock (repo-relative): its bytes key the wheel cache. */
  lock: string;
  /** The script that fetches the lock's wheels (repo-relative), given the target directory. */
  fetch: string;
  /** Where in the build context they go. */
  into: string;
}

export interface ImageEntry {
  name: string;
  tag: string;
  /** Build context, repo-relative (default images/<name>); its Dockerfile builds the image. */
  context: string;
  /** The Dockerfile stage to build (podman/docker --target), if not the last. */
  target?: string;
  /** Context paths (files or folders) taken from `context`; all of it when absent. */
  include?: string[];
  /** Context file name -> source path (with {tools} expanded). */
  files: Record<string, string>;
  wheels?: WheelsSpec;
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;
const TAG = /^[a-z0-9][a-z0-9._\-/]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** A repo- or context-relative path that stays inside: no leading '/', no '..' segment. */
const REL = /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]+$/;
const KEYS = ["tag", "context", "target", "include", "files", "wheels"];

function relPath(file: string, field: string, v: unknown): string {
  if (typeof v !== "string" || !REL.test(v))
    throw new Error(`${file}: ${field} must be a relative path inside the repository, without '..' (got ${JSON.stringify(v)})`);
  return v.replace(/\/+$/, "");
}

/** Parses images.yaml; every problem names the image, the field and the fix. */
export function parseCatalog(text: string, tools: string, file = "images/images.yaml"): ImageEntry[] {
  const doc: unknown = parse(text);
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new Error(`${file}: expected a map of image name -> { tag, files? }`);
  return Object.entries(doc as Record<string, unknown>).map(([name, v]) => {
    if (!NAME.test(name))
      throw new Error(`${file}: image name '${name}' must be lowercase letters, digits and dashes (it is the folder images/${name}/)`);
    const e = (v ?? {}) as Record<string, unknown>;
    const unknown = Object.keys(e).filter((k) => !KEYS.includes(k));
    if (unknown.length) throw new Error(`${file}: ${name}.${unknown[0]} is not a field (fields: ${KEYS.join(", ")})`);
    if (typeof e.tag !== "string" || !TAG.test(e.tag)) {
      throw new Error(
        `${file}: ${name}.tag must be a reference with a pinned tag, e.g. stagecraft.local/${name}:1 (got ${JSON.stringify(e.tag)})`,
      );
    }
    if (e.tag.endsWith(":latest"))
      throw new Error(`${file}: ${name}.tag must not be 'latest': stacks pin what they run. Fix: a version tag`);
    const files: Record<string, string> = {};
    if (e.files !== undefined) {
      if (!e.files || typeof e.files !== "object" || Array.isArray(e.files))
        throw new Error(`${file}: ${name}.files must be a map of context file -> source path`);
      for (const [k, src] of Object.entries(e.files as Record<string, unknown>)) {
        if (!/^[A-Za-z0-9._-]+$/.test(k)) throw new Error(`${file}: ${name}.files key '${k}' must be a plain file name in the context`);
        if (typeof src !== "string") throw new Error(`${file}: ${name}.files.${k} must be a path`);
        files[k] = src.replace(/\{tools\}/g, tools);
      }
    }
    const entry: ImageEntry = {
      name,
      tag: e.tag,
      context: e.context === undefined ? `images/${name}` : relPath(file, `${name}.context`, e.context),
      files,
    };
    if (e.target !== undefined) {
      if (typeof e.target !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(e.target))
        throw new Error(`${file}: ${name}.target must name a stage of the Dockerfile (FROM … AS <name>)`);
      entry.target = e.target;
    }
    if (e.include !== undefined) {
      if (!Array.isArray(e.include) || e.include.length === 0)
        throw new Error(`${file}: ${name}.include must be a non-empty list of paths in the context (or left out: the whole context)`);
      entry.include = e.include.map((p, i) => relPath(file, `${name}.include[${i}]`, p));
      if (!entry.include.includes("Dockerfile")) throw new Error(`${file}: ${name}.include must list Dockerfile (it is what builds)`);
    }
    if (e.wheels !== undefined) {
      const w = (e.wheels ?? {}) as Record<string, unknown>;
      if (typeof w !== "object" || Array.isArray(w)) throw new Error(`${file}: ${name}.wheels must be { lock, fetch, into }`);
      entry.wheels = {
        lock: relPath(file, `${name}.wheels.lock`, w.lock),
        fetch: relPath(file, `${name}.wheels.fetch`, w.fetch),
        into: relPath(file, `${name}.wheels.into`, w.into),
      };
    }
    return entry;
  });
}

/** Context files that are run-time leftovers, never sources: they must neither ship nor move the hash. */
export function isBuildJunk(rel: string): boolean {
  return rel.split("/").some((seg) => seg === "__pycache__" || seg.endsWith(".pyc") || seg === ".DS_Store");
}

/** Whether a context-relative path is taken, given the entry's `include` list (all when absent). */
export function included(rel: string, include: readonly string[] | undefined): boolean {
  if (isBuildJunk(rel)) return false;
  return !include || include.some((p) => rel === p || rel.startsWith(`${p}/`));
}

/** Whether a context folder may hold an included path, so the walk descends into it (never into a venv it does not take). */
export function mayHoldIncluded(relDir: string, include: readonly string[] | undefined): boolean {
  if (isBuildJunk(relDir)) return false;
  return !include || include.some((p) => p === relDir || p.startsWith(`${relDir}/`) || relDir.startsWith(`${p}/`));
}

/** The wheel cache folder for a lock: keyed by the lock's bytes, which pin every file by hash. */
export function wheelsKey(lock: Buffer): string {
  return createHash("sha256").update(lock).digest("hex").slice(0, 16);
}

/** podman (or docker) build arguments for one entry, the context already assembled in `ctx`. */
export function buildArgs(e: ImageEntry, ctx: string): string[] {
  return ["build", "--network", "host", "--pull=never", "--layers=false", ...(e.target ? ["--target", e.target] : []), "-t", e.tag, ctx];
}

/**
 * The cache key of one build: the tag, the base image's ID, the target and every context file
 * (path and bytes, sorted by path). Any change to the Dockerfile, a copied file or the base rebuilds the image.
 */
export function contextHash(tag: string, baseId: string, files: { path: string; content: Buffer }[], target?: string): string {
  const h = createHash("sha256");
  h.update(`tag ${tag}\nbase ${baseId}\n`);
  if (target) h.update(`target ${target}\n`);
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    h.update(`file ${f.path} ${f.content.length}\n`);
    h.update(f.content);
  }
  return h.digest("hex").slice(0, 16);
}

/** Where a pushed image goes: REGISTRY/NAME:VERSION (the tag's last path element and version). */
export function pushTarget(tag: string, registry: string): string {
  const r = registry.replace(/\/+$/, "");
  if (!/^[a-z0-9][a-z0-9.:-]*(\/[a-z0-9._-]+)*$/.test(r))
    throw new Error(`--push ${registry}: not a registry (e.g. ghcr.io/my-org or registry.local:5000)`);
  const last = tag.slice(tag.lastIndexOf("/") + 1);
  return `${r}/${last}`;
}
