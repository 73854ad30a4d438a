import assert from "node:assert/strict";
import { escapeHtml, renderDebugHtml } from "./html.ts";
import { sampleReport, sampleTensor } from "./_report_test_util.ts";

const assets = { uplotScript: "var uPlot = function () {}; /* stub */", uplotCss: ".uplot { display: block; }" };

Deno.test("renderDebugHtml: one section per tensor, the worst ones open, the report JSON recoverable", () => {
  const tensors = [0, 1, 2, 3].map((i) =>
    sampleTensor(i, {
      sensitivity: {
        onlyThis: { cosine: 1 - i * 1e-3, top1Agreement: 1, accuracy: null },
        allButThis: { cosine: 0.999, top1Agreement: 1, accuracy: null },
      },
    })
  );
  const report = sampleReport(tensors);
  const html = renderDebugHtml(report, assets, { worst: 2 });
  assert.equal(html.match(/<details class="layer"/g)?.length, 4);
  assert.deepEqual([...html.matchAll(/<details class="layer" id="t-(\d+)"[^>]* open>/g)].map((m) => m[1]), ["2", "3"]);
  assert.equal(html.match(/<tr><td>\d+<\/td><td><a class="layer-link"/g)?.length, 2);
  const json = html.match(/<script type="application\/json" id="report-data">(.*?)<\/script>/s)![1]!;
  assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(report)));
  assert.ok(html.includes(assets.uplotScript) && html.includes(assets.uplotCss));
});

Deno.test("renderDebugHtml: self-contained — no network, and names cannot break out of the page", () => {
  const evil = `</script><img src="https://example.com/x.png" onerror="alert(1)">`;
  const report = sampleReport([sampleTensor(0, { tensor: evil, node: evil })]);
  const html = renderDebugHtml(report, assets);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  assert.ok(!html.includes("<img"), "a tensor name is text, never markup");
  assert.equal(html.match(/<\/script>/g)?.length, 3, "only the page's own three scripts close");
  assert.ok(!/(src|href)="(https?:)?\/\//.test(html), "nothing is loaded from elsewhere");
  const json = html.match(/<script type="application\/json" id="report-data">(.*?)<\/script>/s)![1]!;
  assert.equal(JSON.parse(json).tensors[0].tensor, evil);
});

Deno.test("escapeHtml: the five markup characters", () => {
  assert.equal(escapeHtml(`a<b>&"c'`), "a&lt;b&gt;&amp;&quot;c&#39;");
});
