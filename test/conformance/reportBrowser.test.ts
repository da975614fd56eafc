/**
 * The comparison report in a real browser: Debian's headless Chromium opens the generated
 * index.html from disk, with no console errors, four architecture diagrams and two charts drawn,
 * and a full-page screenshot saved as artifacts/report.png for a person to look at.
 */
import * as fs from "fs";
import * as path from "path";
import { chromium, type Browser } from "playwright-core";
import { compareCommand, STAGES } from "../../cli/compare/compare";
import { have, conformanceSuite } from "../lib/proc";

const ROOT = path.resolve(__dirname, "../..");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const OUT = path.join(ROOT, "artifacts/compare");
const SCREENSHOT = path.join(ROOT, "artifacts/report.png");

const missing = [
  ...(fs.existsSync(CHROMIUM) ? [] : [`chromium at ${CHROMIUM} (Debian: apt-get install -y chromium)`]),
  ...(have("dot") ? [] : ["dot (Debian: graphviz)"]),
];
const maybe = conformanceSuite("the report browser check", missing);
jest.setTimeout(120_000);

maybe("the comparison report in headless Chromium", () => {
  let browser: Browser | undefined;
  const problems: string[] = [];
  let page: Awaited<ReturnType<Browser["newPage"]>>;

  beforeAll(async () => {
    fs.rmSync(OUT, { recursive: true, force: true });
    const log = jest.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      expect(await compareCommand(["--out", OUT, "--instance", "m6i.large", "--stacks", path.join(ROOT, "stacks")])).toBe(0);
    } finally {
      log.mockRestore();
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`));
    await page.goto(`file://${path.join(OUT, "index.html")}`, { waitUntil: "load" });
  });

  afterAll(async () => {
    await browser?.close();
  });

  test("loads with no console errors, failed requests or page errors", () => {
    expect(problems).toEqual([]);
  });

  test("draws one architecture diagram per stage, each with its nodes and edges", async () => {
    expect(await page.locator("figure.diagram > svg").count()).toBe(STAGES.length);
    for (const stage of STAGES) {
      const svg = page.locator(`figure.diagram[data-stage="${stage}"] > svg`);
      expect(await svg.locator("g.node").count()).toBeGreaterThan(4);
      expect(await svg.locator("g.edge").count()).toBeGreaterThan(4);
      const box = await svg.boundingBox();
      expect(box?.width ?? 0).toBeGreaterThan(300);
      expect(box?.height ?? 0).toBeGreaterThan(100);
    }
  });

  test("draws the cost chart and the pods chart with one bar group per stage", async () => {
    expect(await page.locator("figure.chart > svg").count()).toBe(2);
    for (const id of ["chart-cost", "chart-pods"]) {
      const svg = page.locator(`figure#${id} > svg`);
      expect(await svg.locator("g.mark-rect path").count()).toBe(id === "chart-cost" ? STAGES.length * 4 : STAGES.length * 2);
      const axisLabels = await svg.locator("g.role-axis-label text").allTextContents();
      for (const stage of STAGES) expect(axisLabels).toContain(stage);
      expect((await svg.boundingBox())?.width ?? 0).toBeGreaterThan(200);
    }
  });

  test("a screenshot is saved for people to look at", async () => {
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(fs.statSync(SCREENSHOT).size).toBeGreaterThan(50_000);
  });
});
