/**
 * The rendered kong.yml passes decK's validation.
 *
 * decK here is Debian's 1.4.0 (`deck validate -s <file>`): it checks every entity against its JSON
 * schema (types, unknown fields), the uniqueness of names, and that foreign references resolve. It
 * does not know `deck file validate` (decK >= 1.28), and it neither checks `_format_version` nor
 * plugin configs (that needs a Kong). A newer decK cannot be built here: the Go module proxy answers
 * 403 for github.com/kong/deck. The unit tests cover what 1.4.0 leaves out (format "3.0", policies).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { kongYaml, type Endpoint, type KongConfigInput } from "../../components/edge/kongConfig";
import { NAMES, PORTS, serviceHost } from "../../model/names";
import { validateStack } from "../../validate/validateStack";
import type { KongSpec } from "../../spec/schema";
import { readStackFile } from "../../spec/stackFile";
import { have, tmpDir, conformanceSuite } from "../lib/proc";

const missing = ["deck"].filter((b) => !have(b));
const maybe = conformanceSuite("Kong conformance", missing);

const { stack, raw } = readStackFile(path.join(__dirname, "../../stacks/Pulumi.micro.yaml"));
const { spec, target } = validateStack(stack, raw);
const kong = spec.edge.kong!;

function input(k: KongSpec = kong): KongConfigInput {
  const endpoints: Record<string, Endpoint> = {};
  for (const s of spec.services) endpoints[s.name] = { host: serviceHost(s.name, target.namespace), port: s.port };
  if (spec.push?.kind === "tormq") endpoints[NAMES.push] = { host: serviceHost(NAMES.push, target.namespace), port: spec.push.port };
  if (spec.shortUrl) endpoints[NAMES.shortUrl] = { host: serviceHost(NAMES.shortUrl, target.namespace), port: PORTS.shortUrl };
  return {
    kong: k,
    services: spec.services,
    push: spec.push,
    shortUrl: spec.shortUrl,
    endpoints,
    redis: { host: serviceHost(NAMES.redis, target.namespace), port: PORTS.redis, database: 3 },
    credentials: Object.fromEntries(k.consumers.map((c) => [c.credentialSecret, "a-test-key-0123456789"])),
  };
}

maybe("decK validates the rendered kong.yml", () => {
  const dir = tmpDir("kong");
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Exit status and output of `deck validate` on one file; HOME isolated so no ~/.deck.yaml leaks in. */
  function deckValidate(name: string, text: string): { status: number | null; output: string } {
    const file = path.join(dir, `${name}.yml`);
    fs.writeFileSync(file, text);
    const r = spawnSync("deck", ["validate", "-s", file], { encoding: "utf8", timeout: 60_000, env: { ...process.env, HOME: dir } });
    if (r.error) throw r.error;
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  }

  test.each<[string, KongConfigInput]>([
    ["micro (key-auth, redis policy)", input()],
    ["jwt", input({ ...kong, auth: "jwt" })],
    [
      "local policy on one node, no consumers",
      { ...input({ ...kong, replicas: 1, consumers: [], rateLimit: { perMinute: 60, policy: "local" } }), redis: undefined },
    ],
  ])("%s passes", (name, i) => {
    const r = deckValidate(name.replace(/\W+/g, "-"), kongYaml(i));
    expect(r).toEqual({ status: 0, output: "" });
  });

  // The same check must fail on broken configs, or a green run proves nothing.
  type Doc = { services: { name: string; routes: Record<string, unknown>[] }[]; plugins: Record<string, unknown>[] };
  test.each<[string, (d: Doc) => void, RegExp]>([
    ["a route whose strip_path is not a boolean", (d) => (d.services[0].routes[0].strip_path = "sometimes"), /strip_path: Invalid type/],
    ["two services with one name", (d) => (d.services[1].name = d.services[0].name), /entity already exists/],
    ["a plugin for a consumer that does not exist", (d) => (d.plugins[0].consumer = "nobody"), /consumer nobody .*entity not found/],
    [
      "an unknown field on a service",
      (d) => Object.assign(d.services[0], { upstream_url: "http://x" }),
      /Additional property upstream_url/,
    ],
  ])("fails on %s", (name, breakIt, message) => {
    const doc = parse(kongYaml(input())) as Doc;
    breakIt(doc);
    const r = deckValidate(`broken-${name.replace(/\W+/g, "-")}`, stringify(doc));
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(message);
  });
});
