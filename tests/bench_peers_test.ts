// deno task bench --peers, shortened: the side-by-side harness on the smallest bench model (first 2 000 evaluation
// samples). Asserts the table's structure and that every tool produced every number — never what the numbers are.
// Needs the peers' venv: when .venv-peers/ is missing or stale this test runs scripts/peers/setup itself (PyPI,
// about 300 MB), so the first run pays for it once; ./setup does not install it.
import assert from "node:assert/strict";
import { BENCH_MODELS } from "../bench/fixtures.ts";
import { formatPeerReport, renderComparisonSection } from "../bench/peers/format.ts";
import {
  FLOAT_TOLERANCE,
  peerPython,
  PeersNotInstalledError,
  REPO_ROOT,
  runPeerBench,
  type ToolRow,
} from "../bench/peers/harness.ts";

async function ensurePeers(): Promise<void> {
  try {
    await peerPython();
  } catch (e) {
    if (!(e instanceof PeersNotInstalledError)) throw e;
    const setup = await new Deno.Command(`${REPO_ROOT}scripts/peers/setup`, { stdout: "piped", stderr: "piped" })
      .output();
    const dec = new TextDecoder();
    assert.equal(setup.code, 0, `scripts/peers/setup failed:\n${dec.decode(setup.stdout)}${dec.decode(setup.stderr)}`);
    await peerPython();
  }
}

const NUMBERS = [
  "floatMetric",
  "int8Metric",
  "dropPoints",
  "agreement",
  "cosine",
  "floatMaxAbsDiff",
  "quantizeSeconds",
  "processSeconds",
  "peakRssBytes",
  "floatBytes",
  "int8Bytes",
  "sizeRatio",
] as const satisfies readonly (keyof ToolRow)[];

Deno.test("bench --peers on the smallest model: all three tools, every number, one table", async () => {
  await ensurePeers();
  const sizes = await Promise.all(BENCH_MODELS.map(async (m) => ({ m, size: (await Deno.stat(m.path)).size })));
  const smallest = sizes.reduce((a, b) => (b.size < a.size ? b : a)).m;
  const outDir = await Deno.makeTempDir({ prefix: "bench-peers-" });
  try {
    const report = await runPeerBench({ models: [smallest], outDir, evalLimit: 2000 });
    assert.deepEqual(report.failures, []);
    assert.equal(report.models.length, 1);
    const m = report.models[0]!;
    assert.equal(m.model, smallest.name);
    assert.equal(m.evaluation.samples, 2000);
    for (const v of ["ours", "onnxruntime", "MNN", "python"]) assert.ok(report.versions[v], `version of ${v}`);

    const methods = (tool: ToolRow["tool"]) => m.rows.filter((r) => r.tool === tool).map((r) => r.method);
    assert.deepEqual(m.rows.map((r) => r.tool), ["ours", "ours", "onnxruntime", "onnxruntime", "MNN"]);
    assert.equal(methods("ours")[0], "KL");
    assert.equal(m.selection.chosen, methods("ours")[1]);
    assert.notEqual(m.selection.chosen, "KL");
    assert.deepEqual(methods("onnxruntime"), ["Entropy", "MinMax"]);
    assert.deepEqual(methods("MNN"), ["KL"]);
    for (const r of m.rows) {
      const what = `${r.tool} ${r.method}`;
      assert.equal(r.status, "ok", `${what}: ${r.error}`);
      for (const key of NUMBERS) assert.ok(Number.isFinite(r[key]), `${what}: ${key} is ${r[key]}`);
      assert.ok(r.int8Metric! > 0 && r.int8Metric! <= 1, `${what}: int8 top-1 ${r.int8Metric}`);
      assert.ok(r.floatMaxAbsDiff! <= FLOAT_TOLERANCE, `${what}: float outputs off by ${r.floatMaxAbsDiff}`);
      assert.ok(r.peakRssBytes! > 2 ** 20 && r.quantizeSeconds! > 0 && r.processSeconds! > 0, what);
      assert.ok(r.int8Bytes! < r.floatBytes!, `${what}: int8 ${r.int8Bytes} bytes, float ${r.floatBytes}`);
    }
    assert.ok(m.floatCheck.mnnCalibrationPreprocess !== undefined);
    assert.equal(m.ratios.length, 2 * 3); // each of ours' methods against each peer row
    for (const q of m.ratios) {
      for (const v of [q.quantizeTime, q.processTime, q.peakRss, q.int8Size]) assert.ok(v > 0 && Number.isFinite(v));
    }

    // The printed table: a header, a rule, one line per row, each naming its tool and showing its int8 number.
    const lines = formatPeerReport(report).split("\n");
    const header = lines.findIndex((l) => /^model\s+tool\s+method\s+status\s+float\s+int8\s+drop pts/.test(l));
    assert.ok(header >= 0, "table header");
    assert.match(lines[header + 1]!, /^-+( +-+)+$/);
    const body = lines.slice(header + 2, header + 2 + m.rows.length);
    m.rows.forEach((r, i) => {
      const cells = body[i]!.trim().split(/\s{2,}/);
      assert.deepEqual(cells.slice(0, 4), [m.model, r.tool, r.method, "ok"]);
      assert.equal(cells[5], `${(r.int8Metric! * 100).toFixed(2)} %`);
    });

    // The README section is rendered from the same report.
    const section = renderComparisonSection(report);
    for (const r of m.rows) assert.ok(section.includes(`${(r.int8Metric! * 100).toFixed(2)} %`), `${r.tool} in README`);
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});
