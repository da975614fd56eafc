/**
 * The comparison report as HTML (one self-contained page, SVGs inline) and Markdown (SVGs beside
 * it as files). Pure: the model in, text out; compare.ts gathers the model and writes the files.
 */
import { DOT_COLOURS } from "./dot";
import type { StageCost } from "../../cost/stageCost";
import type { StageTotals } from "../../model/totals";
import type { Prices } from "../../cost/priceList";
import { EKS_DAEMONSETS, EKS_SYSTEM_PODS, type NodeCapacity } from "../../cost/binpack";

export interface StageReport {
  readonly stage: string;
  readonly description: string;
  readonly numbers: StageTotals;
  readonly cost: StageCost;
  /** Sentences on what changes from the previous stage; undefined for the first stage. */
  readonly changes?: { readonly from: string; readonly sentences: readonly string[] };
  /** The diagram as inline SVG (ids already namespaced) and the file name it is saved under. */
  readonly diagramSvg: string;
  readonly diagramFile: string;
}

export interface ReportModel {
  readonly instanceType: string;
  readonly capacity: NodeCapacity;
  readonly prices: Prices;
  readonly stages: readonly StageReport[];
  readonly costChart: { readonly svg: string; readonly file: string };
  readonly podsChart: { readonly svg: string; readonly file: string };
}

export const usd = (x: number) => `$${x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
/** A unit price: list prices have up to four decimals ($0.0225/h), which cents would hide. */
export const rate = (x: number) => `$${x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 4 })}`;
export const vcpu = (milli: number) => `${(milli / 1000).toLocaleString("en-US", { maximumFractionDigits: 2 })} vCPU`;
export const gib = (mi: number) => `${(mi / 1024).toLocaleString("en-US", { maximumFractionDigits: 2 })} GiB`;

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** One row per stage: the headline numbers. Shared by both formats so they never disagree. */
function summaryRows(m: ReportModel): { head: string[]; rows: string[][] } {
  return {
    head: [
      "stage",
      "workloads",
      "pods (rest / peak)",
      "CPU requests",
      "memory requests",
      "volumes",
      "load balancers",
      "nodes (rest / peak)",
      "monthly cost",
    ],
    rows: m.stages.map(({ stage, numbers: n, cost: c }) => [
      stage,
      String(n.workloads),
      `${n.podsAtRest} / ${n.podsAtPeak}`,
      `${vcpu(n.cpuMilliAtRest)} / ${vcpu(n.cpuMilliAtPeak)}`,
      `${gib(n.memoryMiAtRest)} / ${gib(n.memoryMiAtPeak)}`,
      `${n.volumes} (${n.volumeGiB} GiB)`,
      String(n.loadBalancers),
      `${c.nodes} / ${c.nodesAtPeak}`,
      usd(c.totalMonthly),
    ]),
  };
}

function costRows(m: ReportModel, c: StageCost): string[][] {
  const p = m.prices;
  const inst = p.instances[m.instanceType];
  return [
    [`EC2 nodes: ${c.nodes} × ${m.instanceType}`, `${c.nodes} × ${rate(inst?.perHour ?? 0)}/h × ${p.hoursPerMonth} h`, usd(c.nodesMonthly)],
    [
      `EBS gp3: ${c.ebsGiB} GiB`,
      `(${c.ebsGiB - c.nodes * p.nodeRootVolumeGiB} GiB volumes + ${c.nodes} × ${p.nodeRootVolumeGiB} GiB node disks) × ${rate(p.ebsGp3PerGiBMonth)}/GiB-month`,
      usd(c.ebsMonthly),
    ],
    [
      `NLB: ${c.loadBalancers}`,
      `${c.loadBalancers} × (${rate(p.nlbPerHour)} + ${p.assumedNlbLcusPerLoadBalancer} LCU × ${rate(p.nlbLcuPerHour)})/h × ${p.hoursPerMonth} h`,
      usd(c.loadBalancersMonthly),
    ],
    ["EKS control plane", `${rate(p.eksControlPlanePerHour)}/h × ${p.hoursPerMonth} h`, usd(c.controlPlaneMonthly)],
    ["total (pods at rest)", "", usd(c.totalMonthly)],
    [`total if every HPA stayed at its maximum (${c.nodesAtPeak} nodes)`, "", usd(c.totalMonthlyAtPeak)],
  ];
}

function methodSentences(m: ReportModel): string[] {
  const p = m.prices;
  const ds = EKS_DAEMONSETS.map((d) => d.name).join(", ");
  const sys = [...new Set(EKS_SYSTEM_PODS.map((d) => d.name))].join(", ");
  return [
    `Prices: ${p.source}`,
    `They are a snapshot taken ${p.snapshotDate} (${p.region}, on-demand, ${p.currency}). ${p.note}`,
    `Nodes: every pod's CPU and memory requests (at rest: HPA minimum; at peak: HPA maximum) plus ${sys} are packed first-fit decreasing onto ${m.instanceType} nodes. ` +
      `Each node offers ${m.capacity.cpuMilli}m CPU, ${m.capacity.memoryMi} MiB and ${m.capacity.maxPods} pods: allocatable after the EKS AMI's kube-reserved CPU and memory and the 100Mi eviction threshold, less the per-node DaemonSets (${ds}). ` +
      "A stage gets at least two nodes, and at least as many as its largest StatefulSet has replicas (members of a quorum on distinct nodes).",
    `EBS: one gp3 volume per StatefulSet replica at its requested size, plus a ${p.nodeRootVolumeGiB} GiB root disk per node. NLB: one per LoadBalancer Service, at ${p.assumedNlbLcusPerLoadBalancer} LCU on average (an assumption; traffic changes it).`,
    "Not counted: data transfer, NAT gateways, CloudWatch, snapshots, discounts (Savings Plans, Reserved, Spot).",
  ];
}

function htmlTable(head: string[], rows: string[][], cls = ""): string {
  const tr = (cells: string[], tag: "th" | "td") => `<tr>${cells.map((c) => `<${tag}>${esc(c)}</${tag}>`).join("")}</tr>`;
  return `<table${cls ? ` class="${cls}"` : ""}><thead>${tr(head, "th")}</thead><tbody>${rows.map((r) => tr(r, "td")).join("")}</tbody></table>`;
}

const STYLE = `
body { font-family: Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin-bottom: .3rem; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .9rem; }
th, td { border: 1px solid #ccc; padding: .3rem .55rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td:last-child { text-align: right; white-space: nowrap; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem; }
figure { margin: 0; } figure.diagram { overflow-x: auto; border: 1px solid #e4e4e4; border-radius: 6px; padding: .5rem; }
figure.diagram svg { max-width: 100%; height: auto; display: block; margin: 0 auto; }
.legend span { display: inline-block; margin-right: 1.2rem; font-size: .85rem; }
.legend i { display: inline-block; width: 2rem; height: 0; border-top: 2px solid; vertical-align: middle; margin-right: .35rem; }
.note { color: #555; font-size: .85rem; }
`;

export function reportHtml(m: ReportModel): string {
  const s = summaryRows(m);
  const legend =
    `<p class="legend"><span><i style="border-color:${DOT_COLOURS.traffic}"></i>traffic and routes</span>` +
    `<span><i style="border-color:${DOT_COLOURS.call};border-top-width:3px"></i>call graph</span>` +
    `<span><i style="border-color:${DOT_COLOURS.push};border-top-style:dashed"></i>push path</span>` +
    `<span><i style="border-color:${DOT_COLOURS.data};border-top-width:1px"></i>connections to data stores</span></p>`;
  const stages = m.stages
    .map((st) => {
      const changes = st.changes
        ? `<h3>What changes from ${esc(st.changes.from)}</h3><ul class="changes">${st.changes.sentences.map((x) => `<li>${esc(x)}</li>`).join("")}</ul>`
        : `<h3>What changes</h3><p>The first stage: everything here is new.</p>`;
      return [
        `<section class="stage" id="stage-${esc(st.stage)}">`,
        `<h2>${esc(st.stage)}</h2>`,
        `<p>${esc(st.description)}</p>`,
        `<figure class="diagram" data-stage="${esc(st.stage)}">${st.diagramSvg}</figure>`,
        legend,
        changes,
        `<h3>Estimated monthly cost</h3>`,
        htmlTable(["line", "how", "USD / month"], costRows(m, st.cost), "cost"),
        `</section>`,
      ].join("\n");
    })
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stagecraft: the four stages compared</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<h1>Stagecraft: the four stages compared</h1>
<p class="note">Generated from the stack files alone (stacks/Pulumi.&lt;stage&gt;.yaml). Costs: ${esc(m.instanceType)} nodes, ${esc(m.prices.region)} on-demand list prices, snapshot ${esc(m.prices.snapshotDate)}; an estimate, see <a href="#method">how it is computed</a>.</p>
${htmlTable(s.head, s.rows, "summary")}
<div class="charts">
<figure class="chart" id="chart-cost">${m.costChart.svg}</figure>
<figure class="chart" id="chart-pods">${m.podsChart.svg}</figure>
</div>
${stages}
<h2 id="method">How the cost is computed</h2>
<ul>${methodSentences(m)
    .map((x) => `<li>${esc(x)}</li>`)
    .join("")}</ul>
</body>
</html>
`;
}

function mdTable(head: string[], rows: string[][]): string {
  const cell = (c: string) => c.replace(/\|/g, "\\|");
  return [
    `| ${head.map(cell).join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
  ].join("\n");
}

export function reportMarkdown(m: ReportModel): string {
  const s = summaryRows(m);
  const out: string[] = [
    "# Stagecraft: the four stages compared",
    "",
    `Generated from the stack files alone. Costs: ${m.instanceType} nodes, ${m.prices.region} on-demand list prices, snapshot ${m.prices.snapshotDate}; an estimate (see the end).`,
    "",
    mdTable(s.head, s.rows),
    "",
    `![Estimated monthly cost per stage](${m.costChart.file}) ![Pods per stage](${m.podsChart.file})`,
    "",
  ];
  for (const st of m.stages) {
    out.push(`## ${st.stage}`, "", st.description, "", `![${st.stage} architecture](${st.diagramFile})`, "");
    out.push(
      "Lines: black traffic and routes, bold blue the call graph, dashed orange the push path, grey connections to data stores.",
      "",
    );
    if (st.changes) out.push(`### What changes from ${st.changes.from}`, "", ...st.changes.sentences.map((x) => `- ${x}`), "");
    else out.push("### What changes", "", "The first stage: everything here is new.", "");
    out.push("### Estimated monthly cost", "", mdTable(["line", "how", "USD / month"], costRows(m, st.cost)), "");
  }
  out.push("## How the cost is computed", "", ...methodSentences(m).map((x) => `- ${x}`), "");
  return out.join("\n");
}
