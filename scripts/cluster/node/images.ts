/**
 * The node's own images, made here and imported into its containerd (no registry is reachable):
 *   stagecraft.local/pause:3.10          the sandbox image: scripts/toolchain/pause, a static Go binary
 *   stagecraft.local/coredns:1.12.4      the CoreDNS binary from scripts/toolchain/coredns, alone
 *   docker.io/library/debian:bookworm-slim  mmdebstrap's minbase bookworm, the base of images/*
 * Archives are cached in .tools/images, keyed by the hash of what they are made from.
 */
import * as fs from "fs";
import * as path from "path";
import { archiveMeta, layerFromDir, scratchDir, sha256, sha256File, writeArchive, type ImageSpec } from "./archive";
import { COREDNS_IMAGE } from "./addons";
import { PAUSE_IMAGE } from "./config";
import { Fail, log, sh } from "./host";

export const BASE_IMAGE = "docker.io/library/debian:bookworm-slim";

export interface ImageDirs {
  root: string; // the repo
  bin: string; // .tools/bin
  cache: string; // .tools/images
}

/** An image of one static binary at /NAME, its entrypoint. */
function binaryImage(d: ImageDirs, spec: ImageSpec, binary: string): string {
  const bin = fs.readFileSync(binary);
  const key = sha256(Buffer.concat([bin, Buffer.from(JSON.stringify(archiveMeta(spec, [sha256(bin)]).configJson))])).slice(0, 16);
  const out = path.join(d.cache, `${spec.tag.replace(/[/:]/g, "_")}-${key}.tar`);
  if (fs.existsSync(out)) return out;
  const dir = scratchDir("image");
  try {
    const rootfs = path.join(dir, "rootfs");
    fs.mkdirSync(rootfs);
    fs.copyFileSync(binary, path.join(rootfs, path.basename(binary)));
    fs.chmodSync(path.join(rootfs, path.basename(binary)), 0o755);
    layerFromDir(rootfs, path.join(dir, "layer.tar"));
    writeArchive(spec, [path.join(dir, "layer.tar")], out);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

export function pauseArchive(d: ImageDirs): string {
  const binary = path.join(d.bin, "pause");
  const src = path.join(d.root, "scripts/toolchain/pause");
  const stamp = sha256(fs.readFileSync(path.join(src, "main.go")) + fs.readFileSync(path.join(src, "go.mod"), "utf8"));
  const stampFile = path.join(d.cache, "pause.stamp");
  if (!fs.existsSync(binary) || (fs.existsSync(stampFile) ? fs.readFileSync(stampFile, "utf8") : "") !== stamp) {
    log("pause: building scripts/toolchain/pause");
    sh("sh", ["-c", `cd "${src}" && CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath -ldflags "-s -w" -o "${binary}" .`]);
    fs.writeFileSync(stampFile, stamp);
  }
  return binaryImage(d, { tag: PAUSE_IMAGE, entrypoint: ["/pause"] }, binary);
}

export function corednsArchive(d: ImageDirs): string {
  const binary = path.join(d.bin, "coredns");
  if (!fs.existsSync(binary)) throw new Fail(`no CoreDNS binary at ${binary}. Fix: bash scripts/cluster-tools.sh --real-node`);
  return binaryImage(d, { tag: COREDNS_IMAGE, entrypoint: ["/coredns"] }, binary);
}

/** mmdebstrap's bookworm (minbase), once per machine (~1.5-3.5 min); the archive is keyed by the rootfs hash. */
export function baseArchive(d: ImageDirs): string {
  const rootfs = path.join(d.cache, "base-rootfs.tar");
  if (!fs.existsSync(rootfs)) {
    log("base image: mmdebstrap --variant=minbase bookworm (a few minutes, once per machine)");
    const tmp = path.join(d.cache, "base-rootfs.tmp.tar");
    sh(
      "mmdebstrap",
      [
        "--variant=minbase",
        "--quiet",
        "bookworm",
        tmp,
        "deb http://deb.debian.org/debian bookworm main",
        "deb http://deb.debian.org/debian bookworm-updates main",
        "deb http://deb.debian.org/debian-security bookworm-security main",
      ],
      { timeout: 20 * 60_000 },
    );
    fs.renameSync(tmp, rootfs);
  }
  const key = sha256File(rootfs).slice(0, 16);
  const out = path.join(d.cache, `debian_bookworm-slim-${key}.tar`);
  if (!fs.existsSync(out)) writeArchive({ tag: BASE_IMAGE, cmd: ["bash"] }, [rootfs], out);
  return out;
}

/** Imports an archive into containerd's k8s.io namespace unless an image of that tag is there. */
export function importImage(socket: string, tag: string, archive: string): void {
  const have = sh("ctr", ["-a", socket, "-n", "k8s.io", "images", "ls", "-q", `name==${tag}`]).trim();
  if (have) return;
  const t0 = Date.now();
  sh("ctr", ["-a", socket, "-n", "k8s.io", "images", "import", archive], { timeout: 10 * 60_000 });
  log(`image ${tag}: imported in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}
