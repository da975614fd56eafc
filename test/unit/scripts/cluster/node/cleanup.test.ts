import {
  cleanupPlan,
  describe as describeStep,
  iptablesSweep,
  mountsUnder,
  splitRule,
  sysctlRestores,
  type Observed,
} from "../../../../../scripts/cluster/node/cleanup";

const mountinfo = [
  "22 1 0:21 / / rw - ext4 /dev/vda rw",
  "100 22 0:50 / /s/node/kubelet/pods/u1/volumes/kubernetes.io~secret/tok rw - tmpfs tmpfs rw",
  "101 22 0:51 / /s/node/containerd/state/io.containerd.runtime.v2.task/k8s.io/abc/rootfs rw - overlay overlay rw",
  "102 22 0:4 / /s/node/containerd/state/netns/cni-1 rw - nsfs nsfs rw",
  "103 22 0:52 / /s/node-other/x rw - tmpfs tmpfs rw",
  "104 22 0:53 / /s/node/with\\040space rw - tmpfs tmpfs rw",
  "105 22 0:4 / /run/netns/cni-2 rw - nsfs nsfs rw",
].join("\n");

test("mounts under the node's dir only, deepest first, octal escapes decoded", () => {
  expect(mountsUnder(mountinfo, "/s/node")).toEqual([
    "/s/node/kubelet/pods/u1/volumes/kubernetes.io~secret/tok",
    "/s/node/containerd/state/io.containerd.runtime.v2.task/k8s.io/abc/rootfs",
    "/s/node/containerd/state/netns/cni-1",
    "/s/node/with space",
  ]);
});

test("iptables -S lines split like a shell would, quotes and escapes included", () => {
  expect(splitRule('-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -j KUBE-SVC-X')).toEqual([
    "-A",
    "KUBE-SERVICES",
    "-m",
    "comment",
    "--comment",
    "kube-system/kube-dns:dns cluster IP",
    "-j",
    "KUBE-SVC-X",
  ]);
  expect(splitRule('-A X --comment "a \\"b\\"" -j Y')).toEqual(["-A", "X", "--comment", 'a "b"', "-j", "Y"]);
  expect(splitRule('-A X --comment "" -j Y')).toEqual(["-A", "X", "--comment", "", "-j", "Y"]);
});

const nat = `-P PREROUTING ACCEPT
-P OUTPUT ACCEPT
-N CNI-abc
-N DOCKER
-N KUBE-SERVICES
-N KUBE-SVC-X
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A PREROUTING -j DOCKER
-A POSTROUTING -s 10.244.200.5/32 -m comment --comment "name: \\"stagecraft\\" id: \\"abc\\"" -j CNI-abc
-A POSTROUTING -o eth0 -j MASQUERADE
-A CNI-abc -d 10.244.200.0/24 -j ACCEPT
-A KUBE-SERVICES -j KUBE-SVC-X
-A DOCKER -j RETURN`;

test("iptables sweep: jumps from other chains deleted, then KUBE-/CNI- chains flushed and removed; others kept", () => {
  const steps = iptablesSweep("iptables", "nat", nat).map(describeStep);
  expect(steps).toEqual([
    "iptables -t nat -D PREROUTING -m comment --comment kubernetes service portals -j KUBE-SERVICES",
    'iptables -t nat -D POSTROUTING -s 10.244.200.5/32 -m comment --comment name: "stagecraft" id: "abc" -j CNI-abc',
    "iptables -t nat -F CNI-abc",
    "iptables -t nat -F KUBE-SERVICES",
    "iptables -t nat -F KUBE-SVC-X",
    "iptables -t nat -X CNI-abc",
    "iptables -t nat -X KUBE-SERVICES",
    "iptables -t nat -X KUBE-SVC-X",
  ]);
  // The args keep the comment as one argument (spawn passes them as-is, no shell).
  expect(iptablesSweep("iptables", "nat", nat)[0]).toMatchObject({
    args: ["-t", "nat", "-D", "PREROUTING", "-m", "comment", "--comment", "kubernetes service portals", "-j", "KUBE-SERVICES"],
  });
  expect(iptablesSweep("iptables", "filter", "-P INPUT ACCEPT\n-A INPUT -j ACCEPT")).toEqual([]);
});

test("sysctls restored only where they changed, to their value before up", () => {
  expect(
    sysctlRestores(
      { "kernel.panic": "1", "net.ipv4.ip_forward": "0", "vm.overcommit_memory": "0" },
      { "kernel.panic": "10", "net.ipv4.ip_forward": "0", "vm.overcommit_memory": undefined },
    ),
  ).toEqual([{ kind: "sysctl", key: "kernel.panic", value: "1" }]);
});

test("the whole plan: stray processes, mounts, iptables, bridge, sysctls, cgroups children first", () => {
  const o: Observed = {
    mountinfo,
    iptables: [{ bin: "iptables", table: "nat", listing: "-N KUBE-X\n" }],
    links: ["lo", "eth0", "stagecraft0", "stagecraft-pod", "veth1"],
    ipsets: ["KUBE-SRC-ABC", "kube-router-local-ips", "someone-elses"],
    cgroupPids: [4242],
    cgroups: {
      "/sys/fs/cgroup/cpu": [
        "/sys/fs/cgroup/cpu/stagecraft",
        "/sys/fs/cgroup/cpu/stagecraft/kubepods",
        "/sys/fs/cgroup/cpu/stagecraft/kubepods/besteffort",
      ],
    },
    savedSysctls: { "kernel.panic": "1" },
    sysctlsNow: { "kernel.panic": "10" },
    createdDirs: ["/run/containerd", "/run/containerd/s"],
  };
  expect(cleanupPlan(o, "/s/node", ["stagecraft-pod", "stagecraft0"]).map(describeStep)).toEqual([
    "kill -KILL 4242 (left in the node's cgroups)",
    "umount /s/node/kubelet/pods/u1/volumes/kubernetes.io~secret/tok",
    "umount /s/node/containerd/state/io.containerd.runtime.v2.task/k8s.io/abc/rootfs",
    "umount /s/node/containerd/state/netns/cni-1",
    "umount /s/node/with space",
    "iptables -t nat -F KUBE-X",
    "iptables -t nat -X KUBE-X",
    "ipset destroy KUBE-SRC-ABC",
    "ipset destroy kube-router-local-ips",
    "ip link del stagecraft-pod",
    "ip link del stagecraft0",
    "sysctl kernel.panic=1",
    "rmdir /sys/fs/cgroup/cpu/stagecraft/kubepods/besteffort",
    "rmdir /sys/fs/cgroup/cpu/stagecraft/kubepods",
    "rmdir /sys/fs/cgroup/cpu/stagecraft",
    "rmdir /run/containerd/s (if empty)",
    "rmdir /run/containerd (if empty)",
  ]);
});

test("a clean host plans nothing", () => {
  expect(
    cleanupPlan(
      {
        mountinfo: "22 1 0:21 / / rw - ext4 /dev/vda rw",
        iptables: [],
        links: ["lo"],
        cgroupPids: [],
        cgroups: {},
        savedSysctls: {},
        sysctlsNow: {},
      },
      "/s/node",
      ["stagecraft0"],
    ),
  ).toEqual([]);
});
