import { parseAllDocuments } from "yaml";
import {
  corednsManifests,
  corefile,
  COREDNS_IMAGE,
  kubeletApiRbac,
  storageClassManifest,
} from "../../../../../scripts/cluster/node/addons";
import { PROVISIONER } from "../../../../../scripts/cluster/node/controller";
import { layoutFor } from "../../../../../scripts/cluster/node/layout";

const objs = (s: string) => parseAllDocuments(s).map((d) => d.toJS());

test("CoreDNS: the kube-dns Service at the kubelet's clusterDNS, the local image never pulled, on the real node", () => {
  const all = objs(corednsManifests(layoutFor("/s")));
  expect(all.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
    "ServiceAccount/coredns",
    "ClusterRole/system:coredns",
    "ClusterRoleBinding/system:coredns",
    "ConfigMap/coredns",
    "Deployment/coredns",
    "Service/kube-dns",
  ]);
  const svc = all[5];
  expect(svc.spec.clusterIP).toBe("10.96.0.10");
  expect(svc.spec.selector).toEqual(all[4].spec.template.metadata.labels);
  const c = all[4].spec.template.spec.containers[0];
  expect(c).toMatchObject({ image: COREDNS_IMAGE, imagePullPolicy: "Never", args: ["-conf", "/etc/coredns/Corefile"] });
  expect(all[4].spec.template.spec.nodeSelector).toEqual({ "stagecraft.local/node": "real" });
  expect(all[3].data.Corefile).toBe(corefile());
});

test("Corefile serves cluster.local from the API and forwards the rest to the node's resolver", () => {
  expect(corefile()).toMatch(/kubernetes cluster\.local in-addr\.arpa ip6\.arpa/);
  expect(corefile()).toMatch(/forward \. \/etc\/resolv\.conf/);
  expect(corefile()).toMatch(/^\s+ready$/m);
});

test("default StorageClass served by our provisioner, bound when the pod is scheduled", () => {
  expect(objs(storageClassManifest())[0]).toMatchObject({
    metadata: { name: "standard", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
    provisioner: PROVISIONER,
    volumeBindingMode: "WaitForFirstConsumer",
    reclaimPolicy: "Delete",
  });
});

test("the apiserver's kubelet client may use the kubelet API", () => {
  expect(objs(kubeletApiRbac())[0]).toMatchObject({
    roleRef: { name: "system:kubelet-api-admin" },
    subjects: [{ kind: "User", name: "kube-apiserver-kubelet-client" }],
  });
});
