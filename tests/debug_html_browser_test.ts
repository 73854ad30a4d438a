// The HTML debug report opened as a person would: in headless Chromium (Debian's, driven by
// playwright-core), with no network. The page must load without console errors, draw one point per
// quantized tensor, and open a layer's charts from the worst-layers table.
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { decodeModel } from "../core/onnx/model.ts";
import { DEFAULT_QUANTIZE_OPTIONS, quantizeModel } from "../core/pipeline.ts";
import { runDebug } from "../core/debug/run.ts";
import { renderDebugHtml } from "../core/report/html.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { imageFolderSource } from "../cli/source.ts";
import { readChartAssets } from "../cli/report_html.ts";
import { BENCH_MODELS } from "../bench/fixtures.ts";

const CHROMIUM = "/usr/bin/chromium";

Deno.test("debug report HTML in headless Chromium: no console errors, one point per tensor, a screenshot", async () => {
  const m = BENCH_MODELS.find((b) => b.name === "fmnist_mobilenet")!;
  const model = decodeModel(await Deno.readFile(m.path), m.path);
  const { source } = await imageFolderSource(m.calib, m.input, m.spec, { batchSize: 8, limit: 32 });
  const result = await quantizeModel(model, source, createOrtExecutor, DEFAULT_QUANTIZE_OPTIONS);
  const report = await runDebug(
    {
      float: result.prepared,
      quantized: result.quantized,
      names: { model: m.path, quantized: "q", source: m.calib, runtime: "test" },
    },
    source,
    createOrtExecutor,
    { tensorSamples: 8, sensitivitySamples: 2, symmetricClamp: 127 },
  );
  const dir = await Deno.makeTempDir({ prefix: "debug_html_" });
  const page = `${dir}/report.html`;
  await Deno.writeTextFile(page, renderDebugHtml(report, await readChartAssets()));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    tab.on("console", (msg) => {
      if (msg.type() === "error" || msg.type() === "warning") problems.push(`console ${msg.type()}: ${msg.text()}`);
    });
    tab.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    tab.on("request", (r) => {
      if (!r.url().startsWith("file://")) problems.push(`request: ${r.url()}`);
    });
    // Ready, or the first script error (reported at once instead of as a timeout).
    const broken = new Promise<never>((_, reject) => tab.on("pageerror", (e) => reject(e)));
    broken.catch(() => {});
    await tab.goto(`file://${page}`);
    await Promise.race([tab.waitForSelector("body[data-ready='1']", { timeout: 30_000 }), broken]);

    // The chart's own data (uPlot's), and what it drew.
    assert.equal(await tab.evaluate("int8Debug.charts.layers.data[0].length"), report.tensors.length);
    assert.equal(await tab.locator("#layer-chart canvas").count(), 1);
    assert.equal(await tab.getAttribute("#layer-chart", "data-points"), String(report.tensors.length));

    // The worst layers start open with their histogram and scatter drawn; a closed one draws when opened.
    const worst = report.ranking.order[0]!;
    assert.equal(await tab.locator(`#t-${worst} .hist canvas`).count(), 1);
    assert.equal(await tab.locator(`#t-${worst} .scatter canvas`).count(), 1);
    const closed = report.ranking.order[10]!; // past the 10 open ones
    assert.equal(await tab.locator(`#t-${closed} .hist canvas`).count(), 0);
    await tab.locator(`#t-${closed} summary`).click();
    await tab.waitForSelector(`#t-${closed} .hist canvas`, { timeout: 10_000 });
    // A link in the worst-layers table opens its layer.
    await tab.locator(`#t-${worst} summary`).click();
    assert.equal(await tab.locator(`#t-${worst}`).getAttribute("open"), null);
    await tab.locator(`a.layer-link[data-index="${worst}"]`).click();
    assert.notEqual(await tab.locator(`#t-${worst}`).getAttribute("open"), null);
    await tab.evaluate("scrollTo(0, 0)");

    const shot = `${dir}/report.png`;
    await tab.screenshot({ path: shot, fullPage: false });
    const png = await Deno.readFile(shot);
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    assert.ok(png.byteLength > 20_000, `screenshot of ${png.byteLength} bytes`);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await Deno.remove(dir, { recursive: true });
  }
});
