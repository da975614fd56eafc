/**
 * Pure parts of the benchmark's real-node section (scripts/bench.ts, `BENCH_ONLY=node`): the stack
 * it runs, the objects kubectl applies, the volumes it leaves behind. Kept apart so each can be
 * unit-tested (test/unit/scripts/benchNode.test.ts) without a cluster.
 */
import { parseDocument } from "yaml";
import { promotedText } from "../../cli/promote";
import type { ClusterNode } from "../../validate/clusterFit";

/** Namespaces the benchmark may create and delete; never the live stack's. */
export const BENCH_NS_PREFIX = "bench-";

/**
 * The live local stack's file (its target: kubeconfig, `fit`, Kong's placement; its secrets and
 * salt) holding `stageText`'s spec, as `stagecraft promote` writes it, pointed at `kubeconfig`
 * (absolute: the program runs from a temp copy) and at namespace `namespace`. `fitCpu`, if given,
 * replaces the target's `fit.cpu` (a stage that does not fit beside the live stack otherwise).
 */
export function benchStackText(localText: string, stageText: string, kubeconfig: string, namespace: string, fitCpu?: number): string {
  if (!namespace.startsWith(BENCH_NS_PREFIX)) throw new Error(`bench namespace ${namespace} must start with ${BENCH_NS_PREFIX}`);
  const doc = parseDocument(promotedText(localText, stageText));
  if (doc.getIn(["config", "stagecraft:target", "kind"]) !== "kubeconfig")
    throw new Error("the local stack's target is not a kubeconfig target");
  doc.setIn(["config", "stagecraft:target", "kubeconfig"], kubeconfig);
  doc.setIn(["config", "stagecraft:target", "namespace"], namespace);
  if (fitCpu !== undefined) doc.setIn(["config", "stagecraft:target", "fit", "cpu"], fitCpu);
  return doc.toString();
}

/** The engine's marker for a value a preview does not know yet. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** The key the engine marks a secret value with in serialised property values. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

interface PreviewStep {
  op?: string;
  urn?: string;
  newState?: { type?: string; custom?: boolean; inputs?: Record<string, unknown> };
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string } & Record<string, unknown>;
  [key: string]: unknown;
}

/** What a preview shows for a secret value, even with --show-secrets. */
export const MASKED = "[secret]";

/** A value with secrets unwrapped; throws on anything a preview did not resolve or masked. */
function plain(v: unknown, where: string): unknown {
  if (v === UNKNOWN) throw new Error(`${where}: a value is unknown at preview; kubectl cannot apply it`);
  if (v === MASKED) throw new Error(`${where}: a secret is masked outside a Secret's data`);
  if (Array.isArray(v)) return v.map((x) => plain(x, where));
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (SECRET_SIG in o) return plain("plaintext" in o ? JSON.parse(o.plaintext as string) : o.value, where);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plain(x, where)]));
  }
  return v;
}

/** `plain`, except that a masked value (or map) stays MASKED: a Secret's data, which fillSecrets puts back. */
function plainOrMasked(v: unknown, where: string): unknown {
  if (v === MASKED) return v;
  if (v && typeof v === "object" && SECRET_SIG in v) {
    const o = v as Record<string, unknown>;
    return plainOrMasked("plaintext" in o ? JSON.parse(o.plaintext as string) : o.value, where);
  }
  if (v && typeof v === "object" && !Array.isArray(v))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x === MASKED ? x : plainOrMasked(x, where)]));
  return plain(v, where);
}

/** A preview's object, its secrets unwrapped: only a Secret's data and stringData values may stay MASKED. */
function plainObject(inputs: Record<string, unknown> | undefined, where: string): KubeObject {
  if (inputs?.kind !== "Secret") return plain(inputs, where) as KubeObject;
  const { data, stringData, ...rest } = inputs;
  const o = plain(rest, where) as KubeObject;
  if (data !== undefined) o.data = plainOrMasked(data, where);
  if (stringData !== undefined) o.stringData = plainOrMasked(stringData, where);
  return o;
}

/**
 * The Kubernetes objects a `pulumi preview --json --show-secrets` of an empty stack would create,
 * as they would be sent (the provider's checked inputs), the Namespace first. Components (the
 * program's own, helm.v4 Charts) and providers are not objects. Every object must be the
 * Namespace `namespace` or live in it: nothing may land in another namespace (the live stack's).
 * The preview masks Secrets' values whatever the flag says: see maskedSecrets and fillSecrets.
 */
export function previewObjects(previewJson: string, namespace: string): KubeObject[] {
  const steps = (JSON.parse(previewJson) as { steps?: PreviewStep[] }).steps ?? [];
  const objects: KubeObject[] = [];
  for (const s of steps) {
    const type = s.newState?.type ?? "";
    if (!s.newState?.custom || !type.startsWith("kubernetes:") || type.startsWith("pulumi:providers:")) continue;
    if (s.op !== "create") throw new Error(`${s.urn}: step ${s.op}, not create: the stack was not empty`);
    const o = plainObject(s.newState.inputs, s.urn ?? type);
    const ok = o.kind === "Namespace" ? o.metadata?.name === namespace : o.metadata?.namespace === namespace;
    if (!ok) throw new Error(`${s.urn}: ${o.kind} ${o.metadata?.namespace ?? ""}/${o.metadata?.name} is not in namespace ${namespace}`);
    objects.push(o);
  }
  if (!objects.some((o) => o.kind === "Namespace")) throw new Error(`the preview creates no Namespace ${namespace}`);
  return objects.sort((a, b) => Number(b.kind === "Namespace") - Number(a.kind === "Namespace"));
}

const masked = (v: unknown) => v === MASKED || (!!v && typeof v === "object" && Object.values(v).includes(MASKED));

/** Names of the Secrets whose values the preview masked. */
export function maskedSecrets(objects: readonly KubeObject[]): string[] {
  return objects.filter((o) => o.kind === "Secret" && (masked(o.data) || masked(o.stringData))).map((o) => o.metadata.name);
}

/**
 * `objects` with each masked Secret's values taken from the same Secret as another run of the same
 * stack created it in namespace `from` (`kubectl get secrets -o json`): its passwords are derived
 * from the stack's seed and the purpose alone (components/lib/secrets.ts), the same in any namespace;
 * any mention of `from` in a value becomes `to`. Every masked Secret must be found there.
 */
export function fillSecrets(objects: readonly KubeObject[], liveSecretsJson: string, from: string, to: string): KubeObject[] {
  type Live = { metadata: { name: string }; data?: Record<string, string> };
  const live = new Map(((JSON.parse(liveSecretsJson) as { items?: Live[] }).items ?? []).map((s) => [s.metadata.name, s]));
  const names = new Set(maskedSecrets(objects));
  return objects.map((o) => {
    if (!names.has(o.metadata.name) || o.kind !== "Secret") return o;
    const l = live.get(o.metadata.name);
    if (!l?.data) throw new Error(`Secret ${o.metadata.name} is masked in the preview and not in namespace ${from}`);
    const data = Object.fromEntries(
      Object.entries(l.data).map(([k, b64]) => [
        k,
        Buffer.from(Buffer.from(b64, "base64").toString("utf8").split(from).join(to)).toString("base64"),
      ]),
    );
    const { stringData: _s, ...rest } = o;
    void _s;
    return { ...rest, data };
  });
}

/** Objects as one stream for `kubectl apply -f -`: JSON documents, so no YAML 1.1 reader reinterprets a string. */
export function applyStream(objects: readonly KubeObject[]): string {
  return objects.map((o) => JSON.stringify(o)).join("\n---\n");
}

interface PvList {
  items?: { metadata?: { name?: string }; spec?: { claimRef?: { namespace?: string } } }[];
}

/** Names of the PersistentVolumes (from `kubectl get pv -o json`) claimed from one of `namespaces`. */
export function benchVolumes(pvJson: string, namespaces: readonly string[]): string[] {
  for (const ns of namespaces) if (!ns.startsWith(BENCH_NS_PREFIX)) throw new Error(`${ns} is not a bench namespace`);
  return ((JSON.parse(pvJson) as PvList).items ?? [])
    .filter((pv) => namespaces.includes(pv.spec?.claimRef?.namespace ?? ""))
    .map((pv) => pv.metadata?.name ?? "")
    .filter(Boolean);
}

/** Seconds from `t0` (ms since the epoch) to an RFC 3339 timestamp, one decimal; undefined stays so. */
export function since(t0: number, stamp: string | undefined): number | undefined {
  return stamp === undefined ? undefined : Math.round((Date.parse(stamp) - t0) / 100) / 10;
}

interface Timed {
  kind: string;
  name: string;
  created?: string;
  done?: string;
}

/**
 * When each workload of a namespace was created and when it was done, from `kubectl get
 * deployments,statefulsets,jobs,pods -o json`: a Job at its completionTime, a Deployment or
 * StatefulSet when its last pod turned Ready (the pods' Ready conditions, matched by owner
 * prefix). Sorted by creation. A timeline of a run, read after the run, without slowing it.
 */
export function timeline(listJson: string): Timed[] {
  type Item = {
    kind: string;
    metadata: {
      name: string;
      creationTimestamp?: string;
      labels?: Record<string, string>;
      ownerReferences?: { kind: string; name: string }[];
    };
    status?: { completionTime?: string; conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
  };
  const items = ((JSON.parse(listJson) as { items?: Item[] }).items ?? []) as Item[];
  const pods = items.filter((i) => i.kind === "Pod");
  const readyAt = (p: Item) => p.status?.conditions?.find((c) => c.type === "Ready" && c.status === "True")?.lastTransitionTime;
  // A pod's owner: a StatefulSet directly, a Deployment through its ReplicaSet, named after the
  // Deployment and the pod's template hash (a name prefix alone would match `celery` to `celery-default`).
  const ownedBy = (p: Item, w: Item) =>
    (p.metadata.ownerReferences ?? []).some((r) =>
      w.kind === "StatefulSet"
        ? r.kind === "StatefulSet" && r.name === w.metadata.name
        : r.kind === "ReplicaSet" && r.name === `${w.metadata.name}-${p.metadata.labels?.["pod-template-hash"]}`,
    );
  const latest = (stamps: (string | undefined)[]) =>
    stamps.includes(undefined) || stamps.length === 0 ? undefined : (stamps as string[]).sort().at(-1);
  return items
    .filter((i) => ["Deployment", "StatefulSet", "Job"].includes(i.kind))
    .map((w) => ({
      kind: w.kind,
      name: w.metadata.name,
      created: w.metadata.creationTimestamp,
      done: w.kind === "Job" ? w.status?.completionTime : latest(pods.filter((p) => ownedBy(p, w)).map(readyAt)),
    }))
    .sort((a, b) => (a.created ?? "").localeCompare(b.created ?? "") || a.name.localeCompare(b.name));
}

/**
 * The section of a Markdown document that starts with a heading line beginning `heading`, up to the
 * next heading of the same level (or the end), or undefined.
 */
export function sectionOf(md: string, heading: string): string | undefined {
  const level = /^#+ /.exec(heading)?.[0];
  if (!level) throw new Error(`${heading} is not a Markdown heading`);
  const lines = md.split("\n");
  const start = lines.findIndex((l) => l.startsWith(heading));
  if (start < 0) return undefined;
  const end = lines.findIndex((l, i) => i > start && l.startsWith(level));
  return lines.slice(start, end < 0 ? undefined : end).join("\n");
}

/** `md` with its section `heading` (see sectionOf) replaced by `section`, or `section` appended. */
export function withSection(md: string, heading: string, section: string): string {
  const old = sectionOf(md, heading);
  const body = section.endsWith("\n") ? section : `${section}\n`;
  if (old === undefined) return `${md.replace(/\n*$/, "\n\n")}${body}`;
  const i = md.indexOf(old);
  const rest = md.slice(i + old.length);
  return `${md.slice(0, i)}${body}${rest.startsWith("\n") ? rest : rest && `\n${rest}`}`;
}

const TIER = "stagecraft.dev/tier";

/**
 * The order kubectl needs for a stage to converge on a real node: first everything but the app and
 * edge tiers (the Namespace first, its NetworkPolicies, the data tier), then the app and edge tiers
 * at once. Applied all at once, a service's migration Job starts before MySQL's bootstrap Job has
 * made its user and exhausts its backoffLimit (seen: mvc's web-migrate Failed), so the data tier
 * must be up first; nothing else is ordered (pulumi also orders callers after callees, and the edge
 * after the app tier: those are the program's, and part of what the comparison measures).
 */
export function applyPhases(objects: readonly KubeObject[]): KubeObject[][] {
  const tier = (o: KubeObject) => (o.metadata.labels as Record<string, string> | undefined)?.[TIER];
  const late = (o: KubeObject) => tier(o) === "app" || tier(o) === "edge";
  const first = objects.filter((o) => !late(o)).sort((a, b) => Number(b.kind === "Namespace") - Number(a.kind === "Namespace"));
  return [first, objects.filter(late)].filter((p) => p.length > 0);
}

/** Names, as `kind/name`, of the objects of a phase that kubectl waits for: rollouts and Jobs. */
export function waitsOf(phase: readonly KubeObject[]): { rollouts: string[]; jobs: string[] } {
  const named = (kinds: string[]) => phase.filter((o) => kinds.includes(o.kind)).map((o) => `${o.kind.toLowerCase()}/${o.metadata.name}`);
  return { rollouts: named(["Deployment", "StatefulSet"]), jobs: named(["Job"]) };
}

/** From `kubectl get jobs -o json`: whether every Job of `names` (`job/x`) is complete; throws on a failed one. */
export function jobsDone(jobsJson: string, names: readonly string[]): boolean {
  type J = { metadata: { name: string }; status?: { conditions?: { type: string; status: string; message?: string }[] } };
  const jobs = new Map(((JSON.parse(jobsJson) as { items?: J[] }).items ?? []).map((j) => [`job/${j.metadata.name}`, j]));
  return names.every((n) => {
    const c = jobs.get(n)?.status?.conditions ?? [];
    const failed = c.find((x) => x.type === "Failed" && x.status === "True");
    if (failed) throw new Error(`${n} failed: ${failed.message ?? "no message"}`);
    return c.some((x) => x.type === "Complete" && x.status === "True");
  });
}

/**
 * `nodes` with `cpuMilli` more CPU taken on each real node: room for what the pre-flight's check at
 * rest leaves out (the late-rows Jobs, a rollout's surge pod), which otherwise stay Pending beside
 * the live stack (seen: micro's adopt-late Jobs and a web replica, with 700m asked of 772m free).
 */
export function withHeadroom(nodes: readonly ClusterNode[], cpuMilli: number): ClusterNode[] {
  return nodes.map((n) => (n.fake ? n : { ...n, used: { ...n.used, cpuMilli: n.used.cpuMilli + cpuMilli } }));
}
