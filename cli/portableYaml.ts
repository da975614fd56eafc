/**
 * YAML every reader reads the same way. The `yaml` package writes YAML 1.2, where `on`, `off`,
 * `yes`, `y`, `1:30` or `1_000` are plain strings and need no quotes; kubectl and Helm read YAML
 * 1.1 (go-yaml v2), where they are booleans and numbers (Kong's `KONG_DATABASE: off` became a
 * boolean and kubectl refused the Deployment). So every one-line string that either version would
 * read as something else is written quoted.
 */
import { Document, parse, Scalar, visit } from "yaml";

/** True when YAML 1.1 or 1.2 would read the plain scalar `s` as something other than the string `s`. */
export function readsAsNonString(s: string): boolean {
  if (s.includes("\n")) return false; // written as a block scalar, which is always a string
  try {
    return parse(s) !== s || parse(s, { version: "1.1" }) !== s;
  } catch {
    return true;
  }
}

/** `value` as YAML, with every string that a 1.1 or 1.2 reader could misread in double quotes. */
export function portableYaml(value: unknown): string {
  const doc = new Document(value);
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === "string" && readsAsNonString(node.value)) node.type = Scalar.QUOTE_DOUBLE;
    },
  });
  return doc.toString({ lineWidth: 0 });
}
