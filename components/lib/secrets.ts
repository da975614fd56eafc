/**
 * Passwords derived from one secret seed (`stagecraft:secretSeed`): HMAC-SHA256(seed, purpose).
 * Stable across runs and stage moves (a MySQL user's password never changes by accident), needs
 * no extra provider, and stays a Pulumi secret end to end. Rotating the seed rotates them all.
 */
import { createHmac } from "crypto";
import * as pulumi from "@pulumi/pulumi";

/** Pure: the password for one purpose, e.g. "mysql/user/orders". 32 URL-safe characters. */
export function derivePassword(seed: string, purpose: string): string {
  return createHmac("sha256", seed).update(`stagecraft/${purpose}`).digest("base64url").slice(0, 32);
}

/** The same, on a secret seed: the result stays secret. */
export function derivedSecret(seed: pulumi.Output<string>, purpose: string): pulumi.Output<string> {
  return pulumi.secret(seed.apply((s) => derivePassword(s, purpose)));
}
