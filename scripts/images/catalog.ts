/**
 * The project's images (images/images.yaml + images/<name>/Dockerfile), validated, and the
 * content hash of each build context that keys the build cache. Pure: the reading of files is
 * passed in, so bad catalogs and hash changes are tested without a disk.
 */
import { createHash } from "crypto";
import { parse } from "yaml";

export interface ImageEntry {
  name: string;
  tag: string;
  /** Context file name -> source path (with {tools} expanded). */
  files: Record<string, string>;
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;
const TAG = /^[a-z0-9][a-z0-9._\-/]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Parses images.yaml; every problem names the image, the field and the fix. */
export function parseCatalog(text: string, tools: string, file = "images/images.yaml"): ImageEntry[] {
  const doc: unknown = parse(text);
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new Error(`${file}: expected a map of image name -> { tag, files? }`);
  return Object.entries(doc as Record<string, unknown>).map(([name, v]) => {
    if (!NAME.test(name))
      throw new Error(`${file}: image name '${name}' must be lowercase letters, digits and dashes (it is the folder images/${name}/)`);
    const e = (v ?? {}) as { tag?: unknown; files?: unknown };
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
    return { name, tag: e.tag, files };
  });
}

/**
 * The cache key of one build: the tag, the base image's ID and every context file (path and
 * bytes, sorted by path). Any change to the Dockerfile, a copied file or the base rebuilds the image.
 */
export function contextHash(tag: string, baseId: string, files: { path: string; content: Buffer }[]): string {
  const h = createHash("sha256");
  h.update(`tag ${tag}\nbase ${baseId}\n`);
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
