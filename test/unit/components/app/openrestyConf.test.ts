/** openrestyConf: the micro stack's short-URL service, and hand-made variants. */
import * as path from "path";
import {
  openrestyConf,
  SHORT_URL_KEY_PREFIX,
  SHORT_URL_PASSWORD_ENV,
  type OpenrestyConfInput,
} from "../../../../components/app/openrestyConf";
import { NAMES, PORTS, serviceHost } from "../../../../model/names";
import { validateStack } from "../../../../validate/validateStack";
import { ROOT } from "../../../lib/paths";
import { readStackFile } from "../../../../spec/stackFile";

const { stack, raw } = readStackFile(path.join(ROOT, "stacks/Pulumi.micro.yaml"));
const { spec, target } = validateStack(stack, raw);
const shortUrl = spec.shortUrl!;

const base: OpenrestyConfInput = {
  shortUrl,
  listenPort: PORTS.shortUrl,
  redis: { host: serviceHost(NAMES.redis, target.namespace), port: PORTS.redis, db: shortUrl.redisDb },
  resolver: "10.96.0.10",
  modules: [],
};
const conf = openrestyConf(base);

describe("openrestyConf on the micro stack", () => {
  test.each<[string, RegExp]>([
    ["listens on the short-URL port", new RegExp(`^\\s*listen ${PORTS.shortUrl};$`, "m")],
    ["reads the password from the environment, declared at top level", new RegExp(`^env ${SHORT_URL_PASSWORD_ENV};$`, "m")],
    [
      "AUTHs with os.getenv, only on fresh connections",
      new RegExp(`get_reused_times\\(\\) == 0[\\s\\S]*os\\.getenv\\("${SHORT_URL_PASSWORD_ENV}"\\)`),
    ],
    ["selects the spec's logical DB", /red:select\(1\)/],
    ["connects to the Redis host and port it is given", /red:connect\("redis\.stagecraft\.svc\.cluster\.local", 6379,/],
    ["keeps a connection pool", /red:set_keepalive\(\d+, \d+\)/],
    ["looks codes up under the shared key prefix", new RegExp(`red:get\\("${SHORT_URL_KEY_PREFIX}" \\.\\. ngx\\.var\\.code\\)`)],
    ["answers 301 to the target", /ngx\.redirect\(target, ngx\.HTTP_MOVED_PERMANENTLY\)/],
    ["answers 404 for an unknown code", /target == ngx\.null[\s\S]*ngx\.exit\(ngx\.HTTP_NOT_FOUND\)/],
    ["routes <route>/<code> (quoted regex)", /location ~ "\^\/s\/\(\?<code>\[A-Za-z0-9_-\]\{1,64\}\)\$"/],
    ["serves /healthz", /location = \/healthz \{[\s\S]*?return 200/],
    ["pid under /tmp", /^pid \/tmp\/nginx\.pid;$/m],
    ["temp paths under /tmp", /client_body_temp_path \/tmp\/client_body;/],
    ["errors to stderr", /^error_log stderr warn;$/m],
    ["access log to stdout", /access_log \/dev\/stdout;/],
    ["resolves names through the given resolver", /resolver 10\.96\.0\.10 valid=30s ipv6=off;/],
  ])("%s", (_name, re) => expect(conf).toMatch(re));

  test.each<[string, RegExp]>([
    ["no load_module in the OpenResty image", /load_module/],
    ["no daemon directive (the image passes -g 'daemon off;')", /^\s*daemon /m],
    ["no password in the file", /requirepass|auth\("/],
    ["nothing under /var", /\/var\//],
  ])("%s", (_name, re) => expect(conf).not.toMatch(re));
});

describe("variants", () => {
  test.each<[string, OpenrestyConfInput, RegExp[], RegExp[]]>([
    [
      "Debian's modules, loaded before anything else",
      { ...base, modules: ["/usr/lib/nginx/modules/ndk_http_module.so", "/usr/lib/nginx/modules/ngx_http_lua_module.so"] },
      [
        /^(# .*\n)load_module \/usr\/lib\/nginx\/modules\/ndk_http_module\.so;\nload_module \/usr\/lib\/nginx\/modules\/ngx_http_lua_module\.so;\n/,
      ],
      [],
    ],
    [
      "an IP Redis host needs no resolver",
      { ...base, redis: { host: "127.0.0.1", port: 16379, db: 4 }, resolver: undefined },
      [/red:connect\("127\.0\.0\.1", 16379,/, /red:select\(4\)/],
      [/resolver/],
    ],
    [
      "a nested route, trailing slash dropped",
      { ...base, shortUrl: { ...shortUrl, route: "/go/l/" } },
      [/location ~ "\^\/go\/l\/\(\?<code>/],
      [/\/go\/l\/\//],
    ],
    ["the root route", { ...base, shortUrl: { ...shortUrl, route: "/" } }, [/location ~ "\^\/\(\?<code>/], []],
    [
      "a tmp dir of its own",
      { ...base, tmpDir: "/run/shorturl/" },
      [/^pid \/run\/shorturl\/nginx\.pid;$/m, /proxy_temp_path \/run\/shorturl\/proxy;/],
      [/\/tmp\//],
    ],
  ])("%s", (_name, input, present, absent) => {
    const text = openrestyConf(input);
    for (const re of present) expect(text).toMatch(re);
    for (const re of absent) expect(text).not.toMatch(re);
  });

  test("deterministic", () => expect(openrestyConf({ ...base })).toBe(conf));
});

describe("refusals", () => {
  test.each<[string, OpenrestyConfInput, RegExp]>([
    ["a Redis host name without a resolver", { ...base, resolver: undefined }, /a resolver is needed/],
    ["a host that would break out of the Lua string", { ...base, redis: { ...base.redis, host: 'x"); os.exit(' } }, /not a host name/],
    ["a module path with a semicolon", { ...base, modules: ["/a.so; user root"] }, /not a plain absolute path/],
    ["a relative tmp dir", { ...base, tmpDir: "tmp" }, /not a plain absolute path/],
  ])("%s", (_name, input, message) => expect(() => openrestyConf(input)).toThrow(message));
});
