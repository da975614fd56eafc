import { DOT_COLOURS, dotString, stageDot } from "../../../../cli/compare/dot";
import { stageModelOf } from "../../../lib/stacks";

/** Node ids declared (`"id" [`) and edges (`"a" -> "b"`) of a DOT text, with each edge's attribute text. */
function graph(dot: string) {
  const nodes = new Set([...dot.matchAll(/^\s*"([^"]+)" \[/gm)].map((m) => m[1]));
  const edges = [...dot.matchAll(/^\s*"([^"]+)" -> "([^"]+)"(?: \[(.*)\])?;$/gm)].map((m) => ({ from: m[1], to: m[2], attrs: m[3] ?? "" }));
  const has = (from: string, to: string, attr?: RegExp) =>
    edges.some((e) => e.from === from && e.to === to && (!attr || attr.test(e.attrs)));
  return { nodes, edges, has };
}

describe("stageDot", () => {
  const stages = ["mvc", "split", "micro", "ddd"];

  test.each(stages)("%s: one graph, three tier clusters, every edge between declared nodes", (stage) => {
    const dot = stageDot(stageModelOf(stage));
    expect(dot).toMatch(new RegExp(`^digraph "${stage}" \\{`));
    expect(dot.trimEnd().endsWith("}")).toBe(true);
    expect((dot.match(/\{/g) ?? []).length).toBe((dot.match(/\}/g) ?? []).length);
    for (const tier of ["edge", "app", "data"]) expect(dot).toContain(`subgraph "cluster_${tier}"`);
    const g = graph(dot);
    expect(g.edges.length).toBeGreaterThan(5);
    for (const e of g.edges) {
      expect(g.nodes).toContain(e.from);
      expect(g.nodes).toContain(e.to);
    }
  });

  test("mvc: clients -> Nginx -> web -> MySQL and Redis; nchan push through Nginx", () => {
    const g = graph(stageDot(stageModelOf("mvc")));
    expect(g.has("clients", "edge_nginx", /HTTPS/)).toBe(true);
    expect(g.has("edge_nginx", "svc_web", /label="\/"/)).toBe(true);
    expect(g.has("svc_web", "data_mysql")).toBe(true);
    expect(g.has("svc_web", "data_redis")).toBe(true);
    expect(g.has("clients", "edge_nginx", /subscribe \/sub/)).toBe(true);
    expect(g.has("svc_web", "edge_nginx", /publish \/pub \(internal\)/)).toBe(true);
    expect(g.has("svc_web", "app_celery-default", /tasks: default/)).toBe(true);
    expect(g.nodes).not.toContain("edge_kong");
    expect(g.nodes).not.toContain("data_etcd");
    expect(g.nodes).not.toContain("data_mysql-replica");
  });

  test("split: HTTP call graph in the call colour, reads to the replicas, tormq push", () => {
    const g = graph(stageDot(stageModelOf("split")));
    const call = new RegExp(`label="HTTP", color="${DOT_COLOURS.call}"`);
    expect(g.has("svc_web", "svc_account", call)).toBe(true);
    expect(g.has("svc_web", "svc_feed", call)).toBe(true);
    expect(g.has("svc_feed", "svc_account", call)).toBe(true);
    expect(g.has("svc_feed", "data_mysql-replica", /reads/)).toBe(true);
    expect(g.has("data_mysql", "data_mysql-replica", /replicates.*constraint="false"/)).toBe(true);
    expect(g.has("edge_nginx", "app_push", new RegExp(`websocket /push.*${DOT_COLOURS.push}`))).toBe(true);
    expect(g.has("svc_web", "app_push", /publish/)).toBe(true);
  });

  test("micro: Kong routes, RPC calls, etcd registration and discovery, short URLs, shared rate-limit counters", () => {
    const g = graph(stageDot(stageModelOf("micro")));
    expect(g.has("clients", "edge_kong")).toBe(true);
    expect(g.nodes).not.toContain("edge_nginx");
    expect(g.has("svc_web", "svc_account", /label="RPC"/)).toBe(true);
    expect(g.has("svc_account", "data_etcd", /registers/)).toBe(true);
    // web registers nothing, but finds its RPC callees in etcd.
    expect(g.has("svc_web", "data_etcd", /discovers/)).toBe(true);
    expect(g.has("edge_kong", "app_shorturl", /label="\/s"/)).toBe(true);
    expect(g.has("edge_kong", "data_redis", /rate-limit counters/)).toBe(true);
  });

  test("ddd: data services in their own cluster with their bounded contexts", () => {
    const dot = stageDot(stageModelOf("ddd"));
    const cluster = /subgraph "cluster_dataservices" \{([\s\S]*?)\n {4}\}/.exec(dot)?.[1] ?? "";
    expect(cluster).toContain('"svc_user-data"');
    expect(cluster).toContain('"svc_content-data"');
    expect(cluster).toContain("account: Account\\nprofile: Profile");
    expect(cluster).not.toContain('"svc_web"');
    expect(graph(dot).has("svc_web", "data_mysql")).toBe(false);
  });

  test("dotString escapes quotes and backslashes and joins lines with DOT's newline", () => {
    expect(dotString('say "hi"', "a\\b")).toBe('"say \\"hi\\"\\na\\\\b"');
  });
});
