import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { buildArgs, contextHash, included, mayHoldIncluded, parseCatalog, pushTarget, wheelsKey } from "../../../../scripts/images/catalog";
import { APP_UID } from "../../../../components/app/appPod";

const root = path.resolve(__dirname, "../../../..");

const catalog = () => parseCatalog(fs.readFileSync(path.join(root, "images/images.yaml"), "utf8"), "/tools");

test("the repo's catalog parses, and every entry has its Dockerfile, target stage and included paths", () => {
  const entries = catalog();
  expect(entries.map((e) => e.name)).toEqual(
    expect.arrayContaining(["nginx-nchan", "openresty", "mariadb", "redis", "etcd", "coredns", "backend", "tormq"]),
  );
  for (const e of entries) {
    const dockerfile = fs.readFileSync(path.join(root, e.context, "Dockerfile"), "utf8");
    if (e.target) expect(dockerfile).toMatch(new RegExp(`^FROM\\s+\\S+\\s+AS\\s+${e.target}\\s*$`, "im"));
    for (const p of e.include ?? []) expect(fs.existsSync(path.join(root, e.context, p))).toBe(true);
    if (e.wheels) {
      expect(fs.existsSync(path.join(root, e.wheels.lock))).toBe(true);
      expect(fs.existsSync(path.join(root, e.wheels.fetch))).toBe(true);
      // The Dockerfile installs from where the wheels are put, and only with hashes.
      expect(dockerfile).toContain(`COPY ${e.wheels.into}/`);
      expect(dockerfile).toMatch(/--no-index .*--require-hashes/);
    }
  }
  expect(entries.find((e) => e.name === "coredns")?.files).toEqual({ coredns: "/tools/bin/coredns" });
  expect(entries.find((e) => e.name === "redis")?.context).toBe("images/redis");
});

/** FROM lines of a Dockerfile, with ARG defaults substituted: [image, stage name?]. */
function froms(dockerfile: string): [string, string | undefined][] {
  const args: Record<string, string> = {};
  const out: [string, string | undefined][] = [];
  for (const l of dockerfile.split("\n")) {
    const arg = /^ARG\s+(\w+)=(\S+)/i.exec(l);
    if (arg) args[arg[1]] = arg[2];
    const m = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(l);
    if (m) out.push([m[1].replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? ""), m[2]]);
  }
  return out;
}

test("every Dockerfile builds FROM the Debian base, scratch or its own earlier stage, nothing pulled from elsewhere", () => {
  const bases = ["debian:bookworm-slim", "docker.io/library/debian:bookworm-slim", "scratch"];
  for (const ctx of new Set(catalog().map((e) => e.context))) {
    const f = froms(fs.readFileSync(path.join(root, ctx, "Dockerfile"), "utf8"));
    expect(f.length).toBeGreaterThan(0);
    f.forEach(([image], i) => expect([...bases, ...f.slice(0, i).map(([, stage]) => stage)]).toContain(image));
  }
  expect(froms("ARG BASE=debian:bookworm-slim\nFROM ${BASE} AS app\nFROM app AS tormq\n")).toEqual([
    ["debian:bookworm-slim", "app"],
    ["app", "tormq"],
  ]);
});

test("the app images run as a uid kube-score accepts (>= 10000), the one the pods set", () => {
  const dockerfile = fs.readFileSync(path.join(root, "backend/Dockerfile"), "utf8");
  const user = /^USER\s+(\d+):(\d+)\s*$/m.exec(dockerfile);
  expect(Number(user?.[1])).toBeGreaterThanOrEqual(10000);
  expect(user?.[2]).toBe(user?.[1]);
  expect(APP_UID).toBe(Number(user?.[1]));
});

test("context paths: include list (all when absent), never __pycache__ or .pyc", () => {
  expect(included("app/x.py", ["Dockerfile", "app"])).toBe(true);
  expect(included("Dockerfile", ["Dockerfile", "app"])).toBe(true);
  expect(included("apps/x.py", ["Dockerfile", "app"])).toBe(false);
  expect(included("tests/test_x.py", ["Dockerfile", "app"])).toBe(false);
  expect(included("app/__pycache__/x.cpython-311.pyc", ["app"])).toBe(false);
  expect(included("app/x.pyc", undefined)).toBe(false);
  expect(included("anything", undefined)).toBe(true);
});

test("the context walk descends only into folders the include list may take from", () => {
  const inc = ["Dockerfile", "app", "deep/x/file.txt"];
  expect(mayHoldIncluded("app", inc)).toBe(true);
  expect(mayHoldIncluded("app/api", inc)).toBe(true);
  expect(mayHoldIncluded("deep", inc)).toBe(true);
  expect(mayHoldIncluded("deep/x", inc)).toBe(true);
  expect(mayHoldIncluded(".venv", inc)).toBe(false);
  expect(mayHoldIncluded("tests", inc)).toBe(false);
  expect(mayHoldIncluded("application", inc)).toBe(false);
  expect(mayHoldIncluded("app/__pycache__", inc)).toBe(false);
  expect(mayHoldIncluded(".venv", undefined)).toBe(true);
});

test("app entries: context, target, include and wheels are read; bad ones are refused naming the field", () => {
  const [e] = parseCatalog(
    "backend: { tag: s/backend:1, context: backend/, target: app, include: [Dockerfile, app], wheels: {lock: backend/r.txt, fetch: backend/f.sh, into: wheels} }",
    "/t",
  );
  expect(e).toEqual({
    name: "backend",
    tag: "s/backend:1",
    context: "backend",
    target: "app",
    include: ["Dockerfile", "app"],
    files: {},
    wheels: { lock: "backend/r.txt", fetch: "backend/f.sh", into: "wheels" },
  });
  expect(() => parseCatalog("b: { tag: s/b:1, context: ../x }", "/t")).toThrow(/b\.context must be a relative path inside the repository/);
  expect(() => parseCatalog("b: { tag: s/b:1, context: /abs }", "/t")).toThrow(/b\.context/);
  expect(() => parseCatalog("b: { tag: s/b:1, target: 'a b' }", "/t")).toThrow(/b\.target must name a stage/);
  expect(() => parseCatalog("b: { tag: s/b:1, include: [] }", "/t")).toThrow(/b\.include must be a non-empty list/);
  expect(() => parseCatalog("b: { tag: s/b:1, include: [app] }", "/t")).toThrow(/b\.include must list Dockerfile/);
  expect(() => parseCatalog("b: { tag: s/b:1, include: [Dockerfile, a/../../x] }", "/t")).toThrow(/b\.include\[1\]/);
  expect(() => parseCatalog("b: { tag: s/b:1, wheels: {lock: r.txt, fetch: f.sh} }", "/t")).toThrow(/b\.wheels\.into/);
  expect(() => parseCatalog("b: { tag: s/b:1, wheel: {} }", "/t")).toThrow(/b\.wheel is not a field/);
});

test("build arguments carry the target only when there is one", () => {
  const [plain, app] = parseCatalog("redis: { tag: s/redis:1 }\nbackend: { tag: s/backend:1, context: backend, target: app }", "/t");
  expect(buildArgs(plain, "/ctx")).toEqual(["build", "--network", "host", "--pull=never", "--layers=false", "-t", "s/redis:1", "/ctx"]);
  expect(buildArgs(app, "/ctx")).toEqual([
    "build",
    "--network",
    "host",
    "--pull=never",
    "--layers=false",
    "--target",
    "app",
    "-t",
    "s/backend:1",
    "/ctx",
  ]);
});

test("the wheel cache is keyed by the lock's bytes", () => {
  expect(wheelsKey(Buffer.from("a==1 --hash=sha256:00"))).toBe(wheelsKey(Buffer.from("a==1 --hash=sha256:00")));
  expect(wheelsKey(Buffer.from("a==1 --hash=sha256:00"))).not.toBe(wheelsKey(Buffer.from("a==2 --hash=sha256:01")));
  expect(wheelsKey(Buffer.from("x"))).toMatch(/^[0-9a-f]{16}$/);
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
  // Two targets of one Dockerfile are two images; no target keeps the key it always had.
  expect(contextHash("t:1", "base1", [f("Dockerfile", "FROM x"), f("a", "1")], "app")).not.toBe(h);
  expect(contextHash("t:1", "base1", [f("Dockerfile", "FROM x"), f("a", "1")], undefined)).toBe(h);
  // A byte moved from one file's name to its content is a different context.
  expect(contextHash("t:1", "b", [f("ab", "c")])).not.toBe(contextHash("t:1", "b", [f("a", "bc")]));
});

test("push target keeps the image's name and version under the registry", () => {
  expect(pushTarget("stagecraft.local/mariadb:bookworm-1", "ghcr.io/acme/")).toBe("ghcr.io/acme/mariadb:bookworm-1");
  expect(pushTarget("stagecraft.local/redis:bookworm-1", "registry.local:5000")).toBe("registry.local:5000/redis:bookworm-1");
  expect(() => pushTarget("a/b:1", "https://x")).toThrow(/not a registry/);
});

test("the stage stacks run the backend's images for every app-tier workload (services, hence their Celery and migrations; tormq push)", () => {
  const tag = (n: string) => catalog().find((e) => e.name === n)?.tag;
  for (const stage of ["mvc", "split", "micro", "ddd"]) {
    const doc = parse(fs.readFileSync(path.join(root, "stacks", `Pulumi.${stage}.yaml`), "utf8")) as {
      config: Record<string, { services: { name: string; image: string }[]; push?: { kind: string; image?: string } }>;
    };
    const spec = doc.config["stagecraft:spec"];
    expect(spec.services.length).toBeGreaterThan(0);
    for (const s of spec.services) expect(`${stage} ${s.name} ${s.image}`).toBe(`${stage} ${s.name} ${tag("backend")}`);
    if (spec.push?.kind === "tormq") expect(`${stage} push ${spec.push.image}`).toBe(`${stage} push ${tag("tormq")}`);
  }
});
