import { findings, IGNORED_CHECKS, kubeScoreArgs, type ScoredObject } from "../lib/kubeScore";

const scored: ScoredObject[] = [
  {
    object_name: "Deployment/apps/v1/stagecraft/web",
    checks: [
      { check: { id: "container-image-tag" }, grade: 10, skipped: false, comments: null },
      {
        check: { id: "container-resources" },
        grade: 1,
        skipped: false,
        comments: [{ path: "web", summary: "CPU limit is not set", description: "Resource limits are recommended" }],
      },
      { check: { id: "pod-probes" }, grade: 5, skipped: true, comments: [{ path: "", summary: "Skipped", description: "" }] },
      { check: { id: "deployment-replicas" }, grade: 5, skipped: false, comments: null },
    ],
  },
];

describe("kube-score helpers", () => {
  test("findings: every non-skipped check below OK, one line per comment", () => {
    expect(findings(scored)).toEqual([
      "Deployment/apps/v1/stagecraft/web [container-resources] CRITICAL: (web) CPU limit is not set - Resource limits are recommended",
      "Deployment/apps/v1/stagecraft/web [deployment-replicas] WARNING: ",
    ]);
  });

  test("every ignored check has its reason; the args turn each into --ignore-test", () => {
    for (const [check, why] of Object.entries(IGNORED_CHECKS)) expect({ check, why: why.length > 30 }).toEqual({ check, why: true });
    const args = kubeScoreArgs(["a.yaml"]);
    expect(args.slice(0, 5)).toEqual(["score", "--output-format", "json", "--kubernetes-version", "v1.33"]);
    expect(args.filter((a) => a === "--ignore-test")).toHaveLength(Object.keys(IGNORED_CHECKS).length);
    expect(args[args.length - 1]).toBe("a.yaml");
  });
});
