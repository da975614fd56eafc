/**
 * A docker-archive (what `docker save` writes and `ctr image import` / `podman load` read) from
 * layer tars the launcher made itself: the pause and CoreDNS images are one static binary each,
 * the base image is mmdebstrap's rootfs. No registry is reachable here, so these are built, not pulled.
 * The metadata is pure (tested); writeArchive puts it and the layers in one tar.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";

export interface ImageSpec {
  /** Full reference, e.g. stagecraft.local/pause:3.10 or docker.io/library/debian:bookworm-slim. */
  tag: string;
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
}

export interface ArchiveMeta {
  configJson: string;
  configName: string;
  manifestJson: string;
  layerNames: string[];
}

/** The image config and manifest for layers with the given diff IDs (sha256 hex of each uncompressed tar). */
export function archiveMeta(spec: ImageSpec, layerDigests: string[]): ArchiveMeta {
  const config = {
    architecture: "amd64",
    os: "linux",
    config: {
      Env: spec.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
      ...(spec.cmd ? { Cmd: spec.cmd } : {}),
      ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
    },
    rootfs: { type: "layers", diff_ids: layerDigests.map((d) => `sha256:${d}`) },
    // A fixed date keeps the config, and so the image ID, the same for the same layers.
    created: "1970-01-01T00:00:00Z",
    history: layerDigests.map(() => ({ created: "1970-01-01T00:00:00Z", created_by: "stagecraft scripts/cluster/node" })),
  };
  const configJson = JSON.stringify(config);
  const configName = `${sha256(configJson)}.json`;
  const layerNames = layerDigests.map((d) => `${d}/layer.tar`);
  const manifestJson = JSON.stringify([{ Config: configName, RepoTags: [spec.tag], Layers: layerNames }]);
  return { configJson, configName, manifestJson, layerNames };
}

export function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

export function sha256File(file: string): string {
  const h = createHash("sha256");
  const fd = fs.openSync(file, "r");
  const buf = Buffer.alloc(1 << 20);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest("hex");
}

function tar(args: string[]): void {
  const r = spawnSync("tar", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tar ${args.join(" ")} failed: ${r.stderr}`);
}

/** A layer tar of the files in `dir` (owned by root, fixed mtime, so equal inputs make equal layers). */
export function layerFromDir(dir: string, out: string): void {
  tar(["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "-C", dir, "-cf", out, "."]);
}

/** Writes a docker-archive to `out` from uncompressed layer tars (bottom first). */
export function writeArchive(spec: ImageSpec, layers: string[], out: string): void {
  const digests = layers.map(sha256File);
  const meta = archiveMeta(spec, digests);
  const tmp = fs.mkdtempSync(path.join(path.dirname(out), ".archive-"));
  try {
    fs.writeFileSync(path.join(tmp, "manifest.json"), meta.manifestJson);
    fs.writeFileSync(path.join(tmp, meta.configName), meta.configJson);
    layers.forEach((layer, i) => {
      fs.mkdirSync(path.join(tmp, digests[i]));
      // A hard link when on the same filesystem: the base layer is 170 MB.
      const dest = path.join(tmp, meta.layerNames[i]);
      try {
        fs.linkSync(layer, dest);
      } catch {
        fs.copyFileSync(layer, dest);
      }
    });
    tar(["-C", tmp, "-cf", `${out}.tmp`, "manifest.json", meta.configName, ...meta.layerNames]);
    fs.renameSync(`${out}.tmp`, out);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export const scratchDir = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), `stagecraft-${prefix}-`));
