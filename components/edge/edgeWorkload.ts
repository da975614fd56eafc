/**
 * The pieces every edge Deployment (Nginx, Kong) has: ServiceAccount, Deployment spread over nodes
 * with a zero-downtime rollout, PodDisruptionBudget and a LoadBalancer Service with the target's
 * annotations (AWS NLB on EKS, none locally). Creates objects under a parent component.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { labels, selectorLabels, type Role } from "../../model/names";
import { podSecurity, ROLLOUT, spread } from "../lib/pod";

export interface EdgeWorkloadArgs {
  /** Kubernetes name of the Deployment, its ServiceAccount and PDB. */
  readonly name: string;
  readonly role: Role;
  readonly namespace: string;
  readonly replicas: number;
  readonly uid: number;
  readonly containers: k8s.types.input.core.v1.Container[];
  readonly volumes: k8s.types.input.core.v1.Volume[];
  /** Pod-template annotations (config hashes), so a config change rolls the pods. */
  readonly podAnnotations: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** The public Service: name, ports and the target's load-balancer annotations. */
  readonly loadBalancer: { name: string; ports: k8s.types.input.core.v1.ServicePort[]; annotations: Record<string, string> };
  /**
   * What the Deployment alone waits for (its config, the upstreams' Services). The other objects
   * wait for nothing here: the LoadBalancer Service gets its address whether or not pods exist yet.
   */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
  /** Node selector and tolerations the target asks for (Kong on the local cluster's KWOK nodes), if any. */
  readonly placement?: Pick<k8s.types.input.core.v1.PodSpec, "nodeSelector" | "tolerations">;
}

/** Creates the edge objects with `prefix`-derived Pulumi names under `parent`. */
export function edgeWorkload(prefix: string, a: EdgeWorkloadArgs, parent: pulumi.Resource): k8s.apps.v1.Deployment {
  const lbl = labels(a.name, a.role, "edge");
  const selector = selectorLabels(a.name);
  const meta = (name: string) => ({ name, namespace: a.namespace, labels: lbl });
  new k8s.core.v1.ServiceAccount(`${prefix}-sa`, { metadata: meta(a.name), automountServiceAccountToken: false }, { parent });
  const deployment = new k8s.apps.v1.Deployment(
    `${prefix}-deployment`,
    {
      metadata: meta(a.name),
      spec: {
        replicas: a.replicas,
        revisionHistoryLimit: 5,
        selector: { matchLabels: selector },
        strategy: { type: "RollingUpdate", rollingUpdate: { ...ROLLOUT } },
        template: {
          metadata: { labels: lbl, annotations: a.podAnnotations },
          spec: {
            serviceAccountName: a.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: podSecurity(a.uid),
            topologySpreadConstraints: spread(selector),
            ...a.placement,
            terminationGracePeriodSeconds: 60,
            containers: a.containers,
            volumes: a.volumes,
          },
        },
      },
    },
    { parent, dependsOn: a.dependsOn },
  );
  new k8s.policy.v1.PodDisruptionBudget(
    `${prefix}-pdb`,
    { metadata: meta(a.name), spec: { maxUnavailable: 1, selector: { matchLabels: selector } } },
    { parent },
  );
  new k8s.core.v1.Service(
    `${prefix}-lb`,
    {
      metadata: { ...meta(a.loadBalancer.name), annotations: a.loadBalancer.annotations },
      spec: {
        type: "LoadBalancer",
        // Keep the client's address (rate limits, logs) and skip a second hop between nodes.
        externalTrafficPolicy: "Local",
        selector,
        ports: a.loadBalancer.ports,
      },
    },
    { parent },
  );
  return deployment;
}
