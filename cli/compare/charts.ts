/**
 * The two bar charts of the report, as Vega-Lite specs (pure, tested) and their SVG rendering
 * (headless Vega, no browser, no canvas: the renderer "none" only builds the scene graph).
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { StageCost } from "../../cost/stageCost";
import type { StageTotals } from "../../model/totals";

const FONT = "Helvetica, Arial, sans-serif";
const config = { font: FONT, view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 11 }, legend: { labelFontSize: 11 } };

/** Monthly cost per stage, stacked by what is paid for, in stage order. */
export function costChartSpec(costs: readonly StageCost[]): TopLevelSpec {
  const stages = costs.map((c) => c.stage);
  const parts: [keyof StageCost, string][] = [
    ["nodesMonthly", "EC2 nodes"],
    ["controlPlaneMonthly", "EKS control plane"],
    ["loadBalancersMonthly", "NLB"],
    ["ebsMonthly", "EBS gp3"],
  ];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: { text: `Estimated monthly cost on EKS (USD, ${costs[0]?.instanceType ?? ""} nodes)`, fontSize: 13 },
    width: 360,
    height: 240,
    config,
    data: { values: costs.flatMap((c) => parts.map(([k, label], order) => ({ stage: c.stage, part: label, order, usd: c[k] }))) },
    mark: { type: "bar", tooltip: true },
    encoding: {
      x: { field: "stage", type: "nominal", sort: stages, title: "stage", axis: { labelAngle: 0 } },
      y: { field: "usd", type: "quantitative", title: "USD per month", stack: "zero" },
      color: { field: "part", type: "nominal", title: null, sort: parts.map(([, l]) => l) },
      order: { field: "order", type: "quantitative" },
    },
  };
}

/** Pods per stage, at rest and at peak (every HPA at its maximum), side by side. */
export function podsChartSpec(rows: readonly { stage: string; numbers: StageTotals }[]): TopLevelSpec {
  const stages = rows.map((r) => r.stage);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: { text: "Pods per stage", fontSize: 13 },
    width: 360,
    height: 240,
    config,
    data: {
      values: rows.flatMap(({ stage, numbers: n }) => [
        { stage, when: "at rest", pods: n.podsAtRest },
        { stage, when: "at peak", pods: n.podsAtPeak },
      ]),
    },
    mark: { type: "bar", tooltip: true },
    encoding: {
      x: { field: "stage", type: "nominal", sort: stages, title: "stage", axis: { labelAngle: 0 } },
      xOffset: { field: "when", type: "nominal", sort: ["at rest", "at peak"] },
      y: { field: "pods", type: "quantitative", title: "pods" },
      color: { field: "when", type: "nominal", title: null, sort: ["at rest", "at peak"] },
    },
  };
}

export async function chartSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
