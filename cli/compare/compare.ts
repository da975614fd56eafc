/**
 * `stagecraft compare [--out DIR] [--instance TYPE] [--stacks DIR]`: the comparison report for teams
 * choosing a stage, from the four stack files alone (no engine): index.html, report.md, one SVG
 * diagram per stage and two SVG charts.
 */
import * as fs from "fs";
import * as path from "path";
import { SpecError } from "../../spec/errors";
import { validateStack } from "../../validate/validateStack";
import type { StageModel } from "../../model/stage";
import { readStackFile } from "../../spec/stackFile";
import { nodeCapacity } from "../../cost/binpack";
import { stageChanges } from "./changes";
import { chartSvg, costChartSpec, podsChartSpec } from "./charts";
import { stageCost } from "../../cost/stageCost";
import { stageDot } from "./dot";
import { dotToSvg, namespaceSvgIds } from "./graphviz";
import { instanceSpec, PRICES } from "../../cost/priceList";
import { reportHtml, reportMarkdown, type ReportModel, type StageReport } from "./render";

/** The stages in the order the write-up grows them: each is compared with the one before. */
export const STAGES = ["mvc", "split", "micro", "ddd"] as const;

const USAGE = "usage: stagecraft compare [--out artifacts/compare] [--instance m6i.large] [--stacks stacks]";

export interface CompareOptions {
  readonly out: string;
  readonly instance: string;
  readonly stacks: string;
}

export function parseCompareArgs(args: readonly string[]): CompareOptions | string {
  const opts = { out: "artifacts/compare", instance: "m6i.large", stacks: "stacks" };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    const value = inline ?? args[++i];
    if (value === undefined || value === "") return `${flag} needs a value\n${USAGE}`;
    if (flag === "--out") opts.out = value;
    else if (flag === "--instance") opts.instance = value;
    else if (flag === "--stacks") opts.stacks = value;
    else return `unknown option '${args[i]}'\n${USAGE}`;
  }
  return opts;
}

/** Builds the report in memory: stage models in, the report (with rendered SVGs) out. */
export async function buildReport(models: readonly StageModel[], instance: string): Promise<ReportModel> {
  const capacity = nodeCapacity(instanceSpec(instance));
  const stages: StageReport[] = models.map((model, i) => {
    const { spec } = model;
    const prev = i > 0 ? models[i - 1] : undefined;
    return {
      stage: spec.stage,
      description: spec.description,
      numbers: model.totals,
      cost: stageCost(model, instance),
      changes: prev ? { from: prev.spec.stage, sentences: stageChanges(prev, model) } : undefined,
      diagramSvg: namespaceSvgIds(dotToSvg(stageDot(model)), `diagram-${spec.stage}`),
      diagramFile: `diagram-${spec.stage}.svg`,
    };
  });
  const [cost, pods] = await Promise.all([chartSvg(costChartSpec(stages.map((s) => s.cost))), chartSvg(podsChartSpec(stages))]);
  return {
    instanceType: instance,
    capacity,
    prices: PRICES,
    stages,
    costChart: { svg: namespaceSvgIds(cost, "chart-cost"), file: "chart-cost.svg" },
    podsChart: { svg: namespaceSvgIds(pods, "chart-pods"), file: "chart-pods.svg" },
  };
}

/** Writes the report; returns the files written. */
export function writeReport(report: ReportModel, models: readonly StageModel[], out: string): string[] {
  fs.mkdirSync(out, { recursive: true });
  const files: [string, string][] = [
    ["index.html", reportHtml(report)],
    ["report.md", reportMarkdown(report)],
    [report.costChart.file, report.costChart.svg],
    [report.podsChart.file, report.podsChart.svg],
    ...models.map((model, i): [string, string] => [report.stages[i].diagramFile, dotToSvg(stageDot(model))]),
    ...models.map((model): [string, string] => [`diagram-${model.spec.stage}.dot`, stageDot(model)]),
  ];
  for (const [name, text] of files) fs.writeFileSync(path.join(out, name), text);
  return files.map(([name]) => path.join(out, name));
}

export async function compareCommand(args: readonly string[]): Promise<number> {
  const opts = parseCompareArgs(args);
  if (typeof opts === "string") {
    console.error(opts);
    return 2;
  }
  const models: StageModel[] = [];
  let failed = false;
  for (const stage of STAGES) {
    const file = path.join(opts.stacks, `Pulumi.${stage}.yaml`);
    try {
      const { stack, raw } = readStackFile(file);
      models.push(validateStack(stack, raw).model);
    } catch (e) {
      failed = true;
      console.error(e instanceof SpecError ? e.message : `${file}: ${(e as Error).message}`);
    }
  }
  if (failed) return 1;
  try {
    instanceSpec(opts.instance);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const report = await buildReport(models, opts.instance);
  const files = writeReport(report, models, opts.out);
  for (const s of report.stages)
    console.log(
      `${s.stage}: ${s.numbers.podsAtRest} pods at rest, ${s.cost.nodes} × ${opts.instance}, $${s.cost.totalMonthly.toFixed(2)}/month`,
    );
  console.log(`wrote ${files.length} files to ${opts.out} (open ${path.join(opts.out, "index.html")})`);
  return 0;
}
