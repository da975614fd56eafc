/**
 * redis.conf from redisConf() starts Debian's real redis-server, with the password only in the
 * included file: AUTH works, no AUTH is refused, and the limits are the spec's.
 */
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { spawnSync } from "child_process";
import { redisConf } from "../../components/data/redisConf";
import { validateStack } from "../../validate/validateStack";
import { readStackFile } from "../../spec/stackFile";
import { freePort, have, startServer, tmpDir, type Server, conformanceSuite } from "../lib/proc";

jest.setTimeout(60_000);

const BINARIES = ["redis-server"];
const missing = BINARIES.filter((b) => !have(b));

const maybe = conformanceSuite("Redis conformance", missing);

type Reply = string | number | null | Error | Reply[];

/** Sends commands on one connection and returns one reply per command (a tiny RESP2 client). */
async function redis(port: number, commands: string[][]): Promise<Reply[]> {
  const sock = net.connect({ host: "127.0.0.1", port });
  let buf = Buffer.alloc(0);
  const replies: Reply[] = [];
  // Parses one reply at `pos`; undefined while the reply is incomplete.
  const parse = (pos: number): [Reply, number] | undefined => {
    const eol = buf.indexOf("\r\n", pos);
    if (eol < 0) return undefined;
    const line = buf.toString("utf8", pos + 1, eol);
    const next = eol + 2;
    switch (String.fromCharCode(buf[pos])) {
      case "+":
        return [line, next];
      case "-":
        return [new Error(line), next];
      case ":":
        return [Number(line), next];
      case "$": {
        const n = Number(line);
        if (n < 0) return [null, next];
        return buf.length >= next + n + 2 ? [buf.toString("utf8", next, next + n), next + n + 2] : undefined;
      }
      case "*": {
        const items: Reply[] = [];
        let at = next;
        for (let i = 0; i < Number(line); i++) {
          const r = parse(at);
          if (!r) return undefined;
          items.push(r[0]);
          at = r[1];
        }
        return [items, at];
      }
      default:
        throw new Error(`bad RESP reply: ${buf.toString("utf8", pos)}`);
    }
  };
  return new Promise((resolve, reject) => {
    sock.on("error", reject);
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (let r = parse(0); r; r = parse(0)) {
        replies.push(r[0]);
        buf = buf.subarray(r[1]);
      }
      if (replies.length === commands.length) {
        sock.end();
        resolve(replies);
      }
    });
    sock.write(commands.map((c) => `*${c.length}\r\n${c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`).join(""));
  });
}

const { stack, raw } = readStackFile(path.join(__dirname, "../../stacks/Pulumi.mvc.yaml"));
const spec = validateStack(stack, raw).spec.data.redis;
const PASSWORD = "conformance-password-7f3a";

maybe("redis.conf on a real redis-server (stage mvc)", () => {
  let dir: string;
  let port: number;
  let server: Server | undefined;

  beforeAll(async () => {
    dir = tmpDir("redis");
    port = await freePort();
    // What the startup step writes from the Secret onto an emptyDir (quoted, as RedisCache writes it).
    fs.writeFileSync(path.join(dir, "auth.conf"), `requirepass "${PASSWORD}"\n`);
    fs.writeFileSync(path.join(dir, "redis.conf"), redisConf(spec, { port, dir, authInclude: path.join(dir, "auth.conf") }));
    server = await startServer("redis-server", "redis-server", [path.join(dir, "redis.conf"), "--bind", "127.0.0.1"], port);
  });

  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("without AUTH every command is refused", async () => {
    const [ping] = await redis(port, [["PING"]]);
    expect(ping).toBeInstanceOf(Error);
    expect(String(ping)).toMatch(/NOAUTH/);
  });

  test("a wrong password is refused, the Secret's password works", async () => {
    const [wrong] = await redis(port, [["AUTH", "not-the-password"]]);
    expect(String(wrong)).toMatch(/WRONGPASS|invalid password/);
    expect(await redis(port, [["AUTH", PASSWORD], ["PING"]])).toEqual(["OK", "PONG"]);
  });

  test("CONFIG GET shows the spec's limits and persistence", async () => {
    const keys = ["maxclients", "maxmemory", "maxmemory-policy", "appendonly", "protected-mode", "dir", "port"];
    const replies = await redis(port, [["AUTH", PASSWORD], ...keys.map((k) => ["CONFIG", "GET", k])]);
    const got = Object.fromEntries(replies.slice(1).map((r) => r as string[]));
    expect(got).toEqual({
      maxclients: String(spec.maxclients),
      maxmemory: String(384 * 1024 * 1024), // 384Mi in the spec
      "maxmemory-policy": spec.maxmemoryPolicy,
      appendonly: "yes",
      "protected-mode": "yes",
      dir: fs.realpathSync(dir),
      port: String(port),
    });
  });

  test("a write lands in the append-only file under dir", async () => {
    expect(
      await redis(port, [
        ["AUTH", PASSWORD],
        ["SET", "web:conformance", "persisted"],
      ]),
    ).toEqual(["OK", "OK"]);
    const aofDir = path.join(dir, "appendonlydir");
    const deadline = Date.now() + 5_000; // appendfsync everysec
    const written = () =>
      fs.existsSync(aofDir) &&
      fs.readdirSync(aofDir).some((f) => fs.readFileSync(path.join(aofDir, f), "utf8").includes("web:conformance"));
    while (!written() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(written()).toBe(true);
  });

  test("without the password file Redis does not start (fails closed)", async () => {
    const other = tmpDir("redis-noauth");
    const conf = path.join(other, "redis.conf");
    fs.writeFileSync(conf, redisConf(spec, { port: await freePort(), dir: other, authInclude: path.join(other, "auth.conf") }));
    const r = spawnSync("redis-server", [conf, "--bind", "127.0.0.1"], { encoding: "utf8", timeout: 10_000 });
    expect(r.status).not.toBe(0);
    fs.rmSync(other, { recursive: true, force: true });
    expect(r.stdout + r.stderr).toMatch(/auth\.conf/);
  });
});
