/**
 * What every test that starts its own local cluster (scripts/cluster.sh) shares: free ports for
 * this instance, so it never meets a developer's cluster or another test's, and a bounded wait
 * for a condition the cluster reaches on its own schedule.
 */
import { freePort } from "./proc";

/** Sets the cluster's ports in `env` to five distinct free ones (freePort picks at random, so two picks could meet). */
export async function useFreeClusterPorts(env: NodeJS.ProcessEnv): Promise<void> {
  const ports = new Set<number>();
  while (ports.size < 5) ports.add(await freePort());
  const [api, etcd, peer, kcm, sched] = [...ports];
  Object.assign(env, {
    STAGECRAFT_CLUSTER_API_PORT: String(api),
    STAGECRAFT_CLUSTER_ETCD_PORT: String(etcd),
    STAGECRAFT_CLUSTER_ETCD_PEER_PORT: String(peer),
    STAGECRAFT_CLUSTER_KCM_PORT: String(kcm),
    STAGECRAFT_CLUSTER_SCHEDULER_PORT: String(sched),
  });
}

/** Polls `fn` until it returns a value (an exception counts as not yet), or fails after `timeoutMs` with the last error. */
export async function eventually<T>(what: string, fn: () => T | undefined, timeoutMs = 120_000, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
