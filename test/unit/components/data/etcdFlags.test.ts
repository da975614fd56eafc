/**
 * etcdArgs / etcdStatefulSetArgs: static bootstrap flags for every member, validated input,
 * and the StatefulSet form equal to the per-ordinal form once the kubelet expands $(POD_NAME).
 */
import * as path from "path";
import {
  etcdArgs,
  etcdPdbMinAvailable,
  etcdQuorum,
  etcdQuotaForStorage,
  etcdStatefulSetArgs,
  type EtcdArgsInput,
} from "../../../../components/data/etcdFlags";
import { validateStack } from "../../../../validate/validateStack";
import { ROOT } from "../../../lib/paths";
import { readStackFile } from "../../../../spec/stackFile";

const stacks = path.join(ROOT, "stacks");
const etcdOf = (stage: string) => {
  const { stack, raw } = readStackFile(path.join(stacks, `Pulumi.${stage}.yaml`));
  const etcd = validateStack(stack, raw).spec.data.etcd;
  if (!etcd) throw new Error(`stack ${stage} has no etcd`);
  return etcd;
};

const k8s = (members: number, ordinal: number): EtcdArgsInput => ({
  members,
  ordinal,
  name: (i) => `etcd-${i}`,
  peerUrl: (i) => `http://etcd-${i}.etcd.stagecraft.svc.cluster.local:2380`,
  clientUrl: (i) => `http://etcd-${i}.etcd.stagecraft.svc.cluster.local:2379`,
  listenPeer: "http://0.0.0.0:2380",
  listenClient: "http://0.0.0.0:2379",
  dataDir: "/var/lib/etcd",
  clusterToken: "stagecraft-stagecraft-etcd",
});

/** `--flag=value` list to a map; fails on a flag given twice (etcd would take the last silently). */
function flags(args: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const a of args) {
    const match = /^--([a-z-]+)=(.*)$/.exec(a);
    if (!match) throw new Error(`not a --flag=value: ${a}`);
    if (m.has(match[1])) throw new Error(`flag --${match[1]} given twice`);
    m.set(match[1], match[2]);
  }
  return m;
}

describe("etcdArgs from the stacks", () => {
  const cases = ["micro", "ddd"].flatMap((stage) => {
    const members = etcdOf(stage).members;
    return Array.from({ length: members }, (_, ordinal) => [stage, members, ordinal] as const);
  });
  test.each(cases)("stack %s: %i members, ordinal %i", (_stage, members, ordinal) => {
    const f = flags(etcdArgs(k8s(members, ordinal)));
    expect(f.get("name")).toBe(`etcd-${ordinal}`);
    expect(f.get("initial-cluster")).toBe(
      Array.from({ length: members }, (_, i) => `etcd-${i}=http://etcd-${i}.etcd.stagecraft.svc.cluster.local:2380`).join(","),
    );
    expect(f.get("initial-cluster-state")).toBe("new");
    expect(f.get("initial-cluster-token")).toBe("stagecraft-stagecraft-etcd");
    expect(f.get("initial-advertise-peer-urls")).toBe(`http://etcd-${ordinal}.etcd.stagecraft.svc.cluster.local:2380`);
    expect(f.get("advertise-client-urls")).toBe(`http://etcd-${ordinal}.etcd.stagecraft.svc.cluster.local:2379`);
    expect(f.get("listen-client-urls")).toBe("http://0.0.0.0:2379");
    expect(f.get("listen-peer-urls")).toBe("http://0.0.0.0:2380");
    expect(f.get("data-dir")).toBe("/var/lib/etcd");
    expect(f.get("heartbeat-interval")).toBe("100");
    expect(f.get("election-timeout")).toBe("1000");
    expect(f.get("auto-compaction-mode")).toBe("periodic");
    expect(f.get("auto-compaction-retention")).toBe("1h");
    expect(f.get("quota-backend-bytes")).toBe(String(2 * 1024 ** 3));
    expect(f.has("listen-metrics-urls")).toBe(false);
  });

  test("quota sized from the stack's volume", () => {
    const etcd = etcdOf("micro");
    const f = flags(etcdArgs({ ...k8s(3, 0), tuning: { quotaBackendBytes: etcdQuotaForStorage(etcd.storage) } }));
    expect(f.get("quota-backend-bytes")).toBe(String(2.5 * 1024 ** 3)); // 5Gi volume -> half
  });
});

describe("etcdArgs variants", () => {
  test("a single member lists only itself", () => {
    expect(flags(etcdArgs(k8s(1, 0))).get("initial-cluster")).toBe("etcd-0=http://etcd-0.etcd.stagecraft.svc.cluster.local:2380");
  });
  test("metrics listener and tuning are rendered", () => {
    const f = flags(
      etcdArgs({
        ...k8s(5, 4),
        listenMetrics: "http://0.0.0.0:2381",
        tuning: { heartbeatMs: 250, electionMs: 2500, compactionRetention: "30m", snapshotCount: 5000 },
      }),
    );
    expect(f.get("listen-metrics-urls")).toBe("http://0.0.0.0:2381");
    expect([f.get("heartbeat-interval"), f.get("election-timeout"), f.get("auto-compaction-retention"), f.get("snapshot-count")]).toEqual([
      "250",
      "2500",
      "30m",
      "5000",
    ]);
  });
  test("same input, same output (the pod spec must not churn)", () => {
    expect(etcdArgs(k8s(3, 1))).toEqual(etcdArgs(k8s(3, 1)));
  });

  const bad: [string, Partial<EtcdArgsInput>, RegExp][] = [
    ["even member count", { members: 2 }, /must be a positive odd number/],
    ["zero members", { members: 0, ordinal: 0 }, /positive odd/],
    ["ordinal past the end", { ordinal: 3 }, /ordinal must be in 0\.\.2/],
    ["negative ordinal", { ordinal: -1 }, /ordinal/],
    ["duplicate names", { name: () => "etcd" }, /used twice/],
    ["duplicate peer URLs", { peerUrl: () => "http://etcd:2380" }, /used twice/],
    ["name with a comma", { name: (i) => `e,${i}` }, /may not contain/],
    ["peer URL without port", { peerUrl: (i) => `http://etcd-${i}` }, /not an http/],
    ["client URL garbage", { clientUrl: () => "etcd:2379" }, /not an http/],
    ["empty listen", { listenClient: "" }, /listenClient is empty/],
    ["relative data dir", { dataDir: "data" }, /absolute path/],
    ["token with a space", { clusterToken: "a b" }, /clusterToken/],
    ["election below 5x heartbeat", { tuning: { heartbeatMs: 100, electionMs: 400 } }, /at least 5 x heartbeatMs/],
    ["quota over 8 GiB", { tuning: { quotaBackendBytes: 9 * 1024 ** 3 } }, /quotaBackendBytes/],
    ["retention not a duration", { tuning: { compactionRetention: "1 day" } }, /compactionRetention/],
  ];
  test.each(bad)("refuses %s", (_what, change, message) => {
    expect(() => etcdArgs({ ...k8s(3, 1), ...change })).toThrow(message);
  });
});

describe("etcdStatefulSetArgs", () => {
  test.each([1, 3, 5])("with %i members equals etcdArgs per ordinal once $(POD_NAME) is expanded", (members) => {
    const sts = etcdStatefulSetArgs({
      members,
      statefulSet: "etcd",
      service: "etcd",
      namespace: "stagecraft",
      peerPort: 2380,
      clientPort: 2379,
      dataDir: "/var/lib/etcd",
      clusterToken: "stagecraft-stagecraft-etcd",
    });
    for (let i = 0; i < members; i++) expect(sts.map((a) => a.split("$(POD_NAME)").join(`etcd-${i}`))).toEqual(etcdArgs(k8s(members, i)));
  });
  test("a custom env var and a metrics port", () => {
    const f = flags(
      etcdStatefulSetArgs({
        members: 3,
        statefulSet: "etcd",
        service: "etcd",
        namespace: "ns",
        peerPort: 2380,
        clientPort: 2379,
        metricsPort: 2381,
        dataDir: "/d",
        clusterToken: "t",
        podNameEnv: "MY_POD",
      }),
    );
    expect(f.get("name")).toBe("$(MY_POD)");
    expect(f.get("listen-metrics-urls")).toBe("http://0.0.0.0:2381");
  });
  test("refuses an even count", () => {
    expect(() =>
      etcdStatefulSetArgs({
        members: 4,
        statefulSet: "etcd",
        service: "etcd",
        namespace: "ns",
        peerPort: 1,
        clientPort: 2,
        dataDir: "/d",
        clusterToken: "t",
      }),
    ).toThrow(/odd/);
  });
});

describe("quorum, PDB and quota", () => {
  test.each([
    [1, 1],
    [3, 2],
    [5, 3],
    [7, 4],
    [9, 5],
  ])("%i members: quorum and PDB minAvailable %i", (members, q) => {
    expect(etcdQuorum(members)).toBe(q);
    expect(etcdPdbMinAvailable(members)).toBe(q);
    // Losing what the PDB allows keeps a majority.
    expect(members - (members - q)).toBeGreaterThan(members / 2);
  });
  test("an even count has no PDB", () => expect(() => etcdPdbMinAvailable(4)).toThrow(/odd/));
  test.each([
    ["1Gi", 512 * 1024 ** 2],
    ["5Gi", 2.5 * 1024 ** 3],
    ["50Gi", 8 * 1024 ** 3],
    ["2Ti", 8 * 1024 ** 3],
    ["512Mi", 256 * 1024 ** 2],
  ])("quota for %s", (storage, bytes) => expect(etcdQuotaForStorage(storage)).toBe(bytes));
  test.each(["100Mi", "5G", ""])("refuses storage %p", (s) => expect(() => etcdQuotaForStorage(s)).toThrow());
});
