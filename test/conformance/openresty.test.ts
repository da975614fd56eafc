/**
 * The short-URL nginx.conf on real servers: Debian's nginx with the Lua module accepts it
 * (`nginx -t`), then serves real requests against a real redis-server with a password, on free
 * loopback ports. Debian ships lua-resty-redis as `nginx.redis` (package lua-nginx-redis); the
 * conf falls back to that name when `resty.redis` (the OpenResty image's) is absent.
 *
 * `nginx -t` does not compile the Lua blocks, so the requests below are what proves the Lua.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { openrestyConf, SHORT_URL_KEY_PREFIX, SHORT_URL_PASSWORD_ENV, type OpenrestyConfInput } from "../../components/app/openrestyConf";
import { NAMES, PORTS, serviceHost } from "../../model/names";
import { validateStack } from "../../validate/validateStack";
import { readStackFile } from "../../spec/stackFile";
import { freePort, have, run, startServer, tmpDir, type Server, conformanceSuite } from "../lib/proc";

const MODULES = ["/usr/lib/nginx/modules/ndk_http_module.so", "/usr/lib/nginx/modules/ngx_http_lua_module.so"];
const REDIS_LUA = ["/usr/share/lua/5.1/resty/redis.lua", "/usr/share/lua/5.1/nginx/redis.lua"];
const missing = [
  ...["nginx", "redis-server", "redis-cli"].filter((b) => !have(b)),
  ...MODULES.filter((m) => !fs.existsSync(m)),
  ...(REDIS_LUA.some((f) => fs.existsSync(f)) ? [] : ["lua-resty-redis (Debian package lua-nginx-redis)"]),
];
const maybe = conformanceSuite("OpenResty conformance", missing);
jest.setTimeout(60_000);

const { stack, raw } = readStackFile(path.join(__dirname, "../../stacks/Pulumi.micro.yaml"));
const { spec, target } = validateStack(stack, raw);
const shortUrl = spec.shortUrl!;

/**
 * `nginx -t` on a conf file: status and output. `-e stderr` keeps nginx off /var/log before it
 * reads the conf; stdout is a file because `access_log /dev/stdout` cannot open a socket.
 */
function nginxTest(file: string): { status: number | null; output: string } {
  const out = `${file}.stdout`;
  const fd = fs.openSync(out, "w");
  try {
    const r = spawnSync("nginx", ["-t", "-e", "stderr", "-c", file], { encoding: "utf8", timeout: 60_000, stdio: ["ignore", fd, "pipe"] });
    if (r.error) throw r.error;
    return { status: r.status, output: `${fs.readFileSync(out, "utf8")}${r.stderr}` };
  } finally {
    fs.closeSync(fd);
  }
}

function request(port: number, urlPath: string, method = "GET"): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: urlPath, method, agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath}: timed out`)));
    req.on("error", reject);
    req.end();
  });
}

maybe("OpenResty short-URL conf on Debian's nginx + Lua and a real Redis", () => {
  const dir = tmpDir("openresty");
  // Workers drop to nobody when the test runs as root: they must be able to enter the dir.
  fs.chmodSync(dir, 0o755);
  const servers: Server[] = [];
  const password = "s3cret-redis-password";
  let redisPort = 0;

  const write = (name: string, input: OpenrestyConfInput): string => {
    const sub = path.join(dir, name);
    fs.mkdirSync(sub, { recursive: true, mode: 0o755 });
    const file = path.join(sub, "nginx.conf");
    fs.writeFileSync(file, openrestyConf({ ...input, tmpDir: sub }));
    return file;
  };
  const loopback = (listenPort: number): OpenrestyConfInput => ({
    shortUrl,
    listenPort,
    redis: { host: "127.0.0.1", port: redisPort, db: shortUrl.redisDb },
    modules: MODULES,
  });
  const redisCli = (db: number, ...args: string[]) =>
    run("redis-cli", ["-h", "127.0.0.1", "-p", String(redisPort), "--no-auth-warning", "-a", password, "-n", String(db), ...args]);
  const logs = new Map<string, string>();
  /**
   * Starts nginx with its stdout and stderr on a file. Node's child pipes are sockets, which
   * `access_log /dev/stdout` cannot open (ENXIO); a container runtime gives a FIFO, which it can.
   * `exec` keeps nginx's own PID, so stopping the server stops nginx.
   */
  const startNginx = async (name: string, redisPassword: string): Promise<number> => {
    const port = await freePort();
    const file = write(name, loopback(port));
    const log = path.join(path.dirname(file), "stdout.log");
    logs.set(name, log);
    try {
      servers.push(
        await startServer(
          `nginx-${name}`,
          "sh",
          ["-c", 'exec nginx -e stderr -c "$1" -g "daemon off;" >>"$2" 2>&1', "sh", file, log],
          port,
          {
            env: { ...process.env, [SHORT_URL_PASSWORD_ENV]: redisPassword },
          },
        ),
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${fs.existsSync(log) ? fs.readFileSync(log, "utf8") : ""}`);
    }
    return port;
  };
  const logOf = (name: string) => fs.readFileSync(logs.get(name)!, "utf8");

  beforeAll(async () => {
    redisPort = await freePort();
    const redisDir = path.join(dir, "redis");
    fs.mkdirSync(redisDir);
    servers.push(
      await startServer(
        "redis",
        "redis-server",
        [
          "--bind",
          "127.0.0.1",
          "--port",
          String(redisPort),
          "--requirepass",
          password,
          "--save",
          "",
          "--appendonly",
          "no",
          "--dir",
          redisDir,
        ],
        redisPort,
      ),
    );
    redisCli(shortUrl.redisDb, "SET", `${SHORT_URL_KEY_PREFIX}abc`, "https://example.com/landing?from=short");
    redisCli(shortUrl.redisDb, "SET", `${SHORT_URL_KEY_PREFIX}evil`, "javascript:alert(1)");
    // The same code in another DB: a connection that lost its SELECT would answer with this.
    redisCli(0, "SET", `${SHORT_URL_KEY_PREFIX}abc`, "https://wrong-db.example/");
  });
  afterAll(async () => {
    for (const s of servers.reverse()) await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test.each<[string, () => OpenrestyConfInput]>([
    [
      "the in-cluster rendering (Redis by DNS name, a resolver)",
      () => ({
        shortUrl,
        listenPort: PORTS.shortUrl,
        redis: { host: serviceHost(NAMES.redis, target.namespace), port: PORTS.redis, db: shortUrl.redisDb },
        resolver: "10.96.0.10",
        modules: MODULES,
      }),
    ],
    ["the loopback rendering", () => loopback(18080)],
  ])("nginx -t accepts %s", (name, input) => {
    expect(nginxTest(write(`t-${name.replace(/\W+/g, "-")}`, input()))).toMatchObject({
      status: 0,
      output: expect.stringMatching(/test is successful/),
    });
  });

  test("nginx -t rejects the conf without the Lua module (the check can fail)", () => {
    const r = nginxTest(write("t-no-lua", { ...loopback(18080), modules: [] }));
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/unknown directive "init_by_lua_block"/);
  });

  describe("serving", () => {
    let port = 0;
    beforeAll(async () => {
      port = await startNginx("serve", password);
    });

    test("a stored code answers 301 to its target, every time, over pooled Redis connections that keep their DB", async () => {
      const received = () => Number(/total_connections_received:(\d+)/.exec(redisCli(0, "INFO", "stats").stdout)![1]);
      const workers = os.cpus().length; // worker_processes auto
      const before = received();
      for (let i = 0; i < 4 * workers + 4; i++)
        expect(await request(port, `${shortUrl.route}/abc`)).toEqual({ status: 301, location: "https://example.com/landing?from=short" });
      // At most one new connection per worker (each reuses its pooled one), plus redis-cli's own.
      expect(received() - before).toBeLessThanOrEqual(workers + 1);
    });

    test.each<[string, string, string, number]>([
      ["an unknown code", "GET", `${shortUrl.route}/nope`, 404],
      ["a stored value that is not an http(s) URL", "GET", `${shortUrl.route}/evil`, 404],
      ["a code with characters outside the alphabet", "GET", `${shortUrl.route}/a.b`, 404],
      ["a path outside the route", "GET", "/other/abc", 404],
      ["a POST", "POST", `${shortUrl.route}/abc`, 403],
      ["/healthz", "GET", "/healthz", 200],
    ])("%s (%s %s) answers %d", async (_name, method, urlPath, status) => {
      expect((await request(port, urlPath, method)).status).toBe(status);
    });

    test("logs requests to stdout", () => {
      expect(logOf("serve")).toMatch(new RegExp(`"GET ${shortUrl.route}/abc HTTP/1.1" 301`));
    });
  });

  test("a wrong Redis password answers 503, not a redirect (AUTH really happens)", async () => {
    const port = await startNginx("wrong-password", "not-the-password");
    expect(await request(port, `${shortUrl.route}/abc`)).toMatchObject({ status: 503 });
    expect(logOf("wrong-password")).toMatch(/redis auth\/select: .*WRONGPASS|invalid password/i);
  });
});
