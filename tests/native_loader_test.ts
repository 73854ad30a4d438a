// A corrupted artifact is refused with a status code, never a crash: truncations, a wrong identifier, a
// wrong version, a flipped weight byte; then a mutation fuzz loop over small artifacts, run through a
// runner built with AddressSanitizer and UndefinedBehaviorSanitizer (any report aborts it).
import assert from "node:assert/strict";
import * as flatbuffers from "flatbuffers";
import { opCases } from "../core/sim/_op_cases_test_util.ts";
import { mulberry32 } from "../core/calib/_test_rng.ts";
import * as qm from "../targets/native/qm_generated.ts";
import { writeArtifact } from "../targets/native/writer.ts";
import { buildRuntime, RUNNER_STATUS, runRunner } from "../targets/native/runtime.ts";

const SANITIZED = { name: "asan", opt: "-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all" };
const cases = opCases(5);
const conv = cases.find((c) => c.name.startsWith("conv 3x3 stride 2"))!;
const artifact = writeArtifact(conv.program);
const input = new Uint8Array(conv.inputs[0]!.byteLength);
const dir = await Deno.makeTempDir({ prefix: "qm_loader_" });
await Deno.writeFile(`${dir}/in.bin`, input);

/** Runs the sanitized runner on an artifact with the conv case's input. */
async function run(bytes: Uint8Array, name = "m.qm") {
  const runner = await buildRuntime("host", SANITIZED);
  await Deno.writeFile(`${dir}/${name}`, bytes);
  return runRunner("host", runner, [`${dir}/${name}`, `${dir}/in.bin`, `${dir}/${name}.out`]);
}

function weightsRange(bytes: Uint8Array): [number, number] {
  const w = qm.Model.getRootAsModel(new flatbuffers.ByteBuffer(bytes)).weightsArray()!;
  return [w.byteOffset - bytes.byteOffset, w.length];
}

Deno.test("the intact artifact runs", async () => {
  const r = await run(artifact);
  assert.equal(r.code, RUNNER_STATUS.ok, r.stderr);
});

Deno.test("truncated artifacts are refused with a status, never run", async () => {
  for (const length of [0, 3, 7, 8, 64, artifact.length >> 1, artifact.length - 1]) {
    const r = await run(artifact.slice(0, length));
    assert.ok(
      [RUNNER_STATUS.truncated, RUNNER_STATUS.identifier, RUNNER_STATUS.malformed].includes(r.code as 11),
      `length ${length}: exit ${r.code} ${r.stderr}`,
    );
  }
});

Deno.test("a wrong identifier, a wrong version and a flipped weight byte have their own status", async () => {
  const foreign = artifact.slice();
  foreign[5] = foreign[5]! ^ 0xff;
  assert.equal((await run(foreign)).code, RUNNER_STATUS.identifier);
  const future = writeArtifact({ ...conv.program, version: 2 });
  const r = await run(future);
  assert.equal(r.code, RUNNER_STATUS.version);
  assert.match(r.stderr, /unsupported format version/);
  const [start, length] = weightsRange(artifact);
  for (const at of [start, start + (length >> 1), start + length - 1]) {
    const flipped = artifact.slice();
    flipped[at] = flipped[at]! ^ 0x01;
    assert.equal((await run(flipped)).code, RUNNER_STATUS.checksum, `byte ${at}`);
  }
});

Deno.test("mutated artifacts never crash the sanitized runtime (400 mutants)", async () => {
  const rng = mulberry32(2026);
  const seeds = cases.filter((_, i) => i % 3 === 0).map((c) => writeArtifact(c.program));
  const allowed = new Set<number>([
    RUNNER_STATUS.ok,
    RUNNER_STATUS.usage,
    ...Array.from({ length: 7 }, (_, i) => 11 + i),
  ]);
  const outcomes = new Map<number, number>();
  for (let batch = 0; batch < 100; batch++) {
    await Promise.all(Array.from({ length: 4 }, async (_, k) => {
      const seed = seeds[Math.floor(rng() * seeds.length)]!;
      let m = seed.slice();
      const kind = rng();
      if (kind < 0.15) m = m.slice(0, Math.floor(rng() * m.length));
      else {
        // Flip 1–8 bytes, mostly outside the weights (those fail the checksum at once).
        const [start, length] = weightsRange(seed);
        for (let f = 1 + Math.floor(rng() * 8); f > 0; f--) {
          let at = Math.floor(rng() * m.length);
          if (at >= start && at < start + length && rng() < 0.9) at = Math.floor(rng() * start);
          m[at] = kind < 0.6 ? Math.floor(rng() * 256) : m[at]! ^ (1 << Math.floor(rng() * 8));
        }
      }
      const r = await run(m, `mutant${k}.qm`);
      if (r.signal || !allowed.has(r.code) || /Sanitizer|runtime error/.test(r.stderr)) {
        const kept = `out/native/crash-${batch}-${k}.qm`;
        await Deno.mkdir("out/native", { recursive: true });
        await Deno.writeFile(kept, m);
        assert.fail(`mutant kept as ${kept}: exit ${r.code} ${r.signal ?? ""}\n${r.stderr.slice(0, 2000)}`);
      }
      outcomes.set(r.code, (outcomes.get(r.code) ?? 0) + 1);
    }));
  }
  // The loop must have exercised both refusals and runs of still-valid mutants.
  assert.ok((outcomes.get(RUNNER_STATUS.malformed) ?? 0) > 0, JSON.stringify([...outcomes]));
  assert.ok((outcomes.get(RUNNER_STATUS.ok) ?? 0) > 0, JSON.stringify([...outcomes]));
});

const regressionDir = new URL("../runtime/fuzz/regressions/", import.meta.url).pathname;
const regressions: string[] = [];
for await (const e of Deno.readDir(regressionDir)) if (e.name.endsWith(".qm")) regressions.push(e.name);

Deno.test({
  name: "inputs the fuzzer once crashed on (runtime/fuzz/regressions/) are refused or run cleanly",
  ignore: regressions.length === 0,
  fn: async () => {
    const runner = await buildRuntime("host", SANITIZED);
    for (const name of regressions.sort()) {
      // As the fuzz harness does: load, then (if it loads) run once on a zeroed arena (`--time 1`).
      await Deno.writeFile(`${dir}/regression.qm`, await Deno.readFile(`${regressionDir}${name}`));
      const r = await runRunner("host", runner, [`${dir}/regression.qm`, "--time", "1"]);
      assert.ok(
        !r.signal && [RUNNER_STATUS.ok, ...Array.from({ length: 7 }, (_, i) => 11 + i)].includes(r.code as 0) &&
          !/Sanitizer|runtime error/.test(r.stderr),
        `${name}: exit ${r.code} ${r.signal ?? ""} ${r.stderr}`,
      );
    }
  },
});

Deno.test("cleanup", async () => {
  await Deno.remove(dir, { recursive: true });
});
