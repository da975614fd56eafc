/**
 * Stagecraft's own multi-object rules, checked on rendered manifests (what the cluster would
 * receive): a PodDisruptionBudget that allows a disruption, replicas spread over nodes, a
 * ServiceAccount of the workload's own, the recommended labels. The per-container baseline
 * (resources, probes, security context, pinned images, no secrets in env) and the data rules are the
 * policy pack's (policy/rules), which every render, preview and up runs: one check, not two.
 */

export interface ObjectMeta {
  readonly name?: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Any Kubernetes object as parsed from YAML. */
export interface K8sObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: ObjectMeta;
  readonly [field: string]: unknown;
}

export type BaselineRule = "pdb" | "spread" | "service-account" | "labels";

export interface Violation {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  /** The container at fault, when one is. */
  readonly container?: string;
  readonly rule: BaselineRule;
  readonly message: string;
}

export const WORKLOAD_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"] as const;
export const RECOMMENDED_LABELS = [
  "app.kubernetes.io/name",
  "app.kubernetes.io/instance",
  "app.kubernetes.io/component",
  "app.kubernetes.io/part-of",
  "app.kubernetes.io/managed-by",
] as const;
/** A ServiceAccount annotated so may have its token mounted (a workload that talks to the API server). */
export const TOKEN_ANNOTATION = "stagecraft.dev/needs-api-token";

export function formatViolation(v: Violation): string {
  const where = `${v.kind} ${v.namespace ? `${v.namespace}/` : ""}${v.name}${v.container ? ` container ${v.container}` : ""}`;
  return `${where}: [${v.rule}] ${v.message}`;
}

// ---------------------------------------------------------------------------------------------
// The parts of the API the rules read. Everything is optional: the input is whatever was rendered.

type IntOrString = number | string;

interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { key: string; operator: string; values?: readonly string[] }[];
}

interface Probe {
  readonly httpGet?: { port?: IntOrString };
  readonly tcpSocket?: { port?: IntOrString };
  readonly grpc?: { port?: number };
  readonly exec?: unknown;
}

interface SecurityContext {
  readonly runAsNonRoot?: boolean;
  readonly runAsUser?: number;
  readonly readOnlyRootFilesystem?: boolean;
  readonly allowPrivilegeEscalation?: boolean;
  readonly privileged?: boolean;
  readonly capabilities?: { drop?: readonly string[]; add?: readonly string[] };
  readonly seccompProfile?: { type?: string };
}

interface Container {
  readonly name?: string;
  readonly image?: string;
  readonly restartPolicy?: string;
  readonly ports?: readonly { containerPort?: number; name?: string }[];
  readonly env?: readonly { name?: string; value?: unknown; valueFrom?: unknown }[];
  readonly resources?: { requests?: Readonly<Record<string, unknown>>; limits?: Readonly<Record<string, unknown>> };
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly securityContext?: SecurityContext;
}

interface PodSpec {
  readonly containers?: readonly Container[];
  readonly initContainers?: readonly Container[];
  readonly securityContext?: SecurityContext;
  readonly serviceAccountName?: string;
  readonly serviceAccount?: string;
  readonly automountServiceAccountToken?: boolean;
  readonly hostNetwork?: boolean;
  readonly hostPID?: boolean;
  readonly hostIPC?: boolean;
  readonly topologySpreadConstraints?: readonly { topologyKey?: string; labelSelector?: LabelSelector }[];
  readonly affinity?: {
    podAntiAffinity?: {
      requiredDuringSchedulingIgnoredDuringExecution?: readonly { labelSelector?: LabelSelector }[];
      preferredDuringSchedulingIgnoredDuringExecution?: readonly { podAffinityTerm?: { labelSelector?: LabelSelector } }[];
    };
  };
}

interface PodTemplate {
  readonly metadata?: ObjectMeta;
  readonly spec?: PodSpec;
}

interface WorkloadSpec {
  readonly replicas?: number;
  readonly template?: PodTemplate;
  readonly jobTemplate?: { spec?: { template?: PodTemplate } };
  readonly volumeClaimTemplates?: readonly unknown[];
  readonly persistentVolumeClaimRetentionPolicy?: { whenDeleted?: string; whenScaled?: string };
}

interface PdbSpec {
  readonly selector?: LabelSelector;
  readonly minAvailable?: IntOrString;
  readonly maxUnavailable?: IntOrString;
}

interface HpaSpec {
  readonly scaleTargetRef?: { kind?: string; name?: string };
  readonly minReplicas?: number;
}

// Narrowing unknown YAML into the shapes above: the rules then treat a missing field as missing.
const specOf = <T>(o: K8sObject): T => (typeof o.spec === "object" && o.spec !== null ? o.spec : {}) as T;
const nameOf = (o: K8sObject) => o.metadata?.name ?? "<unnamed>";
const nsOf = (o: K8sObject) => o.metadata?.namespace ?? "";
const sameObject = (a: K8sObject, kind: string, name: string, ns: string) => a.kind === kind && nameOf(a) === name && nsOf(a) === ns;

function selects(selector: LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (selector === undefined) return false; // a null selector selects nothing
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    switch (e.operator) {
      case "In":
        return has && (e.values ?? []).includes(labels[e.key]);
      case "NotIn":
        return !has || !(e.values ?? []).includes(labels[e.key]);
      case "Exists":
        return has;
      case "DoesNotExist":
        return !has;
      default:
        return false;
    }
  });
  return byLabels && byExpressions;
}

/** The disruptions a PDB allows for `replicas` healthy pods (the disruption controller rounds percentages up). */
function allowedDisruptions(pdb: PdbSpec, replicas: number): number | string {
  const scaled = (v: IntOrString) => {
    if (typeof v === "number") return v;
    const m = /^(\d+)%$/.exec(v);
    return m ? Math.ceil((Number(m[1]) * replicas) / 100) : /^\d+$/.test(v) ? Number(v) : NaN;
  };
  if (pdb.minAvailable !== undefined && pdb.maxUnavailable !== undefined) return "sets both minAvailable and maxUnavailable";
  if (pdb.maxUnavailable !== undefined) return scaled(pdb.maxUnavailable);
  if (pdb.minAvailable !== undefined) return replicas - scaled(pdb.minAvailable);
  return "sets neither minAvailable nor maxUnavailable";
}

// ---------------------------------------------------------------------------------------------

export function baselineViolations(manifests: readonly K8sObject[]): Violation[] {
  const out: Violation[] = [];
  const workloads = manifests.filter((m) => (WORKLOAD_KINDS as readonly (string | undefined)[]).includes(m.kind));
  const pdbs = manifests.filter((m) => m.kind === "PodDisruptionBudget");
  const hpas = manifests.filter((m) => m.kind === "HorizontalPodAutoscaler");

  const saOf = (pod: PodSpec) => pod.serviceAccountName ?? pod.serviceAccount ?? "default";
  const templateOf = (w: K8sObject): PodTemplate | undefined => {
    const spec = specOf<WorkloadSpec>(w);
    return w.kind === "CronJob" ? spec.jobTemplate?.spec?.template : spec.template;
  };

  for (const w of workloads) {
    const kind = w.kind ?? "";
    const name = nameOf(w);
    const ns = nsOf(w);
    const add = (rule: BaselineRule, message: string, container?: string) =>
      out.push({ kind, name, ...(ns ? { namespace: ns } : {}), ...(container ? { container } : {}), rule, message });

    const tpl = templateOf(w);
    const pod = tpl?.spec;
    if (!tpl || !pod) continue; // the policy pack's workload rules refuse a workload without containers
    const podLabels = tpl.metadata?.labels ?? {};

    // Labels: on the workload (for kubectl and reports) and on its pods (for selectors and policies).
    for (const [where, labels] of [
      ["metadata", w.metadata?.labels ?? {}],
      ["pod template", podLabels],
    ] as const) {
      const missing = RECOMMENDED_LABELS.filter((l) => !labels[l]);
      if (missing.length > 0) add("labels", `${where} lacks the recommended label(s) ${missing.join(", ")}`);
    }

    // ServiceAccount: its own, present, and no API token unless annotated as needing one. "Its own" is
    // by name: the workload's (web) or its owner's for a helper of the same thing (web-migrate,
    // mysql-bootstrap, mysql-replica), so no workload runs with an identity meant for another app.
    const saName = saOf(pod);
    if (saName === "default") add("service-account", "runs under the namespace's default ServiceAccount: give it its own");
    else {
      const sa = manifests.find((m) => sameObject(m, "ServiceAccount", saName, ns));
      if (!sa) add("service-account", `uses ServiceAccount ${saName}, which is not among the manifests`);
      if (saName !== name && !name.startsWith(`${saName}-`))
        add("service-account", `runs as ServiceAccount ${saName}, which belongs to another workload: give it its own (${name})`);
      const needsToken = sa?.metadata?.annotations?.[TOKEN_ANNOTATION] === "true";
      const saAutomount = (sa as { automountServiceAccountToken?: boolean } | undefined)?.automountServiceAccountToken;
      if (!needsToken && (pod.automountServiceAccountToken ?? saAutomount ?? true) !== false)
        add(
          "service-account",
          `mounts an API token it does not need (set automountServiceAccountToken: false, or annotate the ServiceAccount ${TOKEN_ANNOTATION}: "true")`,
        );
    }

    // Availability of replicated workloads. Jobs and DaemonSets (one pod per node) are not replicated this way.
    if (kind === "Deployment" || kind === "StatefulSet") {
      const hpaMin = Math.max(
        0,
        ...hpas
          .filter((h) => nsOf(h) === ns)
          .map((h) => specOf<HpaSpec>(h))
          .filter((h) => h.scaleTargetRef?.kind === kind && h.scaleTargetRef.name === name)
          .map((h) => h.minReplicas ?? 1),
      );
      const replicas = Math.max(specOf<WorkloadSpec>(w).replicas ?? 1, hpaMin);
      if (replicas > 1) {
        const selecting = pdbs.filter((p) => nsOf(p) === ns && selects(specOf<PdbSpec>(p).selector, podLabels));
        if (selecting.length === 0) add("pdb", `has ${replicas} replicas and no PodDisruptionBudget selecting its pods`);
        else if (selecting.length > 1)
          add(
            "pdb",
            `is selected by ${selecting.length} PodDisruptionBudgets (${selecting.map(nameOf).join(", ")}): eviction refuses pods with more than one`,
          );
        else {
          const allowed = allowedDisruptions(specOf<PdbSpec>(selecting[0]), replicas);
          if (typeof allowed === "string") add("pdb", `PodDisruptionBudget ${nameOf(selecting[0])} ${allowed}`);
          else if (!(allowed >= 1))
            add(
              "pdb",
              `PodDisruptionBudget ${nameOf(selecting[0])} allows ${allowed} disruptions of ${replicas} replicas: a node drain would block`,
            );
        }

        const spread = (pod.topologySpreadConstraints ?? []).some((t) => !!t.topologyKey && selects(t.labelSelector, podLabels));
        const anti = pod.affinity?.podAntiAffinity;
        const apart =
          (anti?.requiredDuringSchedulingIgnoredDuringExecution ?? []).some((t) => selects(t.labelSelector, podLabels)) ||
          (anti?.preferredDuringSchedulingIgnoredDuringExecution ?? []).some((t) => selects(t.podAffinityTerm?.labelSelector, podLabels));
        if (!spread && !apart)
          add("spread", `has ${replicas} replicas and no topologySpreadConstraints or pod anti-affinity selecting its own pods`);
      }
    }
  }
  return out;
}
