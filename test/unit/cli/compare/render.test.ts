import { nodeCapacity } from "../../../../cost/binpack";
import { stageChanges } from "../../../../cli/compare/changes";
import { stageCost } from "../../../../cost/stageCost";
import { instanceSpec, PRICES } from "../../../../cost/priceList";
import { rate, reportHtml, reportMarkdown, type ReportModel } from "../../../../cli/compare/render";
import { stageModelOf } from "../../../lib/stacks";

// Diagrams and charts are stand-ins here: their builders are tested on their own, and the real
// rendering is checked in Chromium (test/conformance/reportBrowser.test.ts).
const models = ["mvc", "split", "micro", "ddd"].map(stageModelOf);
const model: ReportModel = {
  instanceType: "m6i.large",
  capacity: nodeCapacity(instanceSpec("m6i.large")),
  prices: PRICES,
  stages: models.map(({ spec, totals }, i) => ({
    stage: spec.stage,
    description: i === 0 ? "One <Django> & friends" : spec.description,
    numbers: totals,
    cost: stageCost(models[i], "m6i.large"),
    changes: i > 0 ? { from: models[i - 1].spec.stage, sentences: stageChanges(models[i - 1], models[i]) } : undefined,
    diagramSvg: `<svg id="d-${spec.stage}"></svg>`,
    diagramFile: `diagram-${spec.stage}.svg`,
  })),
  costChart: { svg: '<svg id="cost"></svg>', file: "chart-cost.svg" },
  podsChart: { svg: '<svg id="pods"></svg>', file: "chart-pods.svg" },
};

describe("the report pages", () => {
  test("HTML: a summary row per stage, a figure per diagram and chart, text escaped", () => {
    const html = reportHtml(model);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain("<td>mvc</td><td>6</td><td>10 / 13</td><td>3.5 vCPU / 5 vCPU</td>");
    expect(html).toContain("<td>$313.65</td>");
    expect(html.match(/<figure class="diagram"/g)).toHaveLength(4);
    expect(html.match(/<figure class="chart"/g)).toHaveLength(2);
    expect(html).toContain("One &lt;Django&gt; &amp; friends");
    expect(html).toContain("<h3>What changes from micro</h3>");
    // No external resource, so the page opens anywhere and the browser check sees no failed request.
    expect(html).not.toMatch(/(src|href)="https?:/);
  });

  test("Markdown: the same summary, images beside it, the cost arithmetic spelled out", () => {
    const md = reportMarkdown(model);
    expect(md).toContain("| mvc | 6 | 10 / 13 | 3.5 vCPU / 5 vCPU | 4.88 GiB / 6.38 GiB | 2 (60 GiB) | 1 | 3 / 4 | $313.65 |");
    expect(md).toContain("![mvc architecture](diagram-mvc.svg)");
    expect(md).toContain("![Estimated monthly cost per stage](chart-cost.svg)");
    expect(md).toContain("| NLB: 1 | 1 × ($0.0225 + 1 LCU × $0.006)/h × 730 h | $20.81 |");
    expect(md).toContain("| EC2 nodes: 3 × m6i.large | 3 × $0.096/h × 730 h | $210.24 |");
    expect(md).toMatch(/snapshot taken \d{4}-\d{2}-\d{2}/);
  });

  test("unit prices keep their decimals", () => {
    expect(rate(0.0225)).toBe("$0.0225");
    expect(rate(0.1)).toBe("$0.10");
  });
});
