/**
 * What every data-bearing StatefulSet shares. Its immutable fields (selector, serviceName,
 * volumeClaimTemplates, podManagementPolicy) come only from here and only from stable inputs, so a
 * stage move can never force the provider to replace a database.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { selectorLabels } from "../../model/names";

/**
 * How a data-bearing object is guarded. Every one is kept in the cluster if the program drops it
 * (retainOnDelete). What every stage has (the MySQL primary, Redis, their admin Secrets) is also
 * protected from `pulumi destroy`; what some stage drops (read replicas, etcd, a service's
 * credentials) is not, or that stage move could never be applied.
 */
export type DataGuard = "protected" | "retained";

export function dataOptions(parent: pulumi.Resource, guard: DataGuard): pulumi.CustomResourceOptions {
  return { parent, protect: guard === "protected", retainOnDelete: true };
}

export function statefulSetBasics(
  name: string,
  serviceName: string,
  storage: string,
  podManagementPolicy: "OrderedReady" | "Parallel" = "OrderedReady",
): Pick<
  k8s.types.input.apps.v1.StatefulSetSpec,
  "selector" | "serviceName" | "podManagementPolicy" | "volumeClaimTemplates" | "persistentVolumeClaimRetentionPolicy"
> {
  return {
    selector: { matchLabels: selectorLabels(name) },
    serviceName,
    podManagementPolicy,
    volumeClaimTemplates: [
      {
        metadata: { name: "data", labels: selectorLabels(name) },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } } },
      },
    ],
    // The volumes outlive the StatefulSet: deleting or scaling it never deletes data.
    persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
  };
}

/** A StatefulSet's two Services, by Pulumi name and Kubernetes name. */
export interface StatefulSetServices {
  /** Headless, the StatefulSet's `serviceName` (kube-score's statefulset-has-servicename): each pod's DNS name. */
  readonly governing: { readonly pulumiName: string; readonly name: string };
  /**
   * The ClusterIP clients connect to: a stable address through a pod's restart (a headless name's
   * stale answers in DNS caches cost a 15 s outage on the real node), balanced per connection.
   */
  readonly client: { readonly pulumiName: string; readonly name: string };
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** The StatefulSet's name, whose pods both select. */
  readonly selectName: string;
  readonly port: { readonly name: string; readonly port: number };
}

export function statefulSetServices(parent: pulumi.Resource, a: StatefulSetServices): void {
  for (const [s, headless] of [
    [a.governing, true],
    [a.client, false],
  ] as const) {
    new k8s.core.v1.Service(
      s.pulumiName,
      {
        metadata: { name: s.name, namespace: a.namespace, labels: a.labels },
        spec: {
          ...(headless ? { clusterIP: "None" } : {}),
          selector: selectorLabels(a.selectName),
          ports: [{ name: a.port.name, port: a.port.port, targetPort: a.port.name }],
        },
      },
      { parent },
    );
  }
}
