/**
 * YAML 1.1 vs 1.2: kubectl and Helm (sigs.k8s.io/yaml over go-yaml v2) read YAML 1.1, where an
 * unquoted `on`, `yes`, `n`, `0644`, `1:30` or `1_000` is a boolean or a number; the engine and
 * the `yaml` package read 1.2, where they stay strings. A manifest is safe when both readings agree.
 */
import { parseAllDocuments } from "yaml";

/** One place where the two readings differ. */
export interface Ambiguity {
  readonly doc: number;
  readonly path: string;
  readonly yaml12: unknown;
  readonly yaml11: unknown;
}

function diff(a: unknown, b: unknown, at: string, doc: number, out: Ambiguity[]): void {
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) return a.forEach((v, i) => diff(v, b[i], `${at}[${i}]`, doc, out));
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
  if (isObj(a) && isObj(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) diff(a[k], b[k], at ? `${at}.${k}` : k, doc, out);
    return;
  }
  if (!Object.is(a, b)) out.push({ doc, path: at || "(root)", yaml12: a, yaml11: b instanceof Date ? `timestamp ${b.toISOString()}` : b });
}

/** Every value of `text` (all its documents) that a YAML 1.1 reader reads differently from a 1.2 one. */
export function yaml11Ambiguities(text: string): Ambiguity[] {
  const v12 = parseAllDocuments(text).map((d) => d.toJS());
  const v11 = parseAllDocuments(text, { version: "1.1" }).map((d) => d.toJS());
  const out: Ambiguity[] = [];
  v12.forEach((d, i) => diff(d, v11[i], "", i, out));
  return out;
}

export const formatAmbiguity = (a: Ambiguity): string =>
  `document ${a.doc} ${a.path}: YAML 1.2 reads ${JSON.stringify(a.yaml12)}, YAML 1.1 reads ${JSON.stringify(a.yaml11)}`;
