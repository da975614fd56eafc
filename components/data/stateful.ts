/**
 * What every data-bearing StatefulSet shares. Its immutable fields (selector, serviceName,
 * volumeClaimTemplates, podManagementPolicy) come only from here and only from stable inputs, so a
 * stage move can never force the provider to replace a database.
 */
import type * as k8s from "@pulumi/kubernetes";
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
