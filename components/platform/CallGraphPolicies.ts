/**
 * The call graph enforced at run time: default-deny, with exactly the stage's flows opened
 * (networkPolicies.ts turns the model's flows into manifests).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Flow } from "../../model/flows";
import { networkPolicies } from "./networkPolicies";

export interface CallGraphPoliciesArgs {
  /** Every flow the stage allows (StageModel.flows). */
  readonly flows: readonly Flow[];
  readonly namespace: string;
}

export class CallGraphPolicies extends pulumi.ComponentResource {
  /** Names of the policies, in order. */
  readonly policyNames: string[];

  constructor(name: string, args: CallGraphPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stagecraft:platform:CallGraphPolicies", name, {}, opts);
    const policies = networkPolicies(args.flows, args.namespace);
    for (const p of policies) {
      // Named by the policy's own (spec-derived) name, so adding a service never renames others.
      new k8s.networking.v1.NetworkPolicy(`${name}-${p.metadata.name}`, { metadata: p.metadata, spec: p.spec }, { parent: this });
    }
    this.policyNames = policies.map((p) => p.metadata.name);
    this.registerOutputs({ policyNames: this.policyNames });
  }
}
