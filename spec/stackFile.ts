/**
 * Reads a stack file (`stacks/Pulumi.<stack>.yaml`) without the engine, for the CLI validator,
 * `promote` and `compare`. The engine path (index.ts) reads the same keys through pulumi.Config.
 */
import * as fs from "fs";
import * as path from "path";
import { parseDocument } from "yaml";
import { CONFIG_NS, REQUIRED_SECRETS, referencedSecrets, type RawStack, type SecretState } from "./config";

/** `stacks/Pulumi.micro.yaml` -> `micro`. */
export function stackNameOf(file: string): string {
  const m = /^Pulumi\.(.+)\.ya?ml$/.exec(path.basename(file));
  if (!m) throw new Error(`${file}: a stack file is named Pulumi.<stack>.yaml`);
  return m[1];
}

function secretState(v: unknown): SecretState {
  if (v === undefined || v === null) return "missing";
  return typeof v === "object" && typeof (v as { secure?: unknown }).secure === "string" ? "secret" : "plaintext";
}

/** Reads the config block of a stack file into the shape validateStack takes. */
export function readStackFile(file: string): { stack: string; raw: RawStack } {
  return parseStackFile(file, fs.readFileSync(file, "utf8"));
}

/** A stack file's `text` read as readStackFile reads the file; `file` names the stack and the messages. */
export function parseStackFile(file: string, text: string): { stack: string; raw: RawStack } {
  const stack = stackNameOf(file);
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`stack ${stack}: ${file} is not valid YAML: ${doc.errors[0].message}`);
  const config = ((doc.toJS() as { config?: Record<string, unknown> } | null)?.config ?? {}) as Record<string, unknown>;
  const get = (k: string) => config[`${CONFIG_NS}:${k}`];
  const spec = get("spec");
  const secrets: Record<string, SecretState> = {};
  for (const k of [...REQUIRED_SECRETS, ...referencedSecrets(spec)]) secrets[k] = secretState(get(k));
  return { stack, raw: { spec, target: get("target"), secrets, overrides: get("specOverrides") } };
}
