/**
 * The stage model: one pure derivation from a parsed spec to what the stage runs. Validation, the
 * components, the NetworkPolicies, the cost model and both reports read it, so each fact (replicas,
 * images, who connects to which store and with how many connections, the flows, who reads replicas, who
 * touches the registry) is worked out once, here.
 *
 * It tolerates a spec that breaks cross-field rules (a worker naming no service, say): validation
 * runs on the model and reports those with their fixes.
 */
import type { ServiceSpec, Spec } from "../spec/schema";
import { calleesFirst, calls, type Call } from "./calls";
import { connectionBudget, type ConnectionBudget } from "./connections";
import { allowedFlows, pushPublishers, type Flow } from "./flows";
import { stageImages } from "./images";
import { readsFromReplicas, storeClients, type StoreClient } from "./stores";
import { stageTotals, type StageTotals } from "./totals";
import { workloads, type Workload } from "./workloads";

export interface StageModel {
  readonly spec: Spec;
  readonly workloads: readonly Workload[];
  readonly totals: StageTotals;
  /** Every container image the stage runs, sorted. */
  readonly images: readonly string[];
  readonly calls: readonly Call[];
  /** Service names, callees before their callers: the app tier starts (and rolls) in this order. */
  readonly startOrder: readonly string[];
  readonly storeClients: readonly StoreClient[];
  readonly connections: ConnectionBudget;
  readonly flows: readonly Flow[];
  /** Pod groups that publish to push (nchan or tormq), if the stage has push. */
  readonly pushPublishers: readonly string[];
  /** Services whose reads go to the MySQL replicas. */
  readonly replicaReaders: ReadonlySet<string>;
  /** Services that register in etcd or discover a callee there (they get rpc.json and an etcd user). */
  readonly registryUsers: ReadonlySet<string>;
}

export function stageModel(spec: Spec): StageModel {
  const ws = workloads(spec);
  const edges = calls(spec.services);
  const clients = storeClients(spec);
  const names = (f: (s: ServiceSpec) => boolean) => new Set(spec.services.filter(f).map((s) => s.name));
  return {
    spec,
    workloads: ws,
    totals: stageTotals(ws),
    images: stageImages(spec),
    calls: edges,
    startOrder: calleesFirst(spec.services, edges),
    storeClients: clients,
    connections: connectionBudget(spec, clients),
    flows: allowedFlows(spec, edges, clients),
    pushPublishers: pushPublishers(spec),
    replicaReaders: names((s) => readsFromReplicas(s, spec)),
    // The registry's clients, as the store clients list them (the services that register or discover).
    registryUsers: new Set(clients.filter((c) => c.purpose === "registry").map((c) => c.client)),
  };
}
