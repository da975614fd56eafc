import {
  assignAddresses,
  planVolumes,
  poolAddresses,
  PROVISIONER,
  type Claim,
  type Service,
  type Volume,
} from "../../../../../scripts/cluster/node/controller";

test("pool addresses skip network and broadcast; bad pools are refused", () => {
  const p = poolAddresses("10.250.1.0/24");
  expect(p[0]).toBe("10.250.1.1");
  expect(p[p.length - 1]).toBe("10.250.1.254");
  expect(p).toHaveLength(254);
  expect(poolAddresses("10.250.1.4/30")).toEqual(["10.250.1.5", "10.250.1.6"]);
  expect(() => poolAddresses("10.250.1.0")).toThrow(/not an IPv4 CIDR/);
  expect(() => poolAddresses("10.0.0.0/8")).toThrow(/\/16 to \/30/);
});

const svc = (ns: string, name: string, type: string, ip?: string, extra: Partial<Service["spec"]> = {}): Service => ({
  metadata: { namespace: ns, name },
  spec: { type, ...extra },
  status: ip ? { loadBalancer: { ingress: [{ ip }] } } : {},
});

test("LoadBalancer Services without an address get the lowest free one; others untouched", () => {
  const pool = poolAddresses("10.250.1.0/29");
  const out = assignAddresses(
    [
      svc("a", "web", "LoadBalancer", "10.250.1.1"),
      svc("b", "nginx", "LoadBalancer"),
      svc("a", "edge", "LoadBalancer"),
      svc("a", "db", "ClusterIP"),
      svc("a", "other", "LoadBalancer", undefined, { loadBalancerClass: "x/y" }),
    ],
    pool,
  );
  expect(out).toEqual([
    { namespace: "a", name: "edge", ip: "10.250.1.2" },
    { namespace: "b", name: "nginx", ip: "10.250.1.3" },
  ]);
});

test("an exhausted pool leaves the rest pending", () => {
  expect(assignAddresses([svc("a", "x", "LoadBalancer"), svc("a", "y", "LoadBalancer")], ["10.0.0.1"])).toEqual([
    { namespace: "a", name: "x", ip: "10.0.0.1" },
  ]);
});

const claim = (name: string, annotations: Record<string, string>, phase = "Pending"): Claim => ({
  metadata: { namespace: "ns", name, uid: `uid-${name}`, annotations },
  spec: { storageClassName: "standard", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "5Gi" } } },
  status: { phase },
});

test("a claim handed to us after scheduling gets a directory and a PV pre-bound to it on the chosen node", () => {
  const ours = { "volume.kubernetes.io/storage-provisioner": PROVISIONER, "volume.kubernetes.io/selected-node": "stagecraft-node" };
  const actions = planVolumes(
    [
      claim("data-0", ours),
      claim("not-scheduled", { "volume.kubernetes.io/storage-provisioner": PROVISIONER }),
      claim("other", { ...ours, "volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com" }),
      claim("bound", ours, "Bound"),
    ],
    [],
    "/v",
  );
  expect(actions).toHaveLength(1);
  expect(actions[0]).toMatchObject({
    kind: "create",
    dir: "/v/ns_data-0_uid-data-0",
    pv: {
      metadata: { name: "pvc-uid-data-0" },
      spec: {
        storageClassName: "standard",
        capacity: { storage: "5Gi" },
        persistentVolumeReclaimPolicy: "Delete",
        claimRef: { namespace: "ns", name: "data-0", uid: "uid-data-0" },
        hostPath: { path: "/v/ns_data-0_uid-data-0" },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["stagecraft-node"] }] }],
          },
        },
      },
    },
  });
});

test("no second PV while the first is being bound", () => {
  const ours = { "volume.kubernetes.io/storage-provisioner": PROVISIONER, "volume.kubernetes.io/selected-node": "n" };
  const pv: Volume = { metadata: { name: "pvc-uid-a" }, spec: { claimRef: { uid: "uid-a" } }, status: { phase: "Available" } };
  expect(planVolumes([claim("a", ours)], [pv], "/v")).toEqual([]);
});

test("released volumes of ours are deleted with their directory; others and paths outside the root are not", () => {
  const mk = (name: string, dir: string, phase: string, by = PROVISIONER): Volume => ({
    metadata: { name, annotations: { "pv.kubernetes.io/provisioned-by": by } },
    spec: { hostPath: { path: dir } },
    status: { phase },
  });
  expect(
    planVolumes(
      [],
      [
        mk("a", "/v/ns_a_1", "Released"),
        mk("b", "/v/ns_b_2", "Bound"),
        mk("c", "/etc", "Released"),
        mk("d", "/v/ns_d_3", "Released", "other"),
      ],
      "/v",
    ),
  ).toEqual([{ kind: "delete", dir: "/v/ns_a_1", name: "a" }]);
});
