/**
 * The probe commands, run for real: the shell and Python they contain execute here (Python's
 * standard library only, as in the image), against local sockets that answer, hang or refuse.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { celeryLivenessCommand, celeryPingCommand, rpcAnswersCommand } from "../../../../components/app/healthChecks";
import { freePort, tmpDir } from "../../../lib/proc";

interface Run {
  code: number;
  output: string;
}

/** Runs a probe command with `python` and a fake `celery` first on PATH. */
function run(cmd: string[], binDir: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      cmd[0],
      cmd.slice(1),
      { env: { ...process.env, PATH: `${binDir}:${process.env.PATH}`, HOSTNAME: "pod-1" }, timeout: 20_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, output: stdout + stderr }),
    );
  });
}

/** A bin dir with `python` (the image's name for python3) and a `celery` that logs its args and exits with `code`. */
function bin(celeryExit: number): { dir: string; celeryLog: string } {
  const dir = tmpDir("probe-bin");
  const celeryLog = path.join(dir, "celery.log");
  fs.symlinkSync(onPath("python3"), path.join(dir, "python"));
  fs.writeFileSync(path.join(dir, "celery"), `#!/bin/sh\necho "$@" >> ${celeryLog}\nexit ${celeryExit}\n`, { mode: 0o755 });
  return { dir, celeryLog };
}

function onPath(name: string): string {
  for (const d of (process.env.PATH ?? "").split(":")) if (fs.existsSync(path.join(d, name))) return path.join(d, name);
  throw new Error(`${name} is not on PATH: the probe commands run Python`);
}

/** A TCP server on a free port; `onConnection` decides what it does. */
async function server(onConnection: (s: net.Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    onConnection(s);
  });
  await new Promise<void>((r) => srv.listen(port, "127.0.0.1", r));
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

describe("celery probes", () => {
  test("readiness is the ping through the broker, addressed to this pod's node", () => {
    expect(celeryPingCommand("app.celery")).toEqual([
      "sh",
      "-c",
      'celery -A app.celery inspect ping --destination "celery@$HOSTNAME" --timeout 10',
    ]);
  });

  test("liveness differs from readiness (kube-score pod-probes-identical)", () => {
    expect(celeryLivenessCommand("app.celery", "/etc/stagecraft/settings.json")).not.toEqual(celeryPingCommand("app.celery"));
  });

  async function liveness(brokerUp: boolean, celeryExit: number): Promise<Run & { pinged: boolean }> {
    const broker = await server((s) => s.end());
    const port = broker.port;
    if (!brokerUp) await broker.close();
    const dir = tmpDir("probe-settings");
    const settings = path.join(dir, "settings.json");
    fs.writeFileSync(settings, JSON.stringify({ cache: { host: "127.0.0.1", port } }));
    const b = bin(celeryExit);
    try {
      const r = await run(celeryLivenessCommand("app.celery", settings), b.dir);
      return { ...r, pinged: fs.existsSync(b.celeryLog) };
    } finally {
      if (brokerUp) await broker.close();
    }
  }

  test("broker up, the worker answers: alive", async () => {
    const r = await liveness(true, 0);
    expect(r).toMatchObject({ code: 0, pinged: true });
  });

  test("broker up, the worker does not answer: wedged, restart it", async () => {
    const r = await liveness(true, 1);
    expect(r).toMatchObject({ code: 1, pinged: true });
  });

  test("broker down: not the worker's fault, it is not asked and stays alive", async () => {
    const r = await liveness(false, 1);
    expect(r).toMatchObject({ code: 0, pinged: false });
  });

  test("a settings path that the shell would split or expand is refused", () => {
    expect(() => celeryLivenessCommand("app.celery", "/etc/x y.json")).toThrow(/absolute path without quotes, spaces or \$/);
    expect(() => celeryLivenessCommand("app.celery", "settings.json")).toThrow(/absolute path/);
  });
});

describe("rpcAnswersCommand", () => {
  const pyBin = () => bin(0).dir;

  test("a server that answers the request with a frame: alive; the request is the msgpack map it promises", async () => {
    const received: Buffer[] = [];
    const srv = await server((s) => {
      let buf = Buffer.alloc(0);
      s.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
          received.push(buf.subarray(4, 4 + buf.readUInt32BE(0)));
          // {"id": "live", "error": {"code": "bad_input"}} would do; any frame is an answer.
          const body = Buffer.from([0x81, 0xa2, 0x69, 0x64, 0xa4, ...Buffer.from("live")]);
          const len = Buffer.alloc(4);
          len.writeUInt32BE(body.length);
          s.end(Buffer.concat([len, body]));
        }
      });
    });
    try {
      const r = await run(rpcAnswersCommand(srv.port), pyBin());
      expect(r).toEqual({ code: 0, output: "" });
      // fixmap(3) {"id": "live", "method": "", "args": {}}
      const expected = Buffer.concat([
        Buffer.from([0x83, 0xa2]),
        Buffer.from("id"),
        Buffer.from([0xa4]),
        Buffer.from("live"),
        Buffer.from([0xa6]),
        Buffer.from("method"),
        Buffer.from([0xa0, 0xa4]),
        Buffer.from("args"),
        Buffer.from([0x80]),
      ]);
      expect(received).toEqual([expected]);
    } finally {
      await srv.close();
    }
  });

  test("a server that accepts but never answers (wedged): fails within the probe's 5 s timeout", async () => {
    const srv = await server(() => undefined);
    try {
      const t0 = Date.now();
      const r = await run(rpcAnswersCommand(srv.port), pyBin());
      expect(r.code).not.toBe(0);
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      await srv.close();
    }
  });

  test("a server that closes without answering: fails", async () => {
    const srv = await server((s) => s.end());
    try {
      expect((await run(rpcAnswersCommand(srv.port), pyBin())).code).not.toBe(0);
    } finally {
      await srv.close();
    }
  });

  test("nothing listening: fails", async () => {
    const port = await freePort();
    expect((await run(rpcAnswersCommand(port), pyBin())).code).not.toBe(0);
  });

  test("a port that is not one is refused", () => {
    expect(() => rpcAnswersCommand(0)).toThrow(/not a TCP port/);
    expect(() => rpcAnswersCommand(70000)).toThrow(/not a TCP port/);
  });
});
