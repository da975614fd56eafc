/**
 * The local cluster (scripts/cluster.sh): a real control plane with kwok nodes runs the kinds of
 * objects the stages create, to the point where the Pulumi provider's await logic is satisfied:
 * Deployment pods Ready, StatefulSet claims Bound, a Job's pod Succeeded, Services with Endpoints,
 * a LoadBalancer Service with an ingress address. Then `down` leaves no process behind.
 *
 * The test runs its own instance of the cluster (its own state dir and free ports, through the
 * script's STAGECRAFT_CLUSTER_* overrides), so it checks `up` and `down` end to end without
 * touching the default cluster that an engineer or another test worker may be using.
 *
 * The binaries come from scripts/cluster-tools.sh (scripts/test.sh runs it before jest); on a
 * machine without them the first `up` builds them, which takes minutes.
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { run } from "../lib/proc";
import { eventually, useFreeClusterPorts } from "../lib/testCluster";

const root = path.resolve(__dirname, "../..");
const state = path.join(root, `.tools/cluster-test-${process.pid}`);
const kubectlBin = path.join(process.env.STAGECRAFT_TOOLS || path.join(root, ".tools"), "bin/kubectl");
const env: NodeJS.ProcessEnv = { ...process.env, STAGECRAFT_CLUSTER_DIR: state, KUBECONFIG: path.join(state, "kubeconfig") };
const ns = "cluster-test";
const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"];

function cluster(cmd: "up" | "down" | "status", timeout = 120_000) {
  return spawnSync("bash", [path.join(root, "scripts/cluster.sh"), cmd], { cwd: root, env, encoding: "utf8", timeout });
}

function kubectl(...args: string[]): string {
  return run(kubectlBin, args, { env }).stdout.trim();
}

// Just the fields the assertions read.
interface Condition {
  type: string;
  status: string;
}
interface Obj {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}
interface Pod extends Obj {
  spec: { nodeName?: string };
  status: { phase: string; podIP?: string; conditions?: Condition[] };
}
interface Node extends Obj {
  status: { conditions: Condition[] };
}
interface Claim extends Obj {
  status: { phase: string };
}
const items = <T>(json: string): T[] => JSON.parse(json).items;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const manifests = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      topologySpreadConstraints:
        - { maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: { matchLabels: { app: web } } }
      containers:
        - name: web
          image: nginx:1.27
          ports: [{ containerPort: 80 }]
          resources: { requests: { cpu: 100m, memory: 64Mi } }
          readinessProbe: { httpGet: { path: /, port: 80 } }
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 80 }]
---
apiVersion: v1
kind: Service
metadata: { name: web-lb }
spec:
  type: LoadBalancer
  selector: { app: web }
  ports: [{ port: 80, targetPort: 80 }]
---
apiVersion: v1
kind: Service
metadata: { name: db }
spec:
  clusterIP: None
  selector: { app: db }
  ports: [{ port: 3306 }]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db }
spec:
  serviceName: db
  replicas: 2
  selector: { matchLabels: { app: db } }
  template:
    metadata: { labels: { app: db } }
    spec:
      containers:
        - name: db
          image: mysql:8.4
          volumeMounts: [{ name: data, mountPath: /var/lib/mysql }]
  volumeClaimTemplates:
    - metadata: { name: data }
      spec:
        accessModes: [ReadWriteOnce]
        resources: { requests: { storage: 5Gi } }
---
apiVersion: batch/v1
kind: Job
metadata: { name: migrate }
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: migrate, image: busybox:1.36, command: ["true"] }]
`;

describe("local cluster (scripts/cluster.sh)", () => {
  beforeAll(async () => {
    await useFreeClusterPorts(env);
    const r = cluster("up", 50 * 60_000);
    if (r.status !== 0) throw new Error(`cluster up failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }, 55 * 60_000);

  // Whatever failed, no process of this instance outlives the test (a no-op after the `down` test).
  afterAll(() => {
    cluster("down");
    fs.rmSync(`${state}.lock`, { force: true });
  });

  test(
    "`up` is idempotent and reports a real version (pulumi-kubernetes refuses v0.0)",
    () => {
      const r = cluster("up", 10 * 60_000);
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/kube-apiserver: already running/);
      expect(r.stderr).toContain(`the cluster in ${state} is already up (`);
      const version = JSON.parse(kubectl("version", "-o", "json")).serverVersion;
      expect(version.major).toBe("1");
      expect(Number(version.minor)).toBeGreaterThanOrEqual(31);
      expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    },
    10 * 60_000,
  );

  test("three Ready fake nodes, one per zone; a default StorageClass", () => {
    const nodes = items<Node>(kubectl("get", "nodes", "-o", "json"));
    const ready = nodes.filter((n) => n.status.conditions.some((c) => c.type === "Ready" && c.status === "True"));
    expect(ready).toHaveLength(3);
    expect(new Set(nodes.map((n) => n.metadata.labels?.["topology.kubernetes.io/zone"])).size).toBe(3);
    const sc = JSON.parse(kubectl("get", "storageclass", "standard", "-o", "json"));
    expect(sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"]).toBe("true");
  });

  test(
    "Deployment, StatefulSet, Job and Services reach the states Pulumi awaits",
    async () => {
      kubectl("create", "namespace", ns);
      await eventually("default ServiceAccount", () => kubectl("-n", ns, "get", "serviceaccount", "default") || undefined, 60_000);
      run(kubectlBin, ["-n", ns, "apply", "-f", "-"], { env, input: manifests });

      kubectl("-n", ns, "wait", "--for=condition=Available", "deployment/web", "--timeout=120s");
      kubectl("-n", ns, "rollout", "status", "statefulset/db", "--timeout=180s");
      kubectl("-n", ns, "wait", "--for=condition=Complete", "job/migrate", "--timeout=120s");

      // Every long-running pod Running and Ready, spread over the zones.
      const pods = items<Pod>(kubectl("-n", ns, "get", "pods", "-l", "app in (web,db)", "-o", "json"));
      expect(pods).toHaveLength(4);
      for (const p of pods) {
        expect(p.status.phase).toBe("Running");
        expect(p.status.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
        expect(p.status.podIP).toBeTruthy();
      }
      const web = pods.filter((p) => p.metadata.labels?.app === "web");
      const webNodes = web.map((p) => p.spec.nodeName);
      expect(new Set(webNodes).size).toBe(2);

      // The StatefulSet's claims bound to the pre-created volumes (WaitForFirstConsumer).
      const pvcs = items<Claim>(kubectl("-n", ns, "get", "pvc", "-o", "json"));
      expect(pvcs.map((c) => [c.metadata.name, c.status.phase]).sort()).toEqual([
        ["data-db-0", "Bound"],
        ["data-db-1", "Bound"],
      ]);

      // The Job's pod ran to completion (kwok's pod-complete stage).
      const jobPods = items<Pod>(kubectl("-n", ns, "get", "pods", "-l", "job-name=migrate", "-o", "json"));
      expect(jobPods.map((p) => p.status.phase)).toEqual(["Succeeded"]);

      // Endpoints (what the provider's Service await reads) list both web pods.
      const ips = await eventually("web endpoints", () => {
        const v = kubectl("-n", ns, "get", "endpoints", "web", "-o", "jsonpath={.subsets[*].addresses[*].ip}").split(/\s+/).filter(Boolean);
        return v.length === 2 ? v : undefined;
      });
      expect(ips.sort()).toEqual(web.map((p) => p.status.podIP).sort());

      // A LoadBalancer Service gets an ingress address (kwok's service-load-balancer stage).
      const lb = await eventually("LoadBalancer ingress", () => {
        const v = kubectl("-n", ns, "get", "service", "web-lb", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}");
        return v || undefined;
      });
      expect(lb).toBe("127.0.0.1");
    },
    10 * 60_000,
  );

  test(
    "a deleted claim's volume goes back to the pool",
    async () => {
      const pv = kubectl("-n", ns, "get", "pvc", "data-db-1", "-o", "jsonpath={.spec.volumeName}");
      kubectl("-n", ns, "scale", "statefulset/db", "--replicas=1");
      kubectl("-n", ns, "wait", "--for=delete", "pod/db-1", "--timeout=60s");
      kubectl("-n", ns, "delete", "pvc", "data-db-1", "--timeout=60s");
      await eventually(`${pv} Available again`, () =>
        kubectl("get", "pv", pv, "-o", "jsonpath={.status.phase}") === "Available" ? true : undefined,
      );
    },
    5 * 60_000,
  );

  test("a second cluster on the same ports (another clone's) is refused before it starts anything, naming this one and the fix", () => {
    const other = `${state}-other`;
    const r = spawnSync("bash", [path.join(root, "scripts/cluster.sh"), "up"], {
      cwd: root,
      env: { ...env, STAGECRAFT_CLUSTER_DIR: other, KUBECONFIG: path.join(other, "kubeconfig") },
      encoding: "utf8",
      timeout: 120_000,
    });
    fs.rmSync(`${other}.lock`, { force: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`cannot start the cluster in ${other}; nothing was started.`);
    expect(r.stderr).toContain(
      `are held by the cluster in ${state}. Fix: stop it (STAGECRAFT_CLUSTER_DIR=${state} npm run cluster -- down`,
    );
    expect(r.stderr).toContain(`STAGECRAFT_CLUSTER_API_PORT=<a free port>`);
    expect(fs.existsSync(other)).toBe(false);
  });

  test(
    "after a crash (every process killed), `up` names the dead PID files, drops them and starts the cluster again",
    async () => {
      const before = COMPONENTS.map((c) => Number(fs.readFileSync(path.join(state, "pids", `${c}.pid`), "utf8")));
      for (const pid of before) process.kill(pid, "SIGKILL");
      await eventually("the killed processes gone", () => (before.some(alive) ? undefined : true), 30_000, 100);
      const r = cluster("up", 10 * 60_000);
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/a previous run left PID files of processes that are gone \(etcd \d+, kube-apiserver \d+/);
      const after = COMPONENTS.map((c) => Number(fs.readFileSync(path.join(state, "pids", `${c}.pid`), "utf8")));
      expect(after.every(alive)).toBe(true);
      expect(after.filter((p) => before.includes(p))).toEqual([]);
      // The cluster's data survived in etcd: the namespace made above is still there.
      expect(kubectl("get", "namespace", ns, "-o", "name")).toBe(`namespace/${ns}`);
    },
    10 * 60_000,
  );

  test(
    "`down` stops every process it started and removes the state",
    () => {
      const pids = COMPONENTS.map((c) => Number(fs.readFileSync(path.join(state, "pids", `${c}.pid`), "utf8")));
      expect(pids.every(alive)).toBe(true);
      const r = cluster("down");
      expect(r.status).toBe(0);
      expect(pids.filter(alive)).toEqual([]);
      expect(fs.existsSync(state)).toBe(false);
      expect(cluster("status").status).not.toBe(0);
    },
    2 * 60_000,
  );
});
