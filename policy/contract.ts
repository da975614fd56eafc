/**
 * What the pack reads from the resources: the labels Stagecraft's components already set. The pack
 * imports nothing from the program, so a platform team can point it at any stack that follows
 * this contract (test/unit/policy/contract.test.ts checks it against the components' constants).
 */

/** Pod group name: NetworkPolicies select pods by it. */
export const NAME_LABEL = "app.kubernetes.io/name";
/** What a thing is (`database`, `cache`, `registry`, `web`, `rpc`, …). */
export const COMPONENT_LABEL = "app.kubernetes.io/component";
/** `edge`, `app`, `data` or `platform`. */
export const TIER_LABEL = "stagecraft.dev/tier";
/** A service's layer in the call graph: `app` or `data`. */
export const LAYER_LABEL = "stagecraft.dev/layer";
/**
 * Optional, on the Namespace: `layered` or `open`. Absent, the law is read from the layers: a stage
 * with data services is layered (that is what the spec's `callRules: layered` stages are).
 */
export const CALL_RULES_ANNOTATION = "stagecraft.dev/call-rules";
/** `app.kubernetes.io/component` values of data stores. */
export const STORE_COMPONENTS: readonly string[] = ["database", "cache", "registry"];

/** Pulumi type tokens of the Kubernetes objects the rules read. */
export const TYPES = {
  deployment: "kubernetes:apps/v1:Deployment",
  statefulSet: "kubernetes:apps/v1:StatefulSet",
  daemonSet: "kubernetes:apps/v1:DaemonSet",
  job: "kubernetes:batch/v1:Job",
  cronJob: "kubernetes:batch/v1:CronJob",
  secret: "kubernetes:core/v1:Secret",
  pvc: "kubernetes:core/v1:PersistentVolumeClaim",
  namespace: "kubernetes:core/v1:Namespace",
  networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
} as const;
