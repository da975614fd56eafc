import { callGraph, edges, groups, layered } from "../../../../policy/rules/callGraph";
import { deployment, goodContainer, labels, resource, allow } from "../resources";

const service = (name: string, layer: "app" | "data") =>
  deployment(name, [goodContainer({ name })], labels(name, layer === "data" ? "rpc" : "web", "app", { "stagecraft.dev/layer": layer }));
const kong = deployment("kong", [goodContainer({ name: "kong" })], labels("kong", "gateway", "edge"));
const push = deployment("push", [goodContainer({ name: "push" })], labels("push", "push", "app"));
const ddd = [kong, push, service("web", "app"), service("feed", "app"), service("user-data", "data"), service("content-data", "data")];

describe("call-graph-layers", () => {
  test("reads pod groups from workloads and edges from either end of a NetworkPolicy; DNS in kube-system is no edge", () => {
    expect(groups(ddd).get("user-data")).toEqual({ tier: "app", layer: "data" });
    const ingress = resource("NetworkPolicy", {
      metadata: { name: "allow-feed", namespace: "stagecraft" },
      spec: {
        podSelector: { matchLabels: { "app.kubernetes.io/name": "feed" } },
        ingress: [{ from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "kong" } } }] }],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
                podSelector: { matchLabels: { "app.kubernetes.io/name": "kube-dns" } },
              },
            ],
          },
        ],
      },
    });
    expect(edges([ingress, allow("web", ["user-data"])]).map((e) => `${e.from}->${e.to}`)).toEqual(["kong->feed", "web->user-data"]);
  });

  test("ddd's own graph (app -> data, data -> stores and push fan-out, edge -> app) passes", () => {
    const policies = [
      allow("kong", ["web", "feed"]),
      allow("web", ["user-data", "content-data", "push"]),
      allow("feed", ["content-data", "user-data"]),
      allow("user-data", ["mysql", "redis", "etcd", "push"]),
    ];
    expect(callGraph.checkStack([...ddd, ...policies])).toEqual([]);
  });

  test("an application service calling another in a layered stage fails, on the NetworkPolicy that opens it", () => {
    const bad = allow("web", ["feed"]);
    const found = callGraph.checkStack([...ddd, bad]);
    expect(found).toEqual([
      {
        urn: bad.urn,
        message:
          "NetworkPolicy stagecraft/allow-web opens web -> feed: application service web calls application service feed: application services do not call each other; share a data service instead. Fix: remove 'feed' from the calls of web (Stagecraft: spec.services[…].calls)",
      },
    ]);
  });

  test("a data service depending on an application service or the edge fails", () => {
    const found = callGraph.checkStack([...ddd, allow("user-data", ["web", "kong"])]).map((f) => f.message);
    expect(found).toEqual([
      "NetworkPolicy stagecraft/allow-user-data opens user-data -> web: data service user-data depends on web (an application service): data services depend on nothing above them. Fix: remove 'web' from the calls of user-data (Stagecraft: spec.services[…].calls)",
      "NetworkPolicy stagecraft/allow-user-data opens user-data -> kong: data service user-data depends on kong (the edge): data services depend on nothing above them. Fix: remove 'kong' from the calls of user-data (Stagecraft: spec.services[…].calls)",
    ]);
  });

  test("an open stage (no data services) lets application services call each other; the Namespace annotation decides when present", () => {
    const split = [kong, service("web", "app"), service("feed", "app"), allow("web", ["feed"])];
    expect(layered(split, groups(split))).toBe(false);
    expect(callGraph.checkStack(split)).toEqual([]);
    const ns = (rules: string) =>
      resource("Namespace", { metadata: { name: "stagecraft", annotations: { "stagecraft.dev/call-rules": rules } } });
    expect(callGraph.checkStack([...split, ns("layered")])).toHaveLength(1);
    expect(callGraph.checkStack([...ddd, allow("web", ["feed"]), ns("open")])).toEqual([]);
  });
});
