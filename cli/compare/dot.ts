/**
 * The architecture diagram of a stage as Graphviz DOT: clients -> edge -> app -> data, left to right,
 * one cluster per tier, the call graph in bold, the push path in orange. A pure function of the stage
 * model: the calls and the stores' clients it draws are the ones the NetworkPolicies open and the
 * connection budget counts. `dot -Tsvg` turns it into the picture (see graphviz.ts).
 */
import { NAMES, workerName } from "../../model/names";
import type { StageModel } from "../../model/stage";
import type { StoreClient } from "../../model/stores";
import type { ServiceSpec, Spec } from "../../spec/schema";

/** Colours the legend in the report names: keep them in one place. */
export const DOT_COLOURS = { call: "#1f5fbf", push: "#d9730d", data: "#7a7a7a", traffic: "#333333" } as const;

/** A DOT double-quoted string: backslashes and quotes escaped, lines joined with DOT's centred newline. */
export function dotString(...lines: string[]): string {
  return `"${lines.map((l) => l.replace(/\\/g, "\\\\").replace(/"/g, '\\"')).join("\\n")}"`;
}

type Attrs = Record<string, string | number>;
const attrs = (a: Attrs) =>
  Object.entries(a)
    .map(([k, v]) => `${k}=${typeof v === "number" ? String(v) : dotString(...v.split("\n"))}`)
    .join(", ");

// Node ids carry their tier so a service called like a data store ("redis") never merges with it.
const id = {
  clients: "clients",
  edge: (name: string) => `edge_${name}`,
  svc: (name: string) => `svc_${name}`,
  app: (name: string) => `app_${name}`,
  data: (name: string) => `data_${name}`,
};

const replicas = (n: number) => `${n} replica${n === 1 ? "" : "s"}`;
const scale = (s: ServiceSpec) => (s.hpa ? `${s.hpa.minReplicas}–${s.hpa.maxReplicas} replicas (HPA)` : replicas(s.replicas));

/** How a store client's edge is labelled: the purpose, unless it is plain data access. */
function purposeLabel(c: StoreClient, rpcServices: ReadonlySet<string>): string | undefined {
  if (c.purpose === "data") return undefined;
  if (c.purpose === "registry") return rpcServices.has(c.client) ? "registers" : "discovers";
  return c.purpose;
}

/** Collects DOT lines: nodes, edges and nested clusters. */
class DotWriter {
  readonly lines: string[] = [];
  node(nodeId: string, a: Attrs, indent = "    "): void {
    this.lines.push(`${indent}${dotString(nodeId)} [${attrs(a)}];`);
  }
  edge(from: string, to: string, a: Attrs = {}): void {
    this.lines.push(`  ${dotString(from)} -> ${dotString(to)}${Object.keys(a).length > 0 ? ` [${attrs(a)}]` : ""};`);
  }
  cluster(name: string, label: string, colour: string, body: () => void, indent = "  "): void {
    this.lines.push(`${indent}subgraph ${dotString(`cluster_${name}`)} {`);
    this.lines.push(
      `${indent}  label=${dotString(label)}; style="rounded,filled"; color=${dotString(colour)}; fillcolor=${dotString(`${colour}22`)};`,
    );
    body();
    this.lines.push(`${indent}}`);
  }
}

function edgeTier(w: DotWriter, spec: Spec): void {
  const { nginx, kong } = spec.edge;
  w.cluster("edge", "edge", "#8e44ad", () => {
    if (nginx)
      w.node(id.edge(NAMES.nginx), {
        label: ["Nginx", `${replicas(nginx.replicas)} · LoadBalancer`, ...(spec.push?.kind === "nchan" ? ["+ nchan push"] : [])].join("\n"),
      });
    if (kong) w.node(id.edge(NAMES.kong), { label: ["Kong (DB-less)", `${replicas(kong.replicas)} · LoadBalancer`, kong.auth].join("\n") });
  });
}

function appTier(w: DotWriter, spec: Spec): void {
  const push = spec.push;
  w.cluster("app", "app", "#2e86c1", () => {
    const dataLayer = spec.services.filter((s) => s.layer === "data");
    for (const s of spec.services.filter((x) => x.layer === "app"))
      w.node(
        id.svc(s.name),
        { label: [s.name, s.kind === "web" ? "Django · uWSGI" : "RPC · gevent + msgpack", scale(s)].join("\n") },
        "      ",
      );
    if (dataLayer.length > 0)
      w.cluster(
        "dataservices",
        "data services (bounded contexts)",
        "#138d75",
        () => {
          for (const s of dataLayer)
            w.node(
              id.svc(s.name),
              { label: [s.name, `RPC · ${scale(s)}`, ...s.contexts.map((c) => `${c.name}: ${c.aggregateRoot}`)].join("\n") },
              "      ",
            );
        },
        "    ",
      );
    for (const wk of spec.workers)
      w.node(id.app(workerName(wk.name)), {
        label: [`Celery ${wk.name}`, `queue ${wk.queue} · gevent ×${wk.concurrency}`, replicas(wk.replicas)].join("\n"),
      });
    if (spec.beat) w.node(id.app(NAMES.beat), { label: ["Celery beat", "1 replica (never twice)"].join("\n") });
    if (push?.kind === "tormq")
      w.node(id.app(NAMES.push), {
        label: ["push (tormq)", "Tornado + ZeroMQ", replicas(push.replicas)].join("\n"),
        color: DOT_COLOURS.push,
      });
    if (spec.shortUrl) w.node(id.app(NAMES.shortUrl), { label: ["short URL", "OpenResty", replicas(spec.shortUrl.replicas)].join("\n") });
  });
}

function dataTier(w: DotWriter, spec: Spec): void {
  const { mysql, redis, etcd } = spec.data;
  w.cluster("data", "data", "#b9770e", () => {
    w.node(id.data(NAMES.mysql), {
      label: ["MySQL primary", `${mysql.storage} · max_connections ${mysql.maxConnections}`].join("\n"),
      shape: "cylinder",
    });
    if (mysql.readReplicas > 0)
      w.node(id.data(NAMES.mysqlReplica), {
        label: ["MySQL read replicas", `${replicas(mysql.readReplicas)} · GTID`].join("\n"),
        shape: "cylinder",
      });
    w.node(id.data(NAMES.redis), { label: ["Redis", `${redis.storage} · maxclients ${redis.maxclients}`].join("\n"), shape: "cylinder" });
    if (etcd) w.node(id.data(NAMES.etcd), { label: ["etcd registry", `${etcd.members} members`].join("\n"), shape: "cylinder" });
  });
}

/** Traffic: clients reach the first edge hop; the router (Kong when present) sends each route on. Returns the router. */
function trafficEdges(w: DotWriter, spec: Spec): string | undefined {
  const { nginx, kong } = spec.edge;
  const entry = nginx ? id.edge(NAMES.nginx) : kong ? id.edge(NAMES.kong) : undefined;
  const router = kong ? id.edge(NAMES.kong) : entry;
  if (entry) w.edge(id.clients, entry, { label: "HTTPS" });
  if (entry && router && entry !== router) w.edge(entry, router);
  if (router) {
    for (const s of spec.services) if (s.routes.length > 0) w.edge(router, id.svc(s.name), { label: s.routes.join(" ") });
    if (spec.shortUrl) w.edge(router, id.app(NAMES.shortUrl), { label: spec.shortUrl.route });
  }
  return router;
}

/** The push path: subscribers in through the edge, the services' code publishing. */
function pushEdges(w: DotWriter, model: StageModel, router: string | undefined, nodeOf: (group: string) => string): void {
  const { push, edge } = model.spec;
  const dashed = { color: DOT_COLOURS.push, style: "dashed" };
  if (push?.kind === "nchan" && edge.nginx) {
    w.edge(id.clients, id.edge(NAMES.nginx), { label: `subscribe ${push.subscriberPath}`, ...dashed });
    for (const p of model.pushPublishers)
      w.edge(nodeOf(p), id.edge(NAMES.nginx), { label: `publish ${push.publisherPath} (internal)`, ...dashed });
  }
  if (push?.kind === "tormq") {
    if (router) w.edge(router, id.app(NAMES.push), { label: `websocket ${push.path}`, ...dashed });
    for (const p of model.pushPublishers) w.edge(nodeOf(p), id.app(NAMES.push), { label: "publish", ...dashed });
  }
}

/** Data: who holds connections to which store, one edge per client and store (jobs left out). */
function storeEdges(w: DotWriter, model: StageModel, nodeOf: (group: string) => string): void {
  const rpcServices = new Set(model.spec.services.filter((s) => s.kind === "rpc").map((s) => s.name));
  const drawn = new Set<string>();
  for (const c of model.storeClients) {
    if (c.purpose === "migration" || c.purpose === "bootstrap" || drawn.has(`${c.client}|${c.store}`)) continue;
    drawn.add(`${c.client}|${c.store}`);
    const label = purposeLabel(c, rpcServices);
    w.edge(nodeOf(c.client), id.data(c.store), {
      color: DOT_COLOURS.data,
      fontcolor: DOT_COLOURS.data,
      penwidth: 0.8,
      arrowsize: 0.6,
      ...(label ? { label } : {}),
    });
  }
}

export function stageDot(model: StageModel): string {
  const { spec } = model;
  const byName = new Map(spec.services.map((s) => [s.name, s]));
  // A pod group's node: a service, an edge workload or another app workload.
  const nodeOf = (group: string) =>
    byName.has(group) ? id.svc(group) : group === NAMES.nginx || group === NAMES.kong ? id.edge(group) : id.app(group);
  const w = new DotWriter();
  w.lines.push(`digraph ${dotString(spec.stage)} {`);
  w.lines.push(`  graph [rankdir=LR, fontname="Helvetica", fontsize=12, nodesep=0.25, ranksep=0.6, bgcolor="white", pad=0.2];`);
  w.lines.push(`  node [shape=box, style="rounded,filled", fillcolor="white", fontname="Helvetica", fontsize=10];`);
  w.lines.push(`  edge [fontname="Helvetica", fontsize=9, color=${dotString(DOT_COLOURS.traffic)}];`);
  w.node(id.clients, { label: "clients", shape: "oval", fillcolor: "#f2f2f2" }, "  ");
  edgeTier(w, spec);
  appTier(w, spec);
  dataTier(w, spec);
  const router = trafficEdges(w, spec);

  // The call graph: HTTP between Django services, RPC from micro on.
  for (const c of model.calls)
    w.edge(id.svc(c.from), id.svc(c.to), { label: c.protocol === "http" ? "HTTP" : "RPC", color: DOT_COLOURS.call, penwidth: 2 });
  pushEdges(w, model, router, nodeOf);
  storeEdges(w, model, nodeOf);

  // Jobs: a service queues tasks for its Celery workers; beat runs the service's code on a schedule.
  // These edges also place workers right of their service, so their data edges stay short.
  for (const wk of spec.workers)
    if (byName.has(wk.service)) w.edge(id.svc(wk.service), id.app(workerName(wk.name)), { label: `tasks: ${wk.queue}`, style: "dotted" });
  if (spec.beat && byName.has(spec.beat.service)) w.edge(id.svc(spec.beat.service), id.app(NAMES.beat), { style: "invis" });
  // Not a rank constraint: the replicas sit beside the primary, not one column further right.
  if (spec.data.mysql.readReplicas > 0)
    w.edge(id.data(NAMES.mysql), id.data(NAMES.mysqlReplica), {
      label: "replicates",
      color: DOT_COLOURS.data,
      fontcolor: DOT_COLOURS.data,
      constraint: "false",
    });
  w.lines.push("}");
  return `${w.lines.join("\n")}\n`;
}
