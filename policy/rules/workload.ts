/**
 * The workload security baseline, one resource at a time: every container of every workload runs
 * non-root on a read-only root filesystem with ALL capabilities dropped, no privilege escalation
 * and seccomp RuntimeDefault; has requests and limits; pins its image; takes secrets from Secrets;
 * and a long-running container has readiness and liveness probes that differ.
 */
import { TYPES } from "../contract";
import { describe, specOf, type PolicyResource, type ResourceRule } from "./types";

interface SecurityContext {
  readonly runAsNonRoot?: boolean;
  readonly runAsUser?: number;
  readonly readOnlyRootFilesystem?: boolean;
  readonly allowPrivilegeEscalation?: boolean;
  readonly privileged?: boolean;
  readonly capabilities?: { readonly drop?: readonly string[]; readonly add?: readonly string[] };
  readonly seccompProfile?: { readonly type?: string };
}

interface Probe {
  readonly httpGet?: { readonly port?: number | string };
  readonly tcpSocket?: { readonly port?: number | string };
  readonly grpc?: { readonly port?: number };
  readonly exec?: unknown;
}

export interface Container {
  readonly name?: string;
  readonly image?: string;
  readonly restartPolicy?: string;
  readonly ports?: readonly { readonly containerPort?: number; readonly name?: string }[];
  readonly env?: readonly { readonly name?: string; readonly value?: unknown; readonly valueFrom?: unknown }[];
  readonly resources?: { readonly requests?: Readonly<Record<string, unknown>>; readonly limits?: Readonly<Record<string, unknown>> };
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly securityContext?: SecurityContext;
}

export interface PodSpec {
  readonly containers?: readonly Container[];
  readonly initContainers?: readonly Container[];
  readonly securityContext?: SecurityContext;
  readonly hostNetwork?: boolean;
  readonly hostPID?: boolean;
  readonly hostIPC?: boolean;
}

interface WorkloadSpec {
  readonly template?: { readonly spec?: PodSpec };
  readonly jobTemplate?: { readonly spec?: { readonly template?: { readonly spec?: PodSpec } } };
}

const WORKLOAD_TYPES: readonly string[] = [TYPES.deployment, TYPES.statefulSet, TYPES.daemonSet, TYPES.job, TYPES.cronJob];
const BATCH_TYPES: readonly string[] = [TYPES.job, TYPES.cronJob];
const RESOURCE_NAMES = ["cpu", "memory", "ephemeral-storage"] as const;

export const isWorkload = (r: PolicyResource): boolean => WORKLOAD_TYPES.includes(r.type);

/** The pod spec of a workload (a CronJob's is two levels down), or undefined. */
export function podSpecOf(r: PolicyResource): PodSpec | undefined {
  const spec = specOf<WorkloadSpec>(r);
  return r.type === TYPES.cronJob ? spec.jobTemplate?.spec?.template?.spec : spec.template?.spec;
}

/** Every container with whether it runs as long as the pod (native sidecars: init with restartPolicy Always). */
function containersOf(r: PolicyResource, pod: PodSpec): { c: Container; longRunning: boolean; where: string }[] {
  const batch = BATCH_TYPES.includes(r.type);
  return [
    ...(pod.initContainers ?? []).map((c) => ({ c, longRunning: !batch && c.restartPolicy === "Always", where: "initContainer" })),
    ...(pod.containers ?? []).map((c) => ({ c, longRunning: !batch, where: "container" })),
  ];
}

/** A rule over each container of each workload: `problems` returns "what is wrong. Fix: …" texts. */
function perContainer(
  name: string,
  description: string,
  level: ResourceRule["level"],
  problems: (c: Container, pod: PodSpec, longRunning: boolean) => string[],
): ResourceRule {
  return {
    name,
    description,
    level,
    check(r) {
      if (!isWorkload(r)) return [];
      const pod = podSpecOf(r);
      if (!pod) return [`${describe(r)} has no pod template. Fix: give it spec.template`];
      return containersOf(r, pod).flatMap(({ c, longRunning, where }) =>
        problems(c, pod, longRunning).map((p) => `${describe(r)} ${where} ${c.name ?? "<unnamed>"} ${p}`),
      );
    },
  };
}

export const securityContext = perContainer(
  "workload-security-context",
  "Containers run non-root, read-only root filesystem, no privilege escalation, ALL capabilities dropped, seccomp RuntimeDefault.",
  "mandatory",
  (c, pod) => {
    const sc = c.securityContext ?? {};
    const podSc = pod.securityContext ?? {};
    const fix = (field: string, value: string) => `. Fix: set securityContext.${field}: ${value}`;
    const out: string[] = [];
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) out.push(`does not run as non-root${fix("runAsNonRoot", "true")}`);
    if ((sc.runAsUser ?? podSc.runAsUser) === 0) out.push(`runs as uid 0. Fix: set securityContext.runAsUser to the image's non-root uid`);
    if (sc.readOnlyRootFilesystem !== true)
      out.push(`has a writable root filesystem${fix("readOnlyRootFilesystem", "true")} (mount an emptyDir where it must write)`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`may escalate privileges${fix("allowPrivilegeEscalation", "false")}`);
    if (sc.privileged === true) out.push(`is privileged${fix("privileged", "false")}`);
    if (!(sc.capabilities?.drop ?? []).some((d) => d.toUpperCase() === "ALL"))
      out.push(`keeps Linux capabilities${fix("capabilities.drop", "[ALL]")}`);
    const added = sc.capabilities?.add ?? [];
    if (added.length > 0) out.push(`adds capabilities ${added.join(", ")}. Fix: remove securityContext.capabilities.add`);
    const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
    if (seccomp !== "RuntimeDefault") out.push(`has seccomp profile ${seccomp ?? "unset"}${fix("seccompProfile.type", "RuntimeDefault")}`);
    return out;
  },
);

export const hostNamespaces: ResourceRule = {
  name: "workload-host-namespaces",
  description: "Pods do not share the node's network, PID or IPC namespace.",
  level: "mandatory",
  check(r) {
    const pod = isWorkload(r) ? podSpecOf(r) : undefined;
    const shared = (["hostNetwork", "hostPID", "hostIPC"] as const).filter((k) => pod?.[k] === true);
    return shared.length > 0 ? [`${describe(r)} sets ${shared.join(", ")}. Fix: remove ${shared.map((k) => `spec.${k}`).join(", ")}`] : [];
  },
};

export const resources = perContainer(
  "workload-resources",
  "Containers request and limit cpu, memory and ephemeral-storage.",
  "mandatory",
  (c) =>
    (["requests", "limits"] as const).flatMap((section) => {
      const missing = RESOURCE_NAMES.filter((n) => c.resources?.[section]?.[n] === undefined);
      return missing.length > 0
        ? [`has no ${section} for ${missing.join(", ")}. Fix: set resources.${section}.{${missing.join(",")}}`]
        : [];
    }),
);

/** A pinned tag or a digest: `repo:1.2.3` or `repo@sha256:…`; never `latest`, never none. */
export function imageProblem(image: string | undefined): string | undefined {
  if (!image) return "has no image. Fix: set image to a pinned version";
  if (/@sha256:[a-f0-9]{64}$/.test(image)) return undefined;
  const last = image.split("/").pop() ?? image; // a registry port (host:5000/repo) is not a tag
  const tag = last.includes(":") ? last.split(":").pop() : undefined;
  if (tag === undefined) return `uses image '${image}' without a tag. Fix: pin a version (${image}:<version>)`;
  if (tag === "latest") return `uses image '${image}'. Fix: replace 'latest' with a pinned version`;
  return undefined;
}

export const imagePinned = perContainer(
  "workload-image-pinned",
  "Images are pinned to a version or digest, never 'latest'.",
  "mandatory",
  (c) => {
    const p = imageProblem(c.image);
    return p ? [p] : [];
  },
);

/** A name that looks like it holds a secret; names of files, paths and references to secrets do not. */
export function looksSecret(name: string): boolean {
  const parts = name.toUpperCase().split(/[_\-.]/);
  if (["FILE", "PATH", "DIR", "NAME", "REF"].includes(parts[parts.length - 1])) return false;
  return parts.some((p) => /PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL/.test(p)) || /KEY$/.test(parts[parts.length - 1]);
}

export const secretEnv = perContainer(
  "workload-secret-env",
  "Secrets reach containers from Secrets (secretKeyRef), never as literal environment values.",
  "mandatory",
  (c) =>
    (c.env ?? []).flatMap((e) => {
      if (!e.name || e.value === undefined) return [];
      const fix = `. Fix: take it from a Secret (env[${e.name}].valueFrom.secretKeyRef)`;
      if (looksSecret(e.name)) return [`sets ${e.name} as a literal value${fix}`];
      // A password inside a URL (redis://:pw@redis:6379/0) is a secret whatever the variable is called.
      if (typeof e.value === "string" && /:\/\/[^/\s@]*:[^/\s@]+@/.test(e.value))
        return [`sets ${e.name} to a URL with credentials in it${fix}`];
      return [];
    }),
);

/** JSON with sorted keys, so two probes compare by content. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (typeof v === "object" && v !== null)
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

const probePort = (p: Probe) => p.httpGet?.port ?? p.tcpSocket?.port ?? p.grpc?.port;
function declaresPort(c: Container, port: number | string): boolean {
  const ports = c.ports ?? [];
  return typeof port === "number" || /^\d+$/.test(port)
    ? ports.some((p) => p.containerPort === Number(port))
    : ports.some((p) => p.name === port);
}

export const probes = perContainer(
  "workload-probes",
  "Long-running containers have readiness and liveness probes, on declared ports, and not identical.",
  "mandatory",
  (c, _pod, longRunning) => {
    if (!longRunning) return [];
    const out: string[] = [];
    const { readinessProbe: ready, livenessProbe: live } = c;
    if (!ready) out.push("has no readinessProbe. Fix: add one that answers 'can I take traffic?'");
    if (!live) out.push("has no livenessProbe. Fix: add one that answers 'am I wedged?'");
    if (ready && live && canonical(ready) === canonical(live))
      out.push(
        "has identical readiness and liveness probes. Fix: make liveness slower and more tolerant, so a slow dependency never gets a healthy process killed",
      );
    for (const [which, p] of [
      ["readinessProbe", ready],
      ["livenessProbe", live],
    ] as const) {
      const port = p ? probePort(p) : undefined;
      if (port !== undefined && !declaresPort(c, port))
        out.push(`${which} points at port ${port}, which it does not declare. Fix: add it to ports`);
    }
    return out;
  },
);

export const WORKLOAD_RULES: readonly ResourceRule[] = [securityContext, hostNamespaces, resources, imagePinned, secretEnv, probes];
