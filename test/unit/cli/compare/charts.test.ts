import { chartSvg, costChartSpec, podsChartSpec } from "../../../../cli/compare/charts";
import { stageCost } from "../../../../cost/stageCost";
import { stageModelOf } from "../../../lib/stacks";

const models = ["mvc", "split", "micro", "ddd"].map(stageModelOf);

describe("charts", () => {
  test("cost chart: four cost lines per stage, stacked, stages in growth order", () => {
    const costs = models.map((m) => stageCost(m, "m6i.large"));
    const spec = costChartSpec(costs);
    const values = (spec.data as { values: { stage: string; part: string; usd: number }[] }).values;
    expect(values).toHaveLength(16);
    expect(values.filter((v) => v.stage === "mvc").reduce((n, v) => n + v.usd, 0)).toBeCloseTo(costs[0].totalMonthly, 1);
    expect(JSON.stringify(spec)).toContain('"sort":["mvc","split","micro","ddd"]');
  });

  test("both charts render to SVG with Vega, with a bar per value and the stage names on the axis", async () => {
    const costSvg = await chartSvg(costChartSpec(models.map((m) => stageCost(m, "m6i.large"))));
    const podsSvg = await chartSvg(podsChartSpec(models.map((m) => ({ stage: m.spec.stage, numbers: m.totals }))));
    for (const svg of [costSvg, podsSvg]) {
      expect(svg).toMatch(/^<svg /);
      for (const stage of ["mvc", "split", "micro", "ddd"]) expect(svg).toContain(`>${stage}</text>`);
    }
    expect((costSvg.match(/role-mark.*?<\/g>/gs) ?? []).join("")).toMatch(/path/);
    expect((podsSvg.match(/aria-roledescription="bar"/g) ?? []).length).toBe(8);
  });
});
