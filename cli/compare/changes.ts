/**
 * "What changes from the previous stage", in plain words, computed from the two stage models: the edge,
 * services (added, removed, kind, layer, replicas), workers, push, short URLs, data stores and the
 * call graph. Pure; the report prints one sentence per line.
 */
import type { StageModel } from "../../model/stage";
import type { PushSpec, ServiceSpec, Spec } from "../../spec/schema";

const list = (xs: readonly string[]) => (xs.length <= 1 ? xs.join("") : `${xs.slice(0, -1).join(", ")} and ${xs[xs.length - 1]}`);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const kindWords = (k: ServiceSpec["kind"]) =>
  k === "web" ? "a Django web service (HTTP)" : "an RPC service (gevent + msgpack, registered in etcd)";
const scale = (s: ServiceSpec) => (s.hpa ? `${s.hpa.minReplicas}–${s.hpa.maxReplicas} replicas` : plural(s.replicas, "replica"));
const pushWords = (p: PushSpec | undefined) =>
  !p
    ? "no push"
    : p.kind === "nchan"
      ? `the Nginx push module (nchan, subscribe on ${p.subscriberPath})`
      : `a Tornado + ZeroMQ push service (tormq, ${plural(p.replicas, "replica")}, websocket ${p.path})`;

/** Pods and workloads, at rest and at peak. */
function totalChanges(prevModel: StageModel, nextModel: StageModel, out: string[]): void {
  const [a, b] = [prevModel.totals, nextModel.totals];
  if (a.podsAtRest !== b.podsAtRest || a.podsAtPeak !== b.podsAtPeak || a.workloads !== b.workloads)
    out.push(
      `Pods at rest go from ${a.podsAtRest} to ${b.podsAtRest} (at peak ${a.podsAtPeak} to ${b.podsAtPeak}); workloads from ${a.workloads} to ${b.workloads}.`,
    );
}

/** Nginx and Kong: who joins, who leaves, how many replicas. */
function edgeChanges(prev: Spec, next: Spec, out: string[]): void {
  const [pn, nn, pk, nk] = [prev.edge.nginx, next.edge.nginx, prev.edge.kong, next.edge.kong];
  if (nk && !pk)
    out.push(
      `Kong (DB-less, ${plural(nk.replicas, "replica")}) ${pn && !nn ? "replaces Nginx at the edge" : "joins the edge"}: it takes ` +
        `authentication (${nk.auth}) and rate limiting (${nk.rateLimit.perMinute}/min, counters ${nk.rateLimit.policy === "redis" ? "shared through Redis" : "per node"}) off the services.`,
    );
  else if (pk && !nk) out.push(`Kong leaves the edge${nn && !pn ? "; Nginx takes its place" : ""}.`);
  if (nn && !pn && !pk) out.push(`Nginx (${plural(nn.replicas, "replica")}) is added at the edge.`);
  if (pn && !nn && !(nk && !pk)) out.push("Nginx leaves the edge.");
  if (pn && nn && pn.replicas !== nn.replicas) out.push(`Nginx goes from ${pn.replicas} to ${nn.replicas} replicas.`);
  if (pk && nk && pk.replicas !== nk.replicas) out.push(`Kong goes from ${pk.replicas} to ${nk.replicas} replicas.`);
}

/** Services added and removed; kind, layer, scale, images, data and contexts of the rest. */
function serviceChanges(prev: Spec, next: Spec, out: string[]): void {
  const before = new Map(prev.services.map((s) => [s.name, s]));
  const after = new Map(next.services.map((s) => [s.name, s]));
  const added = next.services.filter((s) => !before.has(s.name));
  const removed = prev.services.filter((s) => !after.has(s.name));
  if (added.length > 0)
    out.push(
      `New ${added.length === 1 ? "service" : "services"}: ${list(added.map((s) => `${s.name} (${s.kind}${s.layer === "data" ? ", data layer" : ""}, ${scale(s)})`))}.`,
    );
  if (removed.length > 0) out.push(`${removed.length === 1 ? "Service" : "Services"} removed: ${list(removed.map((s) => s.name))}.`);
  const newImages: string[] = [];
  for (const s of next.services) {
    const p = before.get(s.name);
    if (!p) continue;
    if (p.kind !== s.kind) out.push(`${s.name} changes from ${kindWords(p.kind)} to ${kindWords(s.kind)}.`);
    if (p.layer !== s.layer) out.push(`${s.name} moves from the ${p.layer} layer to the ${s.layer} layer.`);
    if (scale(p) !== scale(s)) out.push(`${s.name} goes from ${scale(p)} to ${scale(s)}.`);
    if (p.image !== s.image) newImages.push(s.name);
    if (p.mysql && !s.mysql) out.push(`${s.name} no longer connects to MySQL itself.`);
    if (!p.mysql && s.mysql) out.push(`${s.name} gets MySQL schema ${s.mysql.schema} and user ${s.mysql.user}.`);
  }
  if (newImages.length > 0) out.push(`New images for ${list(newImages)}.`);
  // Rows follow their new owner only where its schema is new and the old one was in use.
  const prevSchemas = new Set(prev.services.flatMap((s) => (s.mysql ? [s.mysql.schema] : [])));
  for (const s of next.services) {
    if (!s.mysql || prevSchemas.has(s.mysql.schema)) continue;
    for (const a of s.mysql.adopt.filter((x) => prevSchemas.has(x.from)))
      out.push(
        `${s.name} takes over the rows of ${list(a.apps)} from schema ${a.from} into its schema ${s.mysql.schema} (copied once, ids kept, before it serves).`,
      );
  }
  for (const s of next.services) {
    const had = new Set(before.get(s.name)?.contexts.map((c) => c.name) ?? []);
    const owned = s.contexts.filter((c) => !had.has(c.name));
    if (owned.length > 0)
      out.push(
        `${s.name} owns the bounded ${owned.length === 1 ? "context" : "contexts"} ${list(owned.map((c) => `${c.name} (aggregate root ${c.aggregateRoot})`))}.`,
      );
  }
}

/** Celery workers and the beat. */
function workerChanges(prev: Spec, next: Spec, out: string[]): void {
  const pw = new Map(prev.workers.map((w) => [w.name, w]));
  const nw = new Map(next.workers.map((w) => [w.name, w]));
  const wAdded = next.workers.filter((w) => !pw.has(w.name));
  const wRemoved = prev.workers.filter((w) => !nw.has(w.name));
  if (wAdded.length > 0)
    out.push(
      `New Celery ${wAdded.length === 1 ? "worker" : "workers"}: ${list(wAdded.map((w) => `${w.name} (queue ${w.queue}, ${plural(w.replicas, "replica")})`))}.`,
    );
  if (wRemoved.length > 0)
    out.push(`Celery ${wRemoved.length === 1 ? "worker" : "workers"} removed: ${list(wRemoved.map((w) => w.name))}.`);
  for (const w of next.workers) {
    const p = pw.get(w.name);
    if (p && p.replicas !== w.replicas) out.push(`Celery worker ${w.name} goes from ${p.replicas} to ${w.replicas} replicas.`);
  }
  if (Boolean(prev.beat) !== Boolean(next.beat))
    out.push(next.beat ? "A Celery beat scheduler is added." : "The Celery beat scheduler is removed.");
}

/** Push and short URLs. */
function pushChanges(prev: Spec, next: Spec, out: string[]): void {
  if (prev.push?.kind !== next.push?.kind) out.push(`Push moves from ${pushWords(prev.push)} to ${pushWords(next.push)}.`);
  else if (prev.push?.kind === "tormq" && next.push?.kind === "tormq" && prev.push.replicas !== next.push.replicas)
    out.push(`The push service goes from ${prev.push.replicas} to ${next.push.replicas} replicas.`);
  if (next.shortUrl && !prev.shortUrl)
    out.push(`A short-URL service on OpenResty is added (${plural(next.shortUrl.replicas, "replica")}, route ${next.shortUrl.route}).`);
  if (prev.shortUrl && !next.shortUrl) out.push("The short-URL service is removed.");
}

/** MySQL, Redis and etcd. */
function dataChanges(prev: Spec, next: Spec, out: string[]): void {
  const [pm, nm] = [prev.data.mysql, next.data.mysql];
  if (pm.readReplicas === 0 && nm.readReplicas > 0)
    out.push(
      `MySQL gets ${plural(nm.readReplicas, "read replica")} (GTID replication, read-only) beside the unchanged primary; reads can go to mysql-read.`,
    );
  else if (pm.readReplicas !== nm.readReplicas) out.push(`MySQL read replicas go from ${pm.readReplicas} to ${nm.readReplicas}.`);
  if (pm.maxConnections !== nm.maxConnections) out.push(`MySQL max_connections goes from ${pm.maxConnections} to ${nm.maxConnections}.`);
  if (pm.storage !== nm.storage) out.push(`MySQL volumes go from ${pm.storage} to ${nm.storage}.`);
  const [pr, nr] = [prev.data.redis, next.data.redis];
  if (pr.maxclients !== nr.maxclients) out.push(`Redis maxclients goes from ${pr.maxclients} to ${nr.maxclients}.`);
  if (pr.storage !== nr.storage) out.push(`The Redis volume goes from ${pr.storage} to ${nr.storage}.`);
  const [pe, ne] = [prev.data.etcd, next.data.etcd];
  if (ne && !pe) out.push(`etcd (${plural(ne.members, "member")}) is added: RPC services register in it with a lease.`);
  if (pe && !ne) out.push("etcd is removed.");
  if (pe && ne && pe.members !== ne.members) out.push(`etcd goes from ${pe.members} to ${ne.members} members.`);
}

/** The call graph: new and dropped calls, and its law. */
function callChanges(prevModel: StageModel, nextModel: StageModel, out: string[]): void {
  const [prev, next] = [prevModel.spec, nextModel.spec];
  const key = (e: { from: string; to: string }) => `${e.from} → ${e.to}`;
  const pEdges = new Set(prevModel.calls.map(key));
  const nEdges = new Set(nextModel.calls.map(key));
  const newCalls = [...nEdges].filter((e) => !pEdges.has(e));
  const goneCalls = [...pEdges].filter((e) => !nEdges.has(e));
  if (newCalls.length > 0) out.push(`New calls: ${list(newCalls)}.`);
  if (goneCalls.length > 0) out.push(`Calls no longer made: ${list(goneCalls)}.`);
  if (prev.callRules !== next.callRules)
    out.push(
      next.callRules === "layered"
        ? "The call graph becomes layered: application services call data services only, never each other, and data services never call application services (checked at preview, enforced by NetworkPolicies)."
        : "The call graph is no longer layered: any acyclic graph is allowed.",
    );
}

export function stageChanges(prevModel: StageModel, nextModel: StageModel): string[] {
  const out: string[] = [];
  const [prev, next] = [prevModel.spec, nextModel.spec];
  totalChanges(prevModel, nextModel, out);
  for (const section of [edgeChanges, serviceChanges, workerChanges, pushChanges, dataChanges]) section(prev, next, out);
  callChanges(prevModel, nextModel, out);
  return out.length > 0 ? out : ["Nothing changes."];
}
