/**
 * A `pulumi preview --json` document as a short Markdown summary a pull request can carry: red flags
 * first, then the changes grouped by tier and component. Unchanged resources are not listed, and no
 * value of a Secret is ever printed (only values of a few plain fields, such as replicas and images).
 * Pure: the parsed preview (and, optionally, the stage's connection budget) in, Markdown out.
 */
import type { ConnectionBudget, StoreBudget } from "../../model/connections";
import { NAMES, TIER_LABEL } from "../../model/names";
import { parseUrn, valueAtPath, type PreviewDigest, type PreviewStep, type ResourceState } from "./preview";

export type ChangeOp = "create" | "update" | "replace" | "delete" | "import";

export interface Change {
  readonly urn: string;
  readonly op: ChangeOp;
  /** Kubernetes kind (`StatefulSet`) or the last part of the Pulumi type. */
  readonly kind: string;
  /** Kubernetes object name (metadata.name), else the Pulumi resource name. */
  readonly name: string;
  readonly tier: string;
  /** `MySqlCluster mysql`: the Stagecraft component the resource belongs to. */
  readonly component: string;
  readonly oldInputs?: Record<string, unknown>;
  readonly newInputs?: Record<string, unknown>;
  /** Changed property paths with their diff kind (`update`, `add`, `delete-replace`, …). */
  readonly diff: Readonly<Record<string, string>>;
  readonly replaceReasons: readonly string[];
}

/** What a red flag is about, most harmful first: the order they are listed in. */
export const FLAG_KINDS = ["data-loss", "same-object", "quorum", "kong-config", "network-policy", "connection-budget"] as const;
export type FlagKind = (typeof FLAG_KINDS)[number];

export interface RedFlag {
  readonly kind: FlagKind;
  /** The change it is about; undefined for stage-wide flags (the connection budget). */
  readonly change?: Change;
  readonly reasons: readonly string[];
}

/** Engine ops folded into what a reviewer cares about; `same`, `read`, `refresh` and friends are not changes. */
const OPS: Readonly<Record<string, ChangeOp>> = {
  create: "create",
  update: "update",
  replace: "replace",
  "create-replacement": "replace",
  "delete-replaced": "replace",
  "import-replacement": "replace",
  delete: "delete",
  import: "import",
};
/** When one URN has several steps (a replacement is up to three), the strongest op names it. */
const STRENGTH: Readonly<Record<ChangeOp, number>> = { replace: 4, delete: 3, update: 2, create: 1, import: 0 };
export const TIER_ORDER = ["platform", "stage", "data", "app", "edge"] as const;

const COMPONENT_TOKEN = /^stagecraft:([a-z]+):([A-Za-z0-9]+)$/;
const record = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

function metadata(inputs: Record<string, unknown> | undefined): { name?: string; labels: Record<string, unknown> } {
  const m = record(inputs?.metadata);
  return { name: typeof m?.name === "string" ? m.name : undefined, labels: record(m?.labels) ?? {} };
}

/**
 * Tier from the `stagecraft.dev/tier` label, else from the component token in the URN. The component's
 * name is its URN's: found by walking up the parents the preview knows (a Helm chart sits between a
 * AppService and its Deployment), else the `app.kubernetes.io/instance` label.
 */
function placeOf(
  urn: string,
  type: string,
  state: ResourceState | undefined,
  parents: ReadonlyMap<string, string>,
): { tier: string; component: string } {
  const { types } = parseUrn(urn);
  const tokenType = [...types].reverse().find((t) => COMPONENT_TOKEN.test(t));
  const token = tokenType ? COMPONENT_TOKEN.exec(tokenType) : null;
  const label = metadata(state?.inputs).labels[TIER_LABEL];
  const provider = type.startsWith("pulumi:providers:");
  const tier = typeof label === "string" ? label : token ? token[1] : provider ? "platform" : "other";
  if (!token) return { tier, component: provider ? "providers" : "other" };
  for (let up = state?.parent, hops = 0; up && hops < 10; up = parents.get(up), hops++) {
    const parent = parseUrn(up);
    if (parent.types[parent.types.length - 1] === tokenType) return { tier, component: `${token[2]} ${parent.name}` };
  }
  const instance = metadata(state?.inputs).labels["app.kubernetes.io/instance"];
  return { tier, component: typeof instance === "string" ? `${token[2]} ${instance}` : token[2] };
}

/** The changes in a preview, one per resource, in the engine's order; unchanged and component resources left out. */
export function changesOf(digest: PreviewDigest): Change[] {
  const byUrn = new Map<string, { op: ChangeOp; steps: PreviewStep[] }>();
  for (const step of digest.steps ?? []) {
    const op = OPS[step.op];
    if (!op) continue;
    const seen = byUrn.get(step.urn);
    if (!seen) byUrn.set(step.urn, { op, steps: [step] });
    else {
      seen.steps.push(step);
      if (STRENGTH[op] > STRENGTH[seen.op] || (seen.op !== op && [seen.op, op].includes("create") && [seen.op, op].includes("delete")))
        seen.op = "replace";
    }
  }
  const parents = new Map<string, string>();
  for (const s of digest.steps ?? []) {
    const parent = s.newState?.parent ?? s.oldState?.parent;
    if (parent) parents.set(s.urn, parent);
  }
  const out: Change[] = [];
  for (const [urn, { op, steps }] of byUrn) {
    const oldState = steps.find((s) => s.oldState)?.oldState;
    const newState = steps.find((s) => s.newState)?.newState;
    const type = newState?.type ?? oldState?.type ?? parseUrn(urn).types.slice(-1)[0];
    // Components carry no inputs; their children say what changes. The stack itself is no change.
    if (type === "pulumi:pulumi:Stack" || COMPONENT_TOKEN.test(type) || (newState ?? oldState)?.custom === false) continue;
    const diff: Record<string, string> = {};
    for (const s of steps) {
      for (const [path, d] of Object.entries(s.detailedDiff ?? {})) diff[path] = d.kind;
      for (const path of s.diffReasons ?? []) diff[path] ??= "update";
      for (const path of s.replaceReasons ?? []) diff[path] = diff[path]?.endsWith("-replace") ? diff[path] : "update-replace";
    }
    const oldInputs = oldState?.inputs;
    const newInputs = newState?.inputs;
    out.push({
      urn,
      op,
      kind: type.split(":").pop() ?? type,
      name: metadata(newInputs).name ?? metadata(oldInputs).name ?? parseUrn(urn).name,
      ...placeOf(urn, type, newState ?? oldState, parents),
      oldInputs,
      newInputs,
      diff,
      replaceReasons: [...new Set(steps.flatMap((s) => s.replaceReasons ?? []))],
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Red flags

const labelName = (c: Change) => metadata(c.newInputs ?? c.oldInputs).labels["app.kubernetes.io/name"];
const isKong = (c: Change) =>
  c.name === NAMES.kong || c.name.startsWith(`${NAMES.kong}-`) || labelName(c) === NAMES.kong || c.component.startsWith("KongGateway");
const isEtcd = (c: Change) => c.name === NAMES.etcd || labelName(c) === NAMES.etcd || c.component.startsWith("EtcdCluster");
const isMysqlPrimary = (c: Change) => c.name === NAMES.mysql || (c.kind === "PersistentVolumeClaim" && /-mysql-\d+$/.test(c.name));

function destructive(c: Change): string[] {
  if (c.op !== "replace" && c.op !== "delete") return [];
  const verb = c.op === "replace" ? "replacing" : "deleting";
  const out: string[] = [];
  if (isMysqlPrimary(c)) out.push(`this is the MySQL primary (\`${NAMES.mysql}\`): ${verb} it interrupts every write`);
  if (c.kind === "StatefulSet")
    out.push(
      c.op === "replace"
        ? "a replaced StatefulSet is deleted and created again: all its pods stop before the new ones start"
        : "deleting a StatefulSet stops all its pods; its volumes survive only if their claims are kept",
    );
  if (c.kind === "PersistentVolumeClaim") out.push(`${verb} a PersistentVolumeClaim can release the volume and its data`);
  if (c.kind === "Secret") out.push(`${verb} a Secret: pods reading it need a restart, and clients with an old password are locked out`);
  return out;
}

function quorum(c: Change): string[] {
  if (c.kind !== "StatefulSet" || c.op === "delete" || !isEtcd(c)) return [];
  const n = valueAtPath(c.newInputs, "spec.replicas");
  if (typeof n !== "number") return [];
  if (n < 3) return [`etcd would run ${n} member${n === 1 ? "" : "s"}: below 3, losing one member loses quorum`];
  if (n % 2 === 0) return [`etcd would run ${n} members: an even count adds no fault tolerance and can split votes`];
  return [];
}

function kongConfig(c: Change): string[] {
  if (c.op === "create" || c.op === "import" || !isKong(c)) return [];
  const why = "Kong's config changes: every node reloads routes, auth and rate limits";
  if (c.kind === "ConfigMap" || c.kind === "Secret") return [why];
  if (c.kind === "Deployment" && Object.keys(c.diff).some((p) => /config-hash|credentials-hash/.test(p))) return [why];
  return [];
}

/** How much a NetworkPolicy lets through in one direction: peers and ports, where "any" is Infinity. */
export function policyBreadth(spec: unknown, direction: "ingress" | "egress"): { peers: number; ports: number } {
  const s = record(spec) ?? {};
  const rules = Array.isArray(s[direction]) ? (s[direction] as unknown[]) : [];
  const types = Array.isArray(s.policyTypes)
    ? (s.policyTypes as unknown[])
    : direction === "ingress" || rules.length > 0
      ? [capital(direction)]
      : [];
  // A policy that does not restrict this direction lets everything through it.
  if (!types.includes(capital(direction))) return { peers: Infinity, ports: Infinity };
  let peers = 0;
  let ports = 0;
  for (const r of rules) {
    const rule = record(r) ?? {};
    const list = rule[direction === "ingress" ? "from" : "to"];
    const open = (p: unknown) => record(record(p)?.ipBlock)?.cidr === "0.0.0.0/0";
    peers += Array.isArray(list) && list.length > 0 && !list.some(open) ? list.length : Infinity;
    ports += Array.isArray(rule.ports) && rule.ports.length > 0 ? rule.ports.length : Infinity;
  }
  return { peers, ports };
}
const capital = (d: string) => d[0].toUpperCase() + d.slice(1);
const count = (n: number) => (n === Infinity ? "any" : String(n));

function widerPolicy(c: Change): string[] {
  if (c.kind !== "NetworkPolicy") return [];
  const oldSpec = c.oldInputs?.spec;
  if (c.op === "delete") {
    // Policies add up: deleting one that allows something only narrows. A pure deny policy (every
    // direction it declares has no rule, like a default-deny) is what kept traffic out.
    const s = record(oldSpec) ?? {};
    const declared = Array.isArray(s.policyTypes) ? s.policyTypes : ["Ingress"];
    const pureDeny =
      declared.length > 0 &&
      declared.every((t) => (Array.isArray(s[String(t).toLowerCase()]) ? (s[String(t).toLowerCase()] as unknown[]).length === 0 : true));
    return pureDeny ? ["a deny-only NetworkPolicy is deleted: what it kept out may now pass"] : [];
  }
  if (c.op !== "update" && c.op !== "replace") return [];
  const out: string[] = [];
  for (const d of ["ingress", "egress"] as const) {
    const [a, b] = [policyBreadth(oldSpec, d), policyBreadth(c.newInputs?.spec, d)];
    if (b.peers > a.peers) out.push(`${d} peers ${count(a.peers)} → ${count(b.peers)}`);
    if (b.ports > a.ports) out.push(`${d} ports ${count(a.ports)} → ${count(b.ports)}`);
  }
  return out.length > 0 ? [`the NetworkPolicy opens wider: ${out.join(", ")}`] : [];
}

/**
 * The same Kubernetes object deleted under one Pulumi URN and created under another (a component
 * changed type, a resource was renamed): the create fails because the object exists, or the later
 * delete removes the new object (pulumi-kubernetes#2948). An alias to the old URN moves it in place.
 */
function sameObject(changes: readonly Change[]): RedFlag[] {
  const key = (c: Change) => {
    const ns = record((c.newInputs ?? c.oldInputs)?.metadata)?.namespace;
    return `${c.kind}/${typeof ns === "string" ? ns : ""}/${c.name}`;
  };
  const created = new Map(changes.filter((c) => c.op === "create").map((c) => [key(c), c]));
  const groups = new Map<string, Change[]>();
  for (const d of changes.filter((c) => c.op === "delete")) {
    const c = created.get(key(d));
    if (!c || c.urn === d.urn) continue;
    const move = `${d.component} → ${c.component}`;
    groups.set(move, [...(groups.get(move) ?? []), d]);
  }
  return [...groups].map(([move, ds]) => ({
    kind: "same-object" as const,
    reasons: [
      `**delete + create** ${move}: ${ds
        .map((d) => `${d.kind} \`${d.name}\``)
        .sort()
        .join(
          ", ",
        )} ${ds.length === 1 ? "is" : "are"} deleted under the old Pulumi URN and created under a new one, with the same Kubernetes name: ` +
        "on a cluster the create fails, or the delete removes the new object; alias the new resources to the old URNs",
    ],
  }));
}

/** At or above this share of a server's limit, a connection budget is a red flag. */
export const BUDGET_WARN_UTILISATION = 0.9;

function budgetFlags(budget: ConnectionBudget | undefined): RedFlag[] {
  if (!budget) return [];
  const flag = (store: string, limitName: string, b: StoreBudget): RedFlag[] =>
    b.utilisation >= BUDGET_WARN_UTILISATION || !b.fits
      ? [
          {
            kind: "connection-budget",
            reasons: [
              `${store} connections at peak: ${b.demand} of ${limitName} ${b.limit} (${Math.round(b.utilisation * 100)}%)` +
                (b.utilisation >= BUDGET_WARN_UTILISATION
                  ? `, within ${Math.round((1 - BUDGET_WARN_UTILISATION) * 100)}% of the limit`
                  : "") +
                (b.fits ? "" : `; with headroom it needs ${b.required}`),
            ],
          },
        ]
      : [];
  return [...flag("MySQL", "max_connections", budget.mysql), ...flag("Redis", "maxclients", budget.redis)];
}

export function redFlags(changes: readonly Change[], budget?: ConnectionBudget): RedFlag[] {
  const rules: [FlagKind, (c: Change) => string[]][] = [
    ["data-loss", destructive],
    ["quorum", quorum],
    ["kong-config", kongConfig],
    ["network-policy", widerPolicy],
  ];
  const out: RedFlag[] = [];
  // Within a kind, the worst first: the MySQL primary, then StatefulSets, volumes and Secrets.
  const worst = ["StatefulSet", "PersistentVolumeClaim", "Secret"];
  const weight = (c: Change) => (isMysqlPrimary(c) ? 0 : worst.includes(c.kind) ? worst.indexOf(c.kind) + 1 : worst.length + 1);
  const ordered = [...changes].sort((a, b) => weight(a) - weight(b));
  const moved = sameObject(changes);
  for (const [kind, rule] of rules) {
    for (const c of ordered) {
      const reasons = rule(c);
      if (reasons.length > 0) out.push({ kind, change: c, reasons });
    }
    if (kind === "data-loss") out.push(...moved);
  }
  return [...out, ...budgetFlags(budget)];
}

// ---------------------------------------------------------------------------------------------
// Markdown

/** Paths whose values are plain facts worth showing; everything else is named, never shown. */
const SHOWN_VALUE = /(^|\.)(replicas|image|storage|cpu|memory|serviceName|type|port|targetPort)$|annotations\["[^"]*-hash"\]$/;

function showValue(v: unknown): string | undefined {
  if (v === undefined) return "unset";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "string" && v !== "[secret]") return `\`${v.length > 60 ? `${v.slice(0, 57)}…` : v.replace(/`/g, "'")}\``;
  return undefined;
}

export function describeField(c: Change, path: string, kind: string): string {
  const forces = kind.endsWith("-replace") ? " (forces replacement)" : "";
  const what = kind.startsWith("add") ? " added" : kind.startsWith("delete") ? " removed" : "";
  if (c.kind !== "Secret" && SHOWN_VALUE.test(path)) {
    const [a, b] = [showValue(valueAtPath(c.oldInputs, path)), showValue(valueAtPath(c.newInputs, path))];
    if (a !== undefined && b !== undefined && a !== b) return `\`${path}\` ${a} → ${b}${forces}`;
  }
  return `\`${path}\`${what}${forces}`;
}

const MAX_FIELDS = 4;
function changeLine(c: Change): string {
  const fields = Object.entries(c.diff).map(([p, k]) => describeField(c, p, k));
  const shown = fields.slice(0, MAX_FIELDS).join(", ") + (fields.length > MAX_FIELDS ? `, and ${fields.length - MAX_FIELDS} more` : "");
  return `**${c.op}** ${c.kind} \`${c.name}\`${shown ? `: ${shown}` : ""}`;
}

/**
 * One line per change that has fields to show; changes with nothing more to say (creates, deletes)
 * share one line per op, so a new component is one line, not ten. Strongest op first.
 */
export function componentLines(changes: readonly Change[]): string[] {
  const sorted = [...changes].sort(
    (a, b) => STRENGTH[b.op] - STRENGTH[a.op] || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name),
  );
  const out: string[] = [];
  for (const op of [...new Set(sorted.map((c) => c.op))]) {
    const ofOp = sorted.filter((c) => c.op === op);
    const bare = ofOp.filter((c) => Object.keys(c.diff).length === 0);
    out.push(...ofOp.filter((c) => Object.keys(c.diff).length > 0).map(changeLine));
    if (bare.length > 0) out.push(`**${op}** ${bare.map((c) => `${c.kind} \`${c.name}\``).join(", ")}`);
  }
  return out;
}

export interface SummaryOptions {
  /** Stack (stage) name for the heading; else taken from the URNs. */
  readonly stage?: string;
  /** The stage's connection budget, to flag one near its limit. */
  readonly budget?: ConnectionBudget;
  /** Where the budget came from, for the footnote. */
  readonly budgetSource?: string;
}

export function summaryMarkdown(digest: PreviewDigest, opts: SummaryOptions = {}): string {
  const changes = changesOf(digest);
  const flags = redFlags(changes, opts.budget);
  const firstUrn = digest.steps?.[0]?.urn;
  const stack = opts.stage ?? (firstUrn ? parseUrn(firstUrn).stack : "?");
  const out: string[] = [`### Pulumi preview of stack \`${stack}\``, ""];

  const counts = (["replace", "delete", "update", "create", "import"] as const)
    .map((op) => [op, changes.filter((c) => c.op === op).length] as const)
    .filter(([, n]) => n > 0)
    .map(([op, n]) => `${n} to ${op}`);
  const same = digest.changeSummary?.same;
  out.push(counts.length > 0 ? `${counts.join(" · ")}${same ? ` (${same} unchanged, not listed)` : ""}` : "No changes.", "");

  const errors = (digest.diagnostics ?? []).filter((d) => d.severity === "error").length;
  if (errors > 0)
    out.push(`**The preview reported ${errors} error${errors === 1 ? "" : "s"}**: it may be incomplete; read its log before merging.`, "");

  if (flags.length > 0) {
    out.push(`#### Red flags (${flags.length})`, "");
    for (const f of flags) {
      const c = f.change;
      out.push(
        c ? `- **${c.op}** ${c.kind} \`${c.name}\` (${c.tier} · ${c.component}): ${f.reasons.join("; ")}.` : `- ${f.reasons.join("; ")}.`,
      );
    }
    out.push("");
  } else if (changes.length > 0) out.push("No red flags.", "");

  if (changes.length > 0) {
    out.push("#### Changes by tier", "");
    const tiers = [...new Set(changes.map((c) => c.tier))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    for (const tier of tiers) {
      out.push(`**${tier}**`, "");
      const inTier = changes.filter((c) => c.tier === tier);
      for (const component of [...new Set(inTier.map((c) => c.component))].sort()) {
        out.push(`- ${component}`);
        out.push(...componentLines(inTier.filter((x) => x.component === component)).map((l) => `  - ${l}`));
      }
      out.push("");
    }
  }

  if (opts.budget) {
    const pct = (b: StoreBudget) => `${b.demand} of ${b.limit} (${Math.round(b.utilisation * 100)}%)`;
    out.push(
      `Connection budget at peak${opts.budgetSource ? ` (${opts.budgetSource})` : ""}: MySQL ${pct(opts.budget.mysql)}, Redis ${pct(opts.budget.redis)}.`,
      "",
    );
  }
  return out.join("\n");
}

const rank = (tier: string) => {
  const i = (TIER_ORDER as readonly string[]).indexOf(tier);
  return i === -1 ? TIER_ORDER.length : i;
};
