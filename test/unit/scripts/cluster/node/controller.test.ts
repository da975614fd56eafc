import {
  assignAddresses,
  planLocalMoves,
  planLostVolumes,
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
        local: { path: "/v/ns_data-0_uid-data-0" },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["stagecraft-node"] }] }],
          },
        },
      },
    },
  });
});

test("the new PV is a local one (the kubelet applies fsGroup to it), never hostPath (it never does)", () => {
  const ours = { "volume.kubernetes.io/storage-provisioner": PROVISIONER, "volume.kubernetes.io/selected-node": "n" };
  const [a] = planVolumes([claim("data-0", ours)], [], "/v");
  expect(a.kind === "create" && (a.pv.spec as Record<string, unknown>).hostPath).toBeUndefined();
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
    ).filter((x) => x.kind === "delete"),
  ).toEqual([{ kind: "delete", dir: "/v/ns_a_1", name: "a" }]);
});

test("released local volumes of ours are deleted with their directory too", () => {
  const v: Volume = {
    metadata: { name: "a", annotations: { "pv.kubernetes.io/provisioned-by": PROVISIONER } },
    spec: { local: { path: "/v/ns_a_1" } },
    status: { phase: "Released" },
  };
  expect(planVolumes([], [v], "/v")).toEqual([{ kind: "delete", dir: "/v/ns_a_1", name: "a" }]);
});

describe("planLocalMoves: our hostPath PVs of an older cluster become local PVs over the same directory", () => {
  const affinity = {
    required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["n"] }] }] },
  };
  const hostPathPv = (name: string, dir: string, phase: string, by = PROVISIONER): Volume => ({
    metadata: { name, annotations: { "pv.kubernetes.io/provisioned-by": by } },
    spec: {
      storageClassName: "standard",
      capacity: { storage: "5Gi" },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Delete",
      volumeMode: "Filesystem",
      claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: "ns", name: `data-${name}`, uid: `uid-${name}` },
      hostPath: { path: dir, type: "DirectoryOrCreate" },
      nodeAffinity: affinity,
    },
    status: { phase },
  });

  it("keeps name, claim (uid included), class, size, access, reclaim policy and node; swaps hostPath for local", () => {
    expect(planLocalMoves([hostPathPv("a", "/v/ns_a_1", "Bound")], "/v")).toEqual([
      {
        kind: "to-local",
        name: "a",
        pv: {
          apiVersion: "v1",
          kind: "PersistentVolume",
          metadata: { name: "a", annotations: { "pv.kubernetes.io/provisioned-by": PROVISIONER } },
          spec: {
            storageClassName: "standard",
            capacity: { storage: "5Gi" },
            accessModes: ["ReadWriteOnce"],
            persistentVolumeReclaimPolicy: "Delete",
            volumeMode: "Filesystem",
            claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: "ns", name: "data-a", uid: "uid-a" },
            local: { path: "/v/ns_a_1" },
            nodeAffinity: affinity,
          },
        },
      },
    ]);
  });

  it("leaves alone: local PVs, others' PVs, paths outside the root, and released ones (deleted instead)", () => {
    const local: Volume = { ...hostPathPv("b", "/v/ns_b_2", "Bound"), spec: { local: { path: "/v/ns_b_2" } } };
    const moves = planLocalMoves(
      [local, hostPathPv("c", "/v/ns_c_3", "Bound", "other"), hostPathPv("d", "/etc", "Bound"), hostPathPv("e", "/v/ns_e_5", "Released")],
      "/v",
    );
    expect(moves).toEqual([]);
  });

  it("runs in every reconcile: planVolumes plans the move too", () => {
    expect(planVolumes([], [hostPathPv("a", "/v/ns_a_1", "Available")], "/v").map((x) => x.kind)).toEqual(["to-local"]);
  });
});

describe("planLostVolumes: a Lost claim of ours gets its PV back over its directory", () => {
  const ours = { "volume.kubernetes.io/storage-provisioner": PROVISIONER, "volume.kubernetes.io/selected-node": "n" };
  const lost = (name: string, annotations = ours): Claim => {
    const c = claim(name, annotations, "Lost");
    return { ...c, spec: { ...c.spec, volumeName: `pvc-uid-${name}` } };
  };
  const here = (dirs: string[]) => (d: string) => dirs.includes(d);

  it("makes the PV again under its name, bound to the same claim, over the claim's directory", () => {
    const [a] = planLostVolumes([lost("data-0")], [], "/v", here(["/v/ns_data-0_uid-data-0"]));
    expect(a.kind).toBe("restore");
    if (a.kind !== "restore") return;
    expect(a.name).toBe("pvc-uid-data-0");
    expect(a.pv.metadata).toEqual({ name: "pvc-uid-data-0", annotations: { "pv.kubernetes.io/provisioned-by": PROVISIONER } });
    const spec = a.pv.spec as Record<string, unknown>;
    expect(spec.local).toEqual({ path: "/v/ns_data-0_uid-data-0" });
    expect(spec.claimRef).toMatchObject({ namespace: "ns", name: "data-0", uid: "uid-data-0" });
  });

  it("leaves alone: a claim whose directory is gone, whose PV exists, that is not Lost, or not ours", () => {
    const dir = ["/v/ns_data-0_uid-data-0"];
    expect(planLostVolumes([lost("data-0")], [], "/v", here([]))).toEqual([]);
    const pv: Volume = { metadata: { name: "pvc-uid-data-0" }, spec: {}, status: { phase: "Bound" } };
    expect(planLostVolumes([lost("data-0")], [pv], "/v", here(dir))).toEqual([]);
    expect(planLostVolumes([{ ...lost("data-0"), status: { phase: "Bound" } }], [], "/v", here(dir))).toEqual([]);
    expect(
      planLostVolumes([lost("data-0", { ...ours, "volume.kubernetes.io/storage-provisioner": "other" })], [], "/v", here(dir)),
    ).toEqual([]);
  });
});
