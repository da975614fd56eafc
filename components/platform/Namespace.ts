/**
 * The namespace every object of the stage lives in. Protected: deleting a namespace deletes
 * everything in it, data included.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CALL_RULES_ANNOTATION, PART_OF, TIER_LABEL } from "../../model/names";
import type { Spec } from "../../spec/schema";

export interface NamespaceArgs {
  /** Kubernetes name of the namespace. */
  readonly name: string;
  /** The stage's call-graph law, stated on the namespace for policies that judge its workloads. */
  readonly callRules: Spec["callRules"];
}

export class Namespace extends pulumi.ComponentResource {
  readonly name: string;

  constructor(name: string, args: NamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stagecraft:platform:Namespace", name, {}, opts);
    new k8s.core.v1.Namespace(
      `${name}-namespace`,
      {
        metadata: {
          name: args.name,
          annotations: { [CALL_RULES_ANNOTATION]: args.callRules },
          labels: {
            "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/managed-by": "pulumi",
            [TIER_LABEL]: "platform",
            // Pod Security Admission enforces what every workload already sets.
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest",
          },
        },
      },
      { parent: this, protect: true, retainOnDelete: true },
    );
    this.name = args.name;
    this.registerOutputs({ name: this.name });
  }
}
