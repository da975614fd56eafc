/**
 * The stage the live `local` stack holds, running on the local cluster's real node: checked by
 * talking to the running pods (kubectl exec, port-forward, requests to the LoadBalancer address
 * from the host), never by reading manifests. What is checked follows the stack's spec: replicas
 * when it has read replicas, etcd when it has a registry, short URLs when it runs OpenResty.
 *
 * Opt-in (STAGECRAFT_REAL_STAGE=1), after `npm run cluster -- up --real-node`, `npm run images --
 * build` and `npm run stage -- local up`: it needs the real node (root, host changes) and a stage
 * up on it, which `npm test` does not bring up (see README, "A stage on the real node").
 * Run it after every `up` and every stage move: it also keeps the UIDs of the data-bearing objects
 * it saw (in the cluster's state dir) and fails if one changed since the last run.
 */
import * as fs from "fs";
import * as path from "path";
import { spawn, spawnSync } from "child_process";
import { readStackFile } from "../../spec/stackFile";
import { validateStack } from "../../validate/validateStack";
import { etcdAuthPlan } from "../../components/data/etcdAuth";
import { SHORT_URL_KEY_PREFIX } from "../../components/app/openrestyConf";
import { DEFAULT_PREFIX_ROOT, registryPrefix } from "../../model/registry";
import { etcdUserSecret, mysqlUserSecret, NAMES, PORTS } from "../../model/names";
import { eventually } from "../lib/testCluster";

const root = path.resolve(__dirname, "../..");
const enabled = process.env.STAGECRAFT_REAL_STAGE === "1";
const suite = enabled ? describe : describe.skip;
const tools = process.env.STAGECRAFT_TOOLS || path.join(root, ".tools");
const kubeconfig = path.join(tools, "cluster", "kubeconfig");
const uidFile = path.join(tools, "cluster", "realstage-uids.json");
const { stack, raw } = readStackFile(path.join(root, "stacks", "Pulumi.local.yaml"));
const { spec, target } = validateStack(stack, raw);
const ns = target.namespace;

function kubectlRun(args: string[], input?: string) {
  return spawnSync(path.join(tools, "bin", "kubectl"), ["--kubeconfig", kubeconfig, "-n", ns, ...args], {
    encoding: "utf8",
    input,
    timeout: 120_000,
  });
}
function kubectl(...args: string[]): string {
  const r = kubectlRun(args);
  if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}
/** A shell script run in a pod's container, secrets fed on stdin (never argv). */
function execIn(pod: string, container: string, script: string, input = ""): { status: number | null; out: string } {
  const r = kubectlRun(["exec", "-i", pod, "-c", container, "--", "sh", "-c", script], input);
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}
const secret = (name: string, key = "password") =>
  Buffer.from(kubectl("get", "secret", name, "-o", `jsonpath={.data.${key}}`), "base64").toString();

interface Pod {
  metadata: { name: string; uid: string; labels?: Record<string, string>; ownerReferences?: { kind: string }[] };
  spec: { nodeName?: string; containers: { name: string }[] };
  status: {
    phase: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; ready: boolean; restartCount: number; containerID?: string }[];
  };
}
/** Polls a condition until it holds (an exception counts as not yet). */
const until = (what: string, check: () => boolean, ms: number) => eventually(what, () => (check() ? true : undefined), ms, 1000);
const pods = (): Pod[] => JSON.parse(kubectl("get", "pods", "-o", "json")).items;

suite(`stage ${spec.stage} on the real node (stack ${stack}, namespace ${ns})`, () => {
  jest.setTimeout(300_000);

  test("every pod is Running and Ready with a real container (Kong: KWOK nodes, no container); Jobs' pods completed; restarts counted", () => {
    const nodes = JSON.parse(kubectl("get", "nodes", "-o", "json")).items as {
      metadata: { name: string; labels: Record<string, string> };
    }[];
    const real = new Set(nodes.filter((n) => n.metadata.labels["stagecraft.local/node"] === "real").map((n) => n.metadata.name));
    const restarts: Record<string, number> = {};
    for (const p of pods()) {
      const isJob = p.metadata.ownerReferences?.some((o) => o.kind === "Job");
      if (isJob && p.status.phase === "Succeeded") continue;
      const name = p.metadata.name;
      const kong = p.metadata.labels?.["app.kubernetes.io/name"] === NAMES.kong;
      expect([name, p.status.phase]).toEqual([name, "Running"]);
      expect([name, p.status.conditions?.find((c) => c.type === "Ready")?.status]).toEqual([name, "True"]);
      // Kong has no image that runs here: its pods sit on the KWOK nodes by the target's placement.
      expect([name, real.has(p.spec.nodeName ?? "")]).toEqual([name, !kong]);
      for (const c of p.status.containerStatuses ?? []) {
        if (!kong) expect([name, c.containerID?.startsWith("containerd://")]).toEqual([name, true]);
        restarts[`${name}/${c.name}`] = c.restartCount;
      }
    }
    console.info(`restarts on stage ${spec.stage}: ${JSON.stringify(restarts)}`);
  });

  test("the data-bearing objects keep their UIDs from one run to the next (across ups and stage moves)", () => {
    const kinds = "statefulsets,persistentvolumeclaims,secrets";
    const items = JSON.parse(kubectl("get", kinds, "-l", "stagecraft.dev/tier=data", "-o", "json")).items as {
      kind: string;
      metadata: { name: string; uid: string };
    }[];
    const now: Record<string, string> = Object.fromEntries(items.map((i) => [`${i.kind}/${i.metadata.name}`, i.metadata.uid]));
    expect(Object.keys(now)).toContain(`StatefulSet/${NAMES.mysql}`);
    const before: Record<string, string> = fs.existsSync(uidFile) ? JSON.parse(fs.readFileSync(uidFile, "utf8")) : {};
    const changed = Object.keys(now).filter((k) => before[k] !== undefined && before[k] !== now[k]);
    fs.writeFileSync(uidFile, JSON.stringify({ ...before, ...now }, null, 2));
    expect(changed).toEqual([]);
  });

  describe("MariaDB", () => {
    const root = () => secret("mysql-admin", "root-password");
    const users = [...new Set(spec.services.flatMap((s) => (s.mysql ? [s.mysql.user] : [])))];

    test("the primary holds the spec's users (and the replication user), each logging in with its Secret's password", () => {
      const r = execIn(
        "mysql-0",
        "mariadb",
        'read -r p; MYSQL_PWD="$p" mariadb -uroot -N -e "SELECT DISTINCT User FROM mysql.user"',
        root(),
      );
      expect(r.status).toBe(0);
      expect(r.out.split("\n")).toEqual(expect.arrayContaining([...users, "replicator", "root"]));
      for (const u of users) {
        const schema = spec.services.find((s) => s.mysql?.user === u)!.mysql!.schema;
        const login = execIn(
          "mysql-0",
          "mariadb",
          `read -r p; MYSQL_PWD="$p" mariadb -h127.0.0.1 -u${u} -N -e "USE ${schema}; SELECT 1"`,
          secret(mysqlUserSecret(u)),
        );
        expect([u, login.out]).toEqual([u, "1"]);
      }
      const wrong = execIn("mysql-0", "mariadb", `MYSQL_PWD=wrong mariadb -h127.0.0.1 -u${users[0]} -e "SELECT 1"`);
      expect(wrong.status).not.toBe(0);
    });

    (spec.data.mysql.readReplicas > 0 ? test : test.skip)(
      "a row written on the primary is read on every replica, which follows by GTID",
      async () => {
        const value = `row-${Date.now()}`;
        const w = execIn(
          "mysql-0",
          "mariadb",
          `read -r p; MYSQL_PWD="$p" mariadb -uroot -e "CREATE DATABASE IF NOT EXISTS realnode_check; CREATE TABLE IF NOT EXISTS realnode_check.t (v VARCHAR(64)); INSERT INTO realnode_check.t VALUES ('${value}')"`,
          root(),
        );
        expect(w.status).toBe(0);
        for (let i = 0; i < spec.data.mysql.readReplicas; i++) {
          const pod = `${NAMES.mysqlReplica}-${i}`;
          const q = `read -r p; MYSQL_PWD="$p" mariadb -uroot -N -e "SELECT COUNT(*) FROM realnode_check.t WHERE v = '${value}'"`;
          await until(`${value} on ${pod}`, () => execIn(pod, "mariadb", q, root()).out === "1", 60_000);
          const status = execIn(pod, "mariadb", 'read -r p; MYSQL_PWD="$p" mariadb -uroot -e "SHOW SLAVE STATUS\\G"', root()).out;
          expect(status).toMatch(/Using_Gtid: Slave_Pos/);
          expect(status).toMatch(/Slave_SQL_Running: Yes/);
        }
      },
    );
  });

  const nginx = spec.edge.nginx;
  (nginx ? describe : describe.skip)("nginx through its LoadBalancer address, from the host", () => {
    const address = () => kubectl("get", "svc", NAMES.nginx, "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}");
    const curl = (...args: string[]) => spawnSync("curl", ["-s", "--max-time", "10", ...args], { encoding: "utf8" });

    test("answers /healthz and proxies / to the app", async () => {
      const ip = address();
      expect(ip).toMatch(/^10\.250\.1\.\d+$/);
      await until("nginx /healthz", () => curl(`http://${ip}/healthz`).stdout.trim() === "ok", 30_000);
      const r = curl("-o", "/dev/null", "-w", "%{http_code}", `http://${ip}/healthz/app`);
      console.info(`GET /healthz/app through nginx: ${r.stdout}`);
      const home = curl("-o", "/dev/null", "-w", "%{http_code}", `http://${ip}/`);
      // Any answer from Django (not nginx's 502/504) proves the upstream path.
      expect(["502", "503", "504", "000"]).not.toContain(home.stdout);
    });

    (spec.push?.kind === "nchan" ? test : test.skip)(
      "nchan: a message published inside the cluster reaches a subscriber at the LB address",
      async () => {
        const push = spec.push as { subscriberPath: string; publisherPath: string };
        const ip = address();
        const web = pods().find((p) => p.metadata.labels?.["app.kubernetes.io/name"] === spec.services[0].name)!;
        /** One try: a long-poll subscriber from the host through the LB, then a publish from a web pod. */
        const attempt = async (): Promise<string> => {
          const channel = `realnode-${Date.now()}`;
          const body = `hello-${channel}`;
          const sub = spawn("curl", [
            "-s",
            "--max-time",
            "20",
            "-H",
            "Accept: text/plain",
            `http://${ip}${push.subscriberPath}/${channel}`,
          ]);
          let got = "";
          sub.stdout.on("data", (d) => (got += d));
          const done = new Promise((r) => sub.on("close", r));
          await new Promise((r) => setTimeout(r, 1500));
          // The NetworkPolicies let the app reach nginx's internal port, where publishing is allowed.
          const url = `http://${NAMES.nginxInternal}.${ns}.svc.cluster.local:${PORTS.nginxInternal}${push.publisherPath}/${channel}`;
          const py = `import urllib.request; urllib.request.urlopen(urllib.request.Request(${JSON.stringify(url)}, data=${JSON.stringify(body)}.encode(), method="POST"), timeout=10)`;
          const pub = execIn(web.metadata.name, web.spec.containers[0].name, `python -c '${py}'`);
          await done;
          return pub.status === 0 && got.includes(body)
            ? "delivered"
            : `publish ${pub.status} ${pub.out.slice(-160)}; subscriber got '${got.slice(0, 160)}'`;
        };
        // nchan reconnects to Redis on its own schedule (after Redis's pod was replaced, say): a bounded retry.
        let last = "";
        const deadline = Date.now() + 90_000;
        for (let i = 1; last !== "delivered" && Date.now() < deadline; i++) {
          last = await attempt();
          if (last !== "delivered") {
            console.info(`nchan attempt ${i}: ${last}`);
            await new Promise((r) => setTimeout(r, 3000));
          }
        }
        expect(last).toBe("delivered");
      },
    );
  });

  describe("Redis", () => {
    const pw = () => secret("redis-credentials");
    test("refuses a client without the password, answers one with it; AOF on", async () => {
      // Right after an up the pod may be new and still loading its AOF: wait for it to answer first.
      await until(
        "redis answers",
        () => execIn("redis-0", "redis", 'read -r p; REDISCLI_AUTH="$p" redis-cli ping', pw()).out === "PONG",
        60_000,
      );
      expect(execIn("redis-0", "redis", "redis-cli ping").out).toMatch(/NOAUTH/);
      expect(execIn("redis-0", "redis", 'read -r p; REDISCLI_AUTH="$p" redis-cli ping', pw()).out).toBe("PONG");
      expect(execIn("redis-0", "redis", 'read -r p; REDISCLI_AUTH="$p" redis-cli config get appendonly', pw()).out).toBe("appendonly\nyes");
    });

    test("a key survives the pod's deletion (AOF on the claim)", async () => {
      const value = `v-${Date.now()}`;
      expect(execIn("redis-0", "redis", `read -r p; REDISCLI_AUTH="$p" redis-cli set realnode:check ${value}`, pw()).out).toBe("OK");
      // appendfsync everysec: give the write its second.
      await new Promise((r) => setTimeout(r, 1500));
      const uid = kubectl("get", "pod", "redis-0", "-o", "jsonpath={.metadata.uid}");
      kubectl("delete", "pod", "redis-0", "--wait=true");
      await until(
        "redis-0 back and Ready",
        () => {
          const r = kubectlRun(["get", "pod", "redis-0", "-o", "jsonpath={.metadata.uid} {.status.conditions[?(@.type=='Ready')].status}"]);
          return r.status === 0 && !r.stdout.startsWith(uid) && r.stdout.endsWith("True");
        },
        180_000,
      );
      expect(execIn("redis-0", "redis", 'read -r p; REDISCLI_AUTH="$p" redis-cli get realnode:check', pw()).out).toBe(value);
    });
  });

  const etcd = spec.data.etcd;
  (etcd ? describe : describe.skip)("etcd", () => {
    const etcdctl = (user: string, args: string) =>
      `read -r p; ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:${PORTS.etcdClient} --user=${user} --password="$p" ${args}`;
    test(`${etcd?.members} members, each committing a proposal (quorum), one leader`, () => {
      const rootPw = secret("etcd-root");
      const members = execIn("etcd-0", "etcd", etcdctl("root", "member list"), rootPw);
      expect(members.status).toBe(0);
      expect(members.out.split("\n").filter((l) => /started/.test(l))).toHaveLength(etcd!.members);
      // Each member asked on its own loopback: the NetworkPolicies (rightly) keep members off each
      // other's client port, so `endpoint health --cluster` from one member times out on the others.
      const leaders: string[] = [];
      for (let i = 0; i < etcd!.members; i++) {
        const health = execIn(`etcd-${i}`, "etcd", etcdctl("root", "endpoint health"), rootPw);
        expect([i, health.out]).toEqual([i, expect.stringMatching(/is healthy: successfully committed proposal/)]);
        const status = execIn(`etcd-${i}`, "etcd", etcdctl("root", "endpoint status -w json"), rootPw);
        leaders.push(String((JSON.parse(status.out) as { Status: { leader: number | string } }[])[0].Status.leader));
      }
      expect(new Set(leaders).size).toBe(1);
    });

    test("per-service auth: a service writes its own registry prefix and is refused outside it", () => {
      const plan = etcdAuthPlan(spec.services, DEFAULT_PREFIX_ROOT);
      const writer = spec.services.find((s) => s.kind === "rpc" && plan.users.some((u) => u.name === s.name));
      expect(writer).toBeDefined();
      const pw = secret(etcdUserSecret(writer!.name));
      const own = `${registryPrefix(writer!.name, DEFAULT_PREFIX_ROOT)}realnode-check`;
      expect(execIn("etcd-0", "etcd", etcdctl(writer!.name, `put ${own} ok`), pw).out).toBe("OK");
      const outside = execIn("etcd-0", "etcd", etcdctl(writer!.name, "put /outside/realnode-check no"), pw);
      expect(outside.status).not.toBe(0);
      expect(outside.out).toMatch(/permission denied/);
      expect(execIn("etcd-0", "etcd", etcdctl(writer!.name, `del ${own}`), pw).status).toBe(0);
    });
  });

  const shortUrl = spec.shortUrl;
  (shortUrl ? describe : describe.skip)("OpenResty short URLs backed by Redis", () => {
    test("a code stored in Redis answers 301 to its URL; an unknown code 404", async () => {
      const code = `rn${Date.now() % 100000}`;
      const url = `https://example.com/${code}`;
      const set = execIn(
        "redis-0",
        "redis",
        `read -r p; REDISCLI_AUTH="$p" redis-cli -n ${shortUrl!.redisDb} set ${SHORT_URL_KEY_PREFIX}${code} ${url}`,
        secret("redis-credentials"),
      );
      expect(set.out).toBe("OK");
      // port-forward reaches the pod through the kubelet (the NetworkPolicies admit only Kong, which cannot run here).
      const port = 18000 + (Date.now() % 1000);
      const pf = spawn(path.join(tools, "bin", "kubectl"), [
        "--kubeconfig",
        kubeconfig,
        "-n",
        ns,
        "port-forward",
        `svc/${NAMES.shortUrl}`,
        `${port}:${PORTS.shortUrl}`,
      ]);
      try {
        const head = (c: string) =>
          spawnSync(
            "curl",
            [
              "-s",
              "-o",
              "/dev/null",
              "--max-time",
              "5",
              "-w",
              "%{http_code} %{redirect_url}",
              `http://127.0.0.1:${port}${shortUrl!.route}/${c}`,
            ],
            { encoding: "utf8" },
          ).stdout;
        await until("short URL through port-forward", () => head(code) === `301 ${url}`, 30_000);
        expect(head("nosuchcode")).toMatch(/^404/);
      } finally {
        pf.kill();
      }
    });
  });
});
