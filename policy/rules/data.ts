/**
 * Data protection, on the goal state the analyzer sees: objects that hold data keep it through a
 * delete or a scale-down, are never deleted before their replacement exists, and etcd never runs
 * (or is evicted) below quorum. Whether a given preview replaces or deletes one is a property of the
 * plan, not of any resource, which a policy pack is never shown: policy/plan.ts checks that.
 */
import { COMPONENT_LABEL, STORE_COMPONENTS, TIER_LABEL, TYPES } from "../contract";
import { podSpecOf } from "./workload";
import { describe, metaOf, specOf, type Finding, type PolicyResource, type ResourceRule, type StackRule } from "./types";

interface StatefulSetSpec {
  readonly replicas?: number;
  readonly selector?: { readonly matchLabels?: Readonly<Record<string, string>> };
  readonly template?: { readonly metadata?: { readonly labels?: Readonly<Record<string, string>> } };
  readonly volumeClaimTemplates?: readonly unknown[];
  readonly persistentVolumeClaimRetentionPolicy?: { readonly whenDeleted?: string; readonly whenScaled?: string };
}

interface PdbSpec {
  readonly selector?: { readonly matchLabels?: Readonly<Record<string, string>> };
  readonly minAvailable?: number | string;
  readonly maxUnavailable?: number | string;
}

/** A data store's StatefulSet: a data-tier store by its labels (MySQL, Redis, etcd). */
export function isStoreStatefulSet(r: PolicyResource): boolean {
  if (r.type !== TYPES.statefulSet) return false;
  const labels = { ...(specOf<StatefulSetSpec>(r).template?.metadata?.labels ?? {}), ...(metaOf(r).labels ?? {}) };
  return labels[TIER_LABEL] === "data" && STORE_COMPONENTS.includes(labels[COMPONENT_LABEL] ?? "");
}

/**
 * Holds data: every PersistentVolumeClaim, a StatefulSet with claim templates or of a store, and a
 * data-tier Secret (the stores' credentials: lose one and the data behind it is locked away).
 */
export function holdsData(r: PolicyResource): boolean {
  if (r.type === TYPES.pvc) return true;
  if (r.type === TYPES.statefulSet) return isStoreStatefulSet(r) || (specOf<StatefulSetSpec>(r).volumeClaimTemplates ?? []).length > 0;
  if (r.type === TYPES.secret) return metaOf(r).labels?.[TIER_LABEL] === "data";
  return false;
}

export const claimsRetained: ResourceRule = {
  name: "data-claims-retained",
  description: "A StatefulSet that holds data keeps it in claim templates, retained when it is deleted or scaled down.",
  level: "mandatory",
  check(r) {
    if (r.type !== TYPES.statefulSet || !holdsData(r)) return [];
    const spec = specOf<StatefulSetSpec>(r);
    const out: string[] = [];
    if ((spec.volumeClaimTemplates ?? []).length === 0)
      out.push(
        `${describe(r)} is a data store without volumeClaimTemplates, so its data dies with its pods. Fix: add a volumeClaimTemplate for its data directory`,
      );
    const p = spec.persistentVolumeClaimRetentionPolicy;
    if (p?.whenDeleted !== "Retain" || p.whenScaled !== "Retain")
      out.push(
        `${describe(r)} has persistentVolumeClaimRetentionPolicy ${p ? JSON.stringify(p) : "unset"}, so deleting or scaling it could delete its volumes. Fix: set whenDeleted: Retain and whenScaled: Retain`,
      );
    return out;
  },
};

export const noDeleteBeforeReplace: ResourceRule = {
  name: "data-no-delete-before-replace",
  description: "An object that holds data is never deleted before its replacement exists.",
  level: "mandatory",
  check(r) {
    return holdsData(r) && r.opts?.deleteBeforeReplace === true
      ? [
          `${describe(r)} holds data and sets deleteBeforeReplace, so any replacement deletes it first. Fix: remove the deleteBeforeReplace option`,
        ]
      : [];
  },
};

/** etcd by its image (`…/etcd:v3.5.17`): the rule must hold whatever the workload is called. */
export function isEtcd(r: PolicyResource): boolean {
  if (r.type !== TYPES.statefulSet) return false;
  return (podSpecOf(r)?.containers ?? []).some((c) => /(^|\/)etcd(:|@|$)/.test(c.image ?? ""));
}

/** Members that must stay up for etcd to answer: a majority. */
export const quorum = (members: number): number => Math.floor(members / 2) + 1;

const selects = (selector: PdbSpec["selector"], labels: Readonly<Record<string, string>>) =>
  selector?.matchLabels !== undefined && Object.entries(selector.matchLabels).every(([k, v]) => labels[k] === v);

/** How many of `members` pods a PDB lets an eviction take (percentages round as the disruption controller does). */
export function allowedDisruptions(pdb: PdbSpec, members: number): number {
  const value = (v: number | string, roundUp: boolean) => {
    if (typeof v === "number") return v;
    const pct = /^(\d+)%$/.exec(v);
    if (!pct) return Number(v);
    const exact = (Number(pct[1]) * members) / 100;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  };
  if (pdb.maxUnavailable !== undefined) return value(pdb.maxUnavailable, false);
  if (pdb.minAvailable !== undefined) return members - value(pdb.minAvailable, true);
  return members;
}

export const etcdQuorum: StackRule = {
  name: "etcd-quorum",
  description: "etcd runs an odd number of members, at least 3, and no eviction takes it below quorum.",
  level: "mandatory",
  checkStack(resources) {
    const out: Finding[] = [];
    const pdbs = resources.filter((r) => r.type === "kubernetes:policy/v1:PodDisruptionBudget");
    for (const r of resources.filter(isEtcd)) {
      const spec = specOf<StatefulSetSpec>(r);
      const n = spec.replicas ?? 1;
      const add = (message: string) => out.push({ urn: r.urn, message: `${describe(r)} ${message}` });
      if (n < 3 || n % 2 === 0)
        add(
          `runs ${n} member(s): ${n < 3 ? "fewer than 3 cannot lose one and keep quorum" : "an even count adds no fault tolerance and can split votes"}. Fix: set replicas to ${n < 3 ? 3 : n + 1} (Stagecraft: spec.data.etcd.members)`,
        );
      const labels = spec.template?.metadata?.labels ?? {};
      const ns = metaOf(r).namespace;
      const covering = pdbs.filter((p) => metaOf(p).namespace === ns && selects(specOf<PdbSpec>(p).selector, labels));
      if (covering.length === 0)
        add(`has no PodDisruptionBudget, so a node drain may evict members below quorum. Fix: add one with minAvailable: ${quorum(n)}`);
      for (const p of covering) {
        const allowed = allowedDisruptions(specOf<PdbSpec>(p), n);
        if (allowed > n - quorum(n))
          add(
            `is covered by ${describe(p)}, which lets evictions take ${allowed} of ${n} members, below quorum (${quorum(n)}). Fix: set its minAvailable to ${quorum(n)}`,
          );
      }
    }
    return out;
  },
};

export const DATA_RULES = {
  resource: [claimsRetained, noDeleteBeforeReplace] as readonly ResourceRule[],
  stack: [etcdQuorum] as readonly StackRule[],
};
