/**
 * The local cluster's real node (`scripts/cluster.sh up --real-node`): real containers, checked by
 * talking to them. Node Ready; CoreDNS answers cluster names from inside a pod; `kubectl exec` and
 * `logs` reach the kubelet; a claim gets a real directory that a pod writes to; a LoadBalancer
 * Service answers from the host at its address; Redis from the project's image answers PING only
 * with its password; MariaDB from the project's image, initialised by our own step, answers SQL;
 * a NetworkPolicy shuts out the pods it does not allow (kube-router). Then `down` leaves no process, mount, bridge, iptables chain or sysctl change.
 *
 * Opt-in (STAGECRAFT_REAL_NODE=1): it needs root, changes the host while it runs (a bridge,
 * iptables chains, cgroups, mounts; all undone by `down`), builds kubelet, kube-proxy and CoreDNS
 * (~15 + ~12 min cold on 2 cores) and the images, and only one real node runs per machine.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { workloadId } from "../../components/lib/workloadIds";
import { run } from "../lib/proc";
import { eventually, useFreeClusterPorts } from "../lib/testCluster";

const root = path.resolve(__dirname, "../..");
const enabled = process.env.STAGECRAFT_REAL_NODE === "1";
const suite = enabled ? describe : describe.skip;
// Short: containerd's socket lives under it (a unix socket path is at most 107 bytes).
const state = enabled ? fs.mkdtempSync(path.join(os.tmpdir(), "sc-node-")) : "/nonexistent";
const kubectlBin = path.join(process.env.STAGECRAFT_TOOLS || path.join(root, ".tools"), "bin/kubectl");
const env: NodeJS.ProcessEnv = { ...process.env, STAGECRAFT_CLUSTER_DIR: state, KUBECONFIG: path.join(state, "kubeconfig") };
const ns = "node-test";

const cluster = (...args: string[]) =>
  spawnSync("bash", [path.join(root, "scripts/cluster.sh"), ...args], { cwd: root, env, encoding: "utf8", timeout: 60 * 60_000 });
const kubectl = (...args: string[]) => run(kubectlBin, args, { env }).stdout.trim();
const kubectlIn = (input: string, ...args: string[]) => run(kubectlBin, args, { env, input }).stdout.trim();

const manifests = `
apiVersion: v1
kind: ConfigMap
metadata: { name: web }
data:
  nginx.conf: |
    pid /tmp/nginx.pid;
    events {}
    http {
      client_body_temp_path /tmp/body;
      proxy_temp_path /tmp/proxy;
      fastcgi_temp_path /tmp/fastcgi;
      uwsgi_temp_path /tmp/uwsgi;
      scgi_temp_path /tmp/scgi;
      access_log off;
      server { listen 8080; location / { return 200 "hello from $hostname\\n"; } }
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      securityContext: { runAsUser: ${workloadId("nginx")}, runAsNonRoot: true }
      containers:
        - name: nginx
          image: stagecraft.local/nginx-nchan:bookworm-2
          imagePullPolicy: Never
          command: [nginx, -e, stderr, -c, /etc/web/nginx.conf, -g, "daemon off;"]
          ports: [{ containerPort: 8080 }]
          readinessProbe: { httpGet: { path: /, port: 8080 }, periodSeconds: 2 }
          volumeMounts: [{ name: conf, mountPath: /etc/web }, { name: tmp, mountPath: /tmp }]
      volumes: [{ name: conf, configMap: { name: web } }, { name: tmp, emptyDir: {} }]
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  type: LoadBalancer
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Secret
metadata: { name: redis }
stringData: { password: node-test-password }
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: redis-data }
spec:
  accessModes: [ReadWriteOnce]
  resources: { requests: { storage: 1Gi } }
---
apiVersion: v1
kind: Pod
metadata: { name: redis }
spec:
  securityContext: { runAsUser: ${workloadId("redis")}, runAsGroup: ${workloadId("redis")}, fsGroup: ${workloadId("redis")} }
  containers:
    - name: redis
      image: stagecraft.local/redis:bookworm-2
      imagePullPolicy: Never
      command: [sh, -c, 'exec redis-server --requirepass "$PASSWORD" --appendonly yes --dir /data']
      env: [{ name: PASSWORD, valueFrom: { secretKeyRef: { name: redis, key: password } } }]
      volumeMounts: [{ name: data, mountPath: /data }]
  volumes: [{ name: data, persistentVolumeClaim: { claimName: redis-data } }]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: mariadb-data }
spec:
  accessModes: [ReadWriteOnce]
  resources: { requests: { storage: 1Gi } }
---
# MariaDB from the project's image, initialised by an init step of our own (mariadb-install-db),
# not by an image entrypoint: the image's data directory is empty.
apiVersion: v1
kind: Pod
metadata: { name: mariadb }
spec:
  securityContext: { runAsUser: ${workloadId("mysql")}, runAsGroup: ${workloadId("mysql")}, fsGroup: ${workloadId("mysql")} }
  initContainers:
    - name: init
      image: stagecraft.local/mariadb:bookworm-2
      imagePullPolicy: Never
      command: [sh, -c, 'test -d /var/lib/mysql/mysql || mariadb-install-db --datadir=/var/lib/mysql --skip-test-db --auth-root-authentication-method=socket --auth-root-socket-user=mysql']
      volumeMounts: [{ name: data, mountPath: /var/lib/mysql }]
  containers:
    - name: mariadb
      image: stagecraft.local/mariadb:bookworm-2
      imagePullPolicy: Never
      command: [mariadbd, --datadir=/var/lib/mysql, --socket=/run/mysqld/mysqld.sock, --bind-address=0.0.0.0]
      readinessProbe: { exec: { command: [mariadb-admin, --socket=/run/mysqld/mysqld.sock, ping] }, periodSeconds: 2 }
      volumeMounts: [{ name: data, mountPath: /var/lib/mysql }, { name: run, mountPath: /run/mysqld }]
  volumes:
    - { name: data, persistentVolumeClaim: { claimName: mariadb-data } }
    - { name: run, emptyDir: {} }
---
apiVersion: v1
kind: Pod
metadata: { name: allowed, labels: { role: allowed } }
spec:
  containers:
    - name: client
      image: docker.io/library/debian:bookworm-slim
      imagePullPolicy: Never
      command: [sleep, infinity]
---
apiVersion: v1
kind: Pod
metadata: { name: client }
spec:
  containers:
    - name: client
      image: docker.io/library/debian:bookworm-slim
      imagePullPolicy: Never
      command: [sh, -c, 'echo client up; exec sleep infinity']
`;

const SYSCTLS = ["kernel/panic", "kernel/panic_on_oops", "vm/overcommit_memory", "net/ipv4/ip_forward"];
const sysctls = () => Object.fromEntries(SYSCTLS.map((k) => [k, fs.readFileSync(`/proc/sys/${k}`, "utf8").trim()]));
let before: Record<string, string> = {};
let runContainerdBefore = true;

suite("real node (scripts/cluster.sh up --real-node)", () => {
  beforeAll(async () => {
    before = sysctls();
    runContainerdBefore = fs.existsSync("/run/containerd");
    await useFreeClusterPorts(env);
    const t0 = Date.now();
    const r = cluster("up", "--real-node");
    if (r.status !== 0) throw new Error(`cluster up --real-node failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    process.stderr.write(`[real-node] up in ${((Date.now() - t0) / 1000).toFixed(0)}s\n`);
    const images = spawnSync("npm", ["run", "-s", "images", "--", "build", "nginx-nchan", "redis", "mariadb"], {
      cwd: root,
      env,
      encoding: "utf8",
      timeout: 30 * 60_000,
    });
    if (images.status !== 0) throw new Error(`images build failed:\n${images.stderr}`);
    kubectl("create", "namespace", ns);
    await eventually("default ServiceAccount", () => kubectl("-n", ns, "get", "serviceaccount", "default") || undefined, 60_000);
    kubectlIn(manifests, "-n", ns, "apply", "-f", "-");
  }, 70 * 60_000);

  afterAll(() => {
    if (fs.existsSync(path.join(state, "logs")))
      fs.cpSync(path.join(state, "logs"), path.join(root, "artifacts", "real-node", "logs"), { recursive: true });
    cluster("down");
    fs.rmSync(`${state}.lock`, { force: true });
    fs.rmSync(state, { recursive: true, force: true });
  });

  test("the real node is Ready beside the tainted kwok nodes; CoreDNS is Ready", () => {
    const node = JSON.parse(kubectl("get", "node", "stagecraft-node", "-o", "json"));
    expect(node.status.conditions.find((c: { type: string }) => c.type === "Ready").status).toBe("True");
    expect(node.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\//);
    const fake = JSON.parse(kubectl("get", "nodes", "-l", "type=kwok", "-o", "json")).items;
    expect(fake.length).toBe(3);
    for (const n of fake) expect(n.spec.taints).toEqual([{ key: "stagecraft.local/fake", value: "true", effect: "NoSchedule" }]);
    expect(kubectl("-n", "kube-system", "get", "deployment", "coredns", "-o", "jsonpath={.status.readyReplicas}")).toBe("1");
  });

  test(
    "pods run real containers on the real node; exec and logs reach the kubelet; DNS resolves Services",
    async () => {
      kubectl("-n", ns, "wait", "--for=condition=Ready", "pod/client", "--timeout=180s");
      expect(kubectl("-n", ns, "get", "pod", "client", "-o", "jsonpath={.spec.nodeName}")).toBe("stagecraft-node");
      expect(kubectl("-n", ns, "logs", "client")).toBe("client up");
      expect(kubectl("-n", ns, "exec", "client", "--", "cat", "/etc/debian_version")).toMatch(/^12\./);
      // Through CoreDNS (kube-dns), as an application resolves its dependencies.
      const ip = await eventually(
        "DNS answer",
        () => kubectl("-n", ns, "exec", "client", "--", "getent", "hosts", `web.${ns}.svc.cluster.local`).split(/\s+/)[0] || undefined,
      );
      expect(ip).toBe(kubectl("-n", ns, "get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"));
      expect(kubectl("-n", ns, "exec", "client", "--", "getent", "hosts", "kubernetes.default")).toMatch(/^10\.96\.0\.1\s/);
    },
    5 * 60_000,
  );

  test(
    "a LoadBalancer Service answers from the host at its address",
    async () => {
      kubectl("-n", ns, "rollout", "status", "deployment/web", "--timeout=180s");
      const lb = await eventually(
        "LoadBalancer address",
        () => kubectl("-n", ns, "get", "service", "web", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}") || undefined,
      );
      expect(lb).toMatch(/^10\.250\.1\.\d+$/);
      const seen = new Set<string>();
      // kube-proxy may sync a moment after the endpoints are ready: retry within a bound.
      await eventually(
        "answers from both replicas",
        () => {
          const r = spawnSync("curl", ["-sf", "--max-time", "3", `http://${lb}/`], { encoding: "utf8" });
          if (r.status === 0) seen.add(r.stdout.trim());
          return seen.size === 2 ? true : undefined;
        },
        60_000,
      );
      for (const s of seen) expect(s).toMatch(/^hello from web-/);
    },
    5 * 60_000,
  );

  test(
    "Redis from the project's image on a provisioned volume: PING needs the password; the data is on the host",
    async () => {
      kubectl("-n", ns, "wait", "--for=condition=Ready", "pod/redis", "--timeout=180s");
      const cli = (...a: string[]) =>
        spawnSync(kubectlBin, ["-n", ns, "exec", "redis", "--", "redis-cli", ...a], { env, encoding: "utf8" });
      expect(cli("PING").stdout.trim()).toMatch(/NOAUTH/);
      expect(cli("-a", "node-test-password", "--no-auth-warning", "PING").stdout.trim()).toBe("PONG");
      expect(cli("-a", "node-test-password", "--no-auth-warning", "SET", "k", "v").stdout.trim()).toBe("OK");
      const pv = kubectl("-n", ns, "get", "pvc", "redis-data", "-o", "jsonpath={.spec.volumeName}");
      const dir = kubectl("get", "pv", pv, "-o", "jsonpath={.spec.hostPath.path}");
      expect(dir.startsWith(path.join(state, "node", "volumes"))).toBe(true);
      await eventually(
        "AOF on the host",
        () => (fs.readdirSync(dir, { recursive: true }).some((f) => String(f).includes("appendonly")) ? true : undefined),
        30_000,
      );
    },
    5 * 60_000,
  );

  test(
    "MariaDB from the project's image, initialised by our own step, answers a query",
    () => {
      kubectl("-n", ns, "wait", "--for=condition=Ready", "pod/mariadb", "--timeout=240s");
      const sql = (q: string) =>
        kubectl("-n", ns, "exec", "mariadb", "--", "mariadb", "--socket=/run/mysqld/mysqld.sock", "-umysql", "-N", "-e", q);
      sql("CREATE DATABASE t; CREATE TABLE t.x (v INT); INSERT INTO t.x VALUES (41), (1)");
      expect(sql("SELECT SUM(v) FROM t.x")).toBe("42");
      expect(sql("SELECT VERSION()")).toMatch(/MariaDB/);
    },
    5 * 60_000,
  );

  test(
    "NetworkPolicies are enforced (kube-router): only the allowed pod reaches the web pods",
    async () => {
      kubectl("-n", ns, "wait", "--for=condition=Ready", "pod/allowed", "pod/client", "--timeout=180s");
      const web = kubectl("-n", ns, "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].status.podIP}");
      // bash's /dev/tcp: the base image has no curl. Prints the status line, or the error.
      const get = (pod: string) =>
        spawnSync(
          kubectlBin,
          [
            "-n",
            ns,
            "exec",
            pod,
            "--",
            "bash",
            "-c",
            `exec 3<>/dev/tcp/${web}/8080 && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && timeout 3 head -n1 <&3`,
          ],
          { env, encoding: "utf8", timeout: 20_000 },
        );
      expect(get("client").stdout).toMatch(/200 OK/);
      kubectlIn(
        `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: web-from-allowed }
spec:
  podSelector: { matchLabels: { app: web } }
  policyTypes: [Ingress]
  ingress: [{ from: [{ podSelector: { matchLabels: { role: allowed } } }], ports: [{ port: 8080 }] }]
`,
        "-n",
        ns,
        "apply",
        "-f",
        "-",
      );
      await eventually("policy enforced", () => (get("client").status !== 0 ? true : undefined), 60_000);
      expect(get("client").stdout).not.toMatch(/200 OK/);
      expect(get("allowed").stdout).toMatch(/200 OK/);
    },
    5 * 60_000,
  );

  test(
    "`down` stops every process and undoes every host change",
    () => {
      const pidFiles = fs.readdirSync(path.join(state, "pids"));
      const pids = pidFiles.map((f) => Number(fs.readFileSync(path.join(state, "pids", f), "utf8")));
      expect(pidFiles.sort()).toEqual(
        [
          "containerd",
          "etcd",
          "kube-apiserver",
          "kube-controller-manager",
          "kube-proxy",
          "kube-router",
          "kube-scheduler",
          "kubelet",
          "kwok",
          "node-controller",
        ].map((n) => `${n}.pid`),
      );
      const r = cluster("down");
      expect(r.status).toBe(0);
      // Exited: gone, or a zombie waiting for init to reap it (they were not our children).
      const alive = pids.filter((p) => {
        try {
          const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
          return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
        } catch {
          return false;
        }
      });
      expect(alive).toEqual([]);
      expect(fs.readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(state);
      expect(run("ip", ["-o", "link", "show"]).stdout).not.toMatch(/stagecraft0|stagecraft-pod/);
      for (const table of ["filter", "nat", "mangle"]) expect(run("iptables", ["-t", table, "-S"]).stdout).not.toMatch(/KUBE-|CNI-/);
      expect(run("ipset", ["list", "-n"]).stdout).not.toMatch(/KUBE-|kube-router/);
      for (const h of fs.readdirSync("/sys/fs/cgroup")) expect(fs.existsSync(`/sys/fs/cgroup/${h}/stagecraft`)).toBe(false);
      expect(fs.existsSync(state)).toBe(false);
      expect(sysctls()).toEqual(before);
      if (!runContainerdBefore) expect(fs.existsSync("/run/containerd")).toBe(false);
    },
    3 * 60_000,
  );
});
