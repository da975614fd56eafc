import * as fs from "fs";
import * as path from "path";
import { contextHash, parseCatalog, pushTarget } from "../../../../scripts/images/catalog";

const root = path.resolve(__dirname, "../../../..");

test("the repo's catalog parses, and every entry has its Dockerfile", () => {
  const entries = parseCatalog(fs.readFileSync(path.join(root, "images/images.yaml"), "utf8"), "/tools");
  expect(entries.map((e) => e.name)).toEqual(expect.arrayContaining(["nginx-nchan", "openresty", "mariadb", "redis", "etcd", "coredns"]));
  for (const e of entries) expect(fs.existsSync(path.join(root, "images", e.name, "Dockerfile"))).toBe(true);
  expect(entries.find((e) => e.name === "coredns")?.files).toEqual({ coredns: "/tools/bin/coredns" });
});

test("every Dockerfile builds FROM the Debian base or scratch, nothing pulled from elsewhere", () => {
  for (const d of fs.readdirSync(path.join(root, "images")).filter((n) => fs.existsSync(path.join(root, "images", n, "Dockerfile")))) {
    const froms = fs
      .readFileSync(path.join(root, "images", d, "Dockerfile"), "utf8")
      .split("\n")
      .filter((l) => /^FROM\s/i.test(l))
      .map((l) => l.split(/\s+/)[1]);
    expect(froms.every((f) => f === "debian:bookworm-slim" || f === "scratch")).toBe(true);
  }
});

test("bad entries are refused naming the image, the field and the fix", () => {
  expect(() => parseCatalog("Web: { tag: a/b:1 }", "/t")).toThrow(/image name 'Web'/);
  expect(() => parseCatalog("web: { tag: a/b }", "/t")).toThrow(/web\.tag must be a reference with a pinned tag/);
  expect(() => parseCatalog("web: { tag: a/b:latest }", "/t")).toThrow(/web\.tag must not be 'latest'.*Fix/);
  expect(() => parseCatalog("web: { tag: a/b:1, files: { ../x: y } }", "/t")).toThrow(/web\.files key '\.\.\/x'/);
  expect(() => parseCatalog("- a", "/t")).toThrow(/expected a map/);
});

test("the context hash changes with any file, the tag or the base, and not with file order", () => {
  const f = (p: string, c: string) => ({ path: p, content: Buffer.from(c) });
  const h = contextHash("t:1", "base1", [f("Dockerfile", "FROM x"), f("a", "1")]);
  expect(contextHash("t:1", "base1", [f("a", "1"), f("Dockerfile", "FROM x")])).toBe(h);
  expect(contextHash("t:1", "base1", [f("Dockerfile", "FROM x"), f("a", "2")])).not.toBe(h);
  expect(contextHash("t:2", "base1", [f("Dockerfile", "FROM x"), f("a", "1")])).not.toBe(h);
  expect(contextHash("t:1", "base2", [f("Dockerfile", "FROM x"), f("a", "1")])).not.toBe(h);
  // A byte moved from one file's name to its content is a different context.
  expect(contextHash("t:1", "b", [f("ab", "c")])).not.toBe(contextHash("t:1", "b", [f("a", "bc")]));
});

test("push target keeps the image's name and version under the registry", () => {
  expect(pushTarget("stagecraft.local/mariadb:bookworm-1", "ghcr.io/acme/")).toBe("ghcr.io/acme/mariadb:bookworm-1");
  expect(pushTarget("stagecraft.local/redis:bookworm-1", "registry.local:5000")).toBe("registry.local:5000/redis:bookworm-1");
  expect(() => pushTarget("a/b:1", "https://x")).toThrow(/not a registry/);
});
