/**
 * The Kubernetes provider every component uses, chosen by the stack's target (data, not stage):
 * render mode writes manifests to a folder without a cluster; kubeconfig points at a cluster.
 * (EKS builds its provider in EksCluster.)
 */
import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import type { Target } from "../../spec/target";

/** Where render mode's provider writes raw manifests (ignored by git; organised into rendered/ afterwards). */
export function rawRenderDir(root: string, stack: string): string {
  return path.join(root, ".pulumi-state", "render", stack, "raw");
}

export function targetProvider(target: Exclude<Target, { kind: "eks" }>, root: string, stack: string): k8s.Provider {
  if (target.kind === "render") {
    return new k8s.Provider("k8s", { renderYamlToDirectory: rawRenderDir(root, stack), namespace: target.namespace });
  }
  return new k8s.Provider("k8s", {
    kubeconfig: target.kubeconfig,
    context: target.context,
    namespace: target.namespace,
    // Fail a preview early when the cluster is unreachable rather than planning blind.
    deleteUnreachable: false,
  });
}
