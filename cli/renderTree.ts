/**
 * `stagecraft render-tree RAW OUT`: turns the provider's render output (one file per object,
 * named by apiVersion and kind) into a tree a pull request can diff: OUT/<tier>/<kind>-<name>.yaml,
 * keys sorted, Secret values redacted (the render transform already does that; this is the second
 * lock on the door). OUT is rewritten whole, so objects that left the stage leave the tree.
 */
import * as fs from "fs";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import { TIER_LABEL } from "../model/names";
import { REDACTED, REDACTED_KEYS } from "../components/platform/redact";
import { portableYaml } from "./portableYaml";

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** Objects with no tier label belong to the platform (Namespace, NetworkPolicies) or to `other`. */
export function tierOf(o: K8sObject): string {
  const label = o.metadata.labels?.[TIER_LABEL];
  if (label) return label;
  return ["Namespace", "NetworkPolicy"].includes(o.kind) ? "platform" : "other";
}

/** `<tier>/<kind>-<name>.yaml`, lower case: stable for the same object across runs and stages. */
export function treePath(o: K8sObject): string {
  return path.join(tierOf(o), `${o.kind.toLowerCase()}-${o.metadata.name}.yaml`);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  return v;
}

/** Secret values never reach the tree, whatever the raw file holds. */
export function redactObject(o: K8sObject): K8sObject {
  if (o.kind !== "Secret") return o;
  // Keys survive as stringData (still a valid Secret), values never. The render transform hands the
  // provider only the keys, in an annotation; they come back here as stringData.
  const { data, stringData, ...rest } = o;
  const annotations = { ...(rest.metadata as { annotations?: Record<string, string> }).annotations };
  const listed = annotations[REDACTED_KEYS]?.split(",").filter(Boolean) ?? [];
  delete annotations[REDACTED_KEYS];
  const metadata = { ...rest.metadata, annotations: Object.keys(annotations).length > 0 ? annotations : undefined };
  if (!metadata.annotations) delete metadata.annotations;
  const keys = [
    ...listed,
    ...Object.keys((data as Record<string, unknown>) ?? {}),
    ...Object.keys((stringData as Record<string, unknown>) ?? {}),
  ];
  return { ...rest, metadata, stringData: Object.fromEntries([...new Set(keys)].sort().map((k) => [k, REDACTED])) } as K8sObject;
}

/** Reads every object of every YAML file under `dir`. */
export function readObjects(dir: string): K8sObject[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e.name)) files.push(p);
    }
  };
  walk(dir);
  return files.sort().flatMap((f) =>
    parseAllDocuments(fs.readFileSync(f, "utf8"))
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => !!o),
  );
}

export function renderTreeCommand(args: string[]): number {
  const [raw, out] = args;
  if (!raw || !out) {
    console.error("usage: stagecraft render-tree <raw provider output dir> <out dir>");
    return 2;
  }
  const objects = readObjects(raw);
  fs.rmSync(out, { recursive: true, force: true });
  const seen = new Map<string, string>();
  for (const o of objects) {
    const rel = treePath(o);
    const prior = seen.get(rel);
    if (prior) throw new Error(`two objects map to ${rel}: ${prior} and ${o.apiVersion}/${o.kind}`);
    seen.set(rel, `${o.apiVersion}/${o.kind}`);
    const file = path.join(out, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, portableYaml(sortKeys(redactObject(o))));
  }
  console.log(`${objects.length} objects -> ${out}`);
  return 0;
}
