/**
 * A missing image on the local real node is refused before `pulumi up`, naming the stack, the spec
 * field, the pods that would not start and the fix (build it, or name one the project builds).
 */
import * as fs from "fs";
import * as path from "path";
import { formatProblem, type SpecProblem } from "../../../spec/errors";
import { stageImages } from "../../../model/images";
import { parseCatalog } from "../../../scripts/images/catalog";
import { validateStack } from "../../../validate/validateStack";
import { checkNodeImages, imageUses, normalizeImage, similarImage } from "../../../validate/nodeImages";
import { kwokNodes, localRaw, localTarget, realNode } from "../../lib/clusterNodes";
import { ROOT } from "../../lib/paths";

const STAGES = ["mvc", "split", "micro", "ddd"] as const;
const catalog = parseCatalog(fs.readFileSync(path.join(ROOT, "images/images.yaml"), "utf8"), "/tools");
const buildable = new Map(catalog.map((e) => [e.tag, e.name]));
/** The tag images/images.yaml builds for an entry (the stacks name the same). */
const buildableTag = (name: string) => catalog.find((e) => e.name === name)?.tag ?? `no entry ${name}`;
const nodes = [realNode(), ...kwokNodes];
const text = (ps: SpecProblem[]) => ps.map((p) => formatProblem("local", p)).join("\n");

/** What `npm run local` leaves in the node's containerd: every catalog image, the node's own, as ctr names them. */
const imported = new Set([...catalog.map((e) => e.tag), "stagecraft.local/pause:3.10", "docker.io/library/debian:bookworm-slim"]);

function check(stage: string, present: ReadonlySet<string>, target: Record<string, unknown> = localTarget, ns = nodes) {
  const loaded = validateStack("local", localRaw(stage, target));
  return checkNodeImages("local", loaded.spec, loaded.target, ns, present, buildable);
}

test.each(STAGES)("%s: the spec's image fields are exactly the images the stage runs", (stage) => {
  const { spec } = validateStack("local", localRaw(stage));
  expect([...new Set(imageUses(spec).map((u) => u.image))].sort()).toEqual(stageImages(spec));
});

test.each(STAGES)(
  "%s: with every project image imported, nothing is missing (Kong's public image goes to KWOK, which runs no container)",
  (stage) => {
    expect(check(stage, imported)).toEqual([]);
  },
);

test("a project image not imported yet: the field, the pods, and `images build <name>`", () => {
  const present = new Set([...imported].filter((t) => !t.startsWith("stagecraft.local/backend:")));
  const msg = text(check("mvc", present));
  expect(msg).toBe(
    `stack local: spec.services[0].image is ${buildableTag("backend")}, which is not in node stagecraft-node's containerd yet ` +
      "(no registry is reachable here): web, celery-default, celery-beat would stay in ErrImagePull. " +
      "Fix: npx stagecraft images build backend (builds it from images/images.yaml's entry 'backend' and imports it into the node)",
  );
});

test("an image the project cannot build: the field and the nearest image it builds, as a command", () => {
  const raw = localRaw("mvc");
  const spec = structuredClone(raw.spec) as { data: { redis: { image: string } } };
  spec.data.redis.image = "docker.io/library/redis:7.2";
  const loaded = validateStack("local", { ...raw, spec });
  const msg = text(checkNodeImages("local", loaded.spec, loaded.target, nodes, imported, buildable));
  expect(msg).toMatch(
    /^stack local: spec\.data\.redis\.image is docker\.io\/library\/redis:7\.2, which is neither in node stagecraft-node's containerd nor built by the project/,
  );
  expect(msg).toMatch(/redis would stay in ErrImagePull/);
  expect(msg).toMatch(
    /Fix: name the image the project builds for it: pulumi config set --path 'spec\.data\.redis\.image' stagecraft\.local\/redis:bookworm-2 --stack local/,
  );
});

test("Kong placed on the real node (no placement) needs its image there: refused, not buildable", () => {
  const target = { ...localTarget, placement: {} };
  expect(text(check("micro", imported, target))).toMatch(
    /^stack local: spec\.edge\.kong\.image is docker\.io\/library\/kong:3\.9\.1, which is neither/,
  );
});

test("a KWOK-only cluster runs no container: no image is needed", () => {
  const plain = kwokNodes.map((n) => ({ ...n, taints: [] }));
  expect(check("ddd", new Set(), localTarget, plain)).toEqual([]);
});

test.each([
  ["docker.io/library/redis:7.2", "stagecraft.local/redis:bookworm-2"],
  ["mariadb:11.4", "stagecraft.local/mariadb:bookworm-2"],
  ["ghcr.io/x/nginx-nchn:1", "stagecraft.local/nginx-nchan:bookworm-2"],
  ["docker.io/library/kong:3.9.1", undefined],
])("similarImage(%s) = %s", (ref, want) => {
  expect(similarImage(ref, [...buildable.keys()])).toBe(want);
});

test.each([
  ["redis:7.2", "docker.io/library/redis:7.2"],
  ["bitnami/etcd:3.5.17", "docker.io/bitnami/etcd:3.5.17"],
  ["docker.io/library/kong:3.9.1", "docker.io/library/kong:3.9.1"],
  ["stagecraft.local/backend:1.0.2", "stagecraft.local/backend:1.0.2"],
  ["localhost/x:1", "localhost/x:1"],
  ["registry.local:5000/x", "registry.local:5000/x:latest"],
  ["nginx", "docker.io/library/nginx:latest"],
])("normalizeImage(%s) = %s (as containerd names it)", (ref, want) => {
  expect(normalizeImage(ref)).toBe(want);
});

test("a short Docker Hub name in the spec matches containerd's full name", () => {
  const target = { ...localTarget, placement: {} };
  const present = new Set([...imported, "docker.io/library/kong:3.9.1"]);
  expect(check("micro", present, target)).toEqual([]);
});
