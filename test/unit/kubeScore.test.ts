import { findings, IGNORED_CHECKS, kubeScoreArgs, PENDING, pendingFor, stalePending, type ScoredObject } from "../lib/kubeScore";

const scored: ScoredObject[] = [
  {
    type_meta: { kind: "Deployment" },
    object_meta: { name: "web" },
    checks: [
      { check: { id: "container-image-tag" }, grade: 10, skipped: false, comments: null },
      {
        check: { id: "container-resources" },
        grade: 1,
        skipped: false,
        comments: [{ path: "web", summary: "CPU limit is not set", description: "…" }],
      },
      { check: { id: "pod-probes" }, grade: 5, skipped: true, comments: [{ path: "", summary: "Skipped", description: "" }] },
      { check: { id: "deployment-replicas" }, grade: 5, skipped: false, comments: null },
    ],
  },
];

describe("kube-score helpers", () => {
  test("findings: every non-skipped check below OK", () => {
    expect(findings(scored)).toEqual([
      {
        check: "container-resources",
        object: "Deployment/web",
        text: "Deployment/web [container-resources] CRITICAL: (web) CPU limit is not set",
      },
      { check: "deployment-replicas", object: "Deployment/web", text: "Deployment/web [deployment-replicas] WARNING: " },
    ]);
  });

  test("every ignored check has its reason; the args turn each into --ignore-test", () => {
    for (const [check, why] of Object.entries(IGNORED_CHECKS)) expect({ check, why: why.length > 30 }).toEqual({ check, why: true });
    const args = kubeScoreArgs(["a.yaml"]);
    expect(args.slice(0, 5)).toEqual(["score", "--output-format", "json", "--kubernetes-version", "v1.33"]);
    expect(args.filter((a) => a === "--ignore-test")).toHaveLength(Object.keys(IGNORED_CHECKS).length);
    expect(args[args.length - 1]).toBe("a.yaml");
  });

  test("a pending finding covers only its check and objects; a fixed one is reported stale", () => {
    const pending = [{ check: "pod-probes-identical", objects: ["Deployment/web", "Deployment/feed"], change: "x" }];
    const web = { check: "pod-probes-identical", object: "Deployment/web", text: "" };
    expect(pendingFor(web, pending)).toBe(pending[0]);
    expect(pendingFor({ ...web, object: "Deployment/kong" }, pending)).toBeUndefined();
    expect(pendingFor({ ...web, check: "container-resources" }, pending)).toBeUndefined();
    expect(stalePending([web], pending)).toEqual(["pod-probes-identical Deployment/feed"]);
    expect(stalePending([], [{ check: "c", objects: "*", change: "x" }])).toEqual(["c (every workload)"]);
  });

  test("the pending list and the ignore list never name the same check", () => {
    for (const p of PENDING) expect(IGNORED_CHECKS[p.check]).toBeUndefined();
  });
});
