/**
 * The pre-flight's readers (scripts/preflight/cluster.ts) on recorded output: `kubectl get nodes` and
 * `get pods -A` from a KWOK cluster of scripts/cluster.sh (one node tainted as real-node mode taints
 * them, one cordoned; pods with init containers in another namespace and one in the stack's own),
 * and a `ctr images ls -q` listing in containerd's format (written by hand in that format, not recorded:
 * the only real node is the lead's and was not touched).
 */
import * as fs from "fs";
import * as path from "path";
import { parseCtrImages, parseNodes, podRequests, quantity } from "../../../../scripts/preflight/cluster";
import { ROOT } from "../../../lib/paths";

const fixture = (f: string) => fs.readFileSync(path.join(ROOT, "test/fixtures", f), "utf8");

test.each([
  ["2", 2],
  ["1500m", 1.5],
  ["0.5", 0.5],
  ["128Gi", 128 * 2 ** 30],
  ["24335232Ki", 24335232 * 1024],
  ["1G", 1e9],
  ["512M", 512e6],
  ["1e3", 1000],
  ["100u", 1e-4],
])("quantity(%s) = %d", (q, want) => expect(quantity(q)).toBeCloseTo(want, 9));

test("a bad quantity names itself", () => expect(() => quantity("2 cores")).toThrow(/'2 cores' is not a Kubernetes quantity/));

test("recorded nodes and pods: allocatable, taints, cordon, KWOK, and other namespaces' requests (init containers counted as the scheduler does)", () => {
  const nodes = parseNodes(fixture("kubectl/kwok-nodes.json"), fixture("kubectl/kwok-pods.json"), "stagecraft");
  const by = Object.fromEntries(nodes.map((n) => [n.name, n]));
  expect(Object.keys(by).sort()).toEqual(["stagecraft-a", "stagecraft-b", "stagecraft-c"]);
  for (const n of nodes) {
    expect(n.fake).toBe(true);
    expect(n.allocatable).toEqual({ cpuMilli: 32000, memoryMi: 128 * 1024 });
    expect(n.labels["topology.kubernetes.io/zone"]).toBe(`local-${n.name.slice(-1)}`);
  }
  expect(by["stagecraft-a"].schedulable).toBe(true);
  expect(by["stagecraft-b"].taints).toEqual([{ key: "stagecraft.local/fake", value: "true", effect: "NoSchedule" }]);
  expect(by["stagecraft-c"].schedulable).toBe(false);
  // busy (namespace other): containers 250m+100m, 128Mi+512Mi; init 1 CPU, 64Mi -> max(350m, 1000m), max(640Mi, 64Mi).
  expect(by["stagecraft-a"].used).toEqual({ cpuMilli: 1000, memoryMi: 640 });
  expect(by["stagecraft-b"].used).toEqual({ cpuMilli: 1000, memoryMi: 640 });
  // mine (namespace stagecraft, the stack's own: the up replaces it) is not counted.
  expect(by["stagecraft-c"].used).toEqual({ cpuMilli: 0, memoryMi: 0 });
});

test("finished pods hold no requests; overhead adds", () => {
  const pod = (phase: string) => ({
    metadata: { namespace: "x", name: "p" },
    spec: { nodeName: "n", containers: [{ resources: { requests: { cpu: "1" } } }], overhead: { cpu: "10m" } },
    status: { phase },
  });
  expect(podRequests(pod("Running"))).toEqual({ cpuMilli: 1010, memoryMi: 0 });
  const nodes = JSON.stringify({ items: [{ metadata: { name: "n" }, status: { allocatable: { cpu: "2", memory: "1Gi" } } }] });
  const pods = JSON.stringify({ items: [pod("Succeeded"), pod("Failed")] });
  expect(parseNodes(nodes, pods, "stagecraft")[0].used).toEqual({ cpuMilli: 0, memoryMi: 0 });
});

test("ctr images ls -q: image names, not the content digests the CRI also records", () => {
  expect(parseCtrImages(fixture("ctr/images-ls-q.txt"))).toEqual([
    "docker.io/library/debian:bookworm-slim",
    "stagecraft.local/backend:1.0.2",
    "stagecraft.local/coredns:1.12.4",
    "stagecraft.local/mariadb:bookworm-1",
    "stagecraft.local/nginx-nchan:bookworm-1",
    "stagecraft.local/pause:3.10",
    "stagecraft.local/redis:bookworm-1",
  ]);
});
