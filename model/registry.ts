/**
 * The RPC registry in etcd: where each service registers its instances, and which services touch
 * the registry at all. The etcd auth plan, rpc.json and the NetworkPolicies all read these.
 */
import type { ServiceSpec } from "../spec/schema";

export const DEFAULT_PREFIX_ROOT = "/stagecraft/services/";

/** A registry prefix or root: `/`-delimited segments of letters, digits, `.`, `_`, `-`. */
export const PREFIX_ROOT = /^\/([A-Za-z0-9._-]+\/)*$/;

/** The registry prefix of one service; the trailing '/' keeps `acc` from matching `account`. */
export function registryPrefix(service: string, prefixRoot: string = DEFAULT_PREFIX_ROOT): string {
  if (!PREFIX_ROOT.test(prefixRoot))
    throw new Error(`etcd registry: prefixRoot '${prefixRoot}' must start and end with '/' and hold only letters, digits, '.', '_', '-'`);
  return `${prefixRoot}${service}/`;
}

/** etcd user of a service: its name, so the Secret `etcd-user-<service>` maps one to one. */
export const etcdUserName = (service: string): string => service;

/** Names of the RPC services a service calls (callees it finds in the registry). */
export function rpcCallees(service: ServiceSpec, services: readonly ServiceSpec[]): string[] {
  const rpc = new Set(services.filter((s) => s.kind === "rpc").map((s) => s.name));
  return service.calls.filter((to) => rpc.has(to));
}

/** True when the service talks to the registry: it registers there (RPC) or discovers an RPC callee there. */
export function touchesRegistry(service: ServiceSpec, services: readonly ServiceSpec[]): boolean {
  return service.kind === "rpc" || rpcCallees(service, services).length > 0;
}
