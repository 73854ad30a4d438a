/**
 * The native artifact on the Fashion-MNIST fixtures: top-1 and cosine of the C runtime (host build; bit-exact
 * with core/sim, checked here again on the first 200 images) on the full 10 000-image test set next to ONNX
 * Runtime fp32 and int8 (QDQ), single-image latency of the three as ratios, and the SysTick cycles of the
 * mps2-an385 firmware in QEMU. Prints; never asserts a speed.
 *
 * Then fuzzes the loader and interpreter with libFuzzer (scripts/native/fuzz.sh; needs clang) for --fuzz
 * seconds (default 180; 0 skips it).
 *
 *   deno run -A bench/native_bench.ts [--models fmnist_resnet,fmnist_mobilenet] [--images 10000] [--runs 2000]
 *                                     [--fuzz 180]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { decodeModel, encodeModel } from "../core/onnx/model.ts";
import { DEFAULT_QUANTIZE_OPTIONS, quantizeModel } from "../core/pipeline.ts";
import { OutputMetricsAccumulator } from "../core/metrics/accumulate.ts";
import { runProgram } from "../core/sim/interpreter.ts";
import { dequantizeOutput, quantizeInput } from "../core/sim/io.ts";
import { elementCount } from "../core/sim/program.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { compileArtifact } from "../targets/native/mod.ts";
import { buildRuntime, runArtifact, runRunner } from "../targets/native/runtime.ts";
import { buildFirmware, Mps2Board } from "../targets/native/mps2.ts";
import { readIdxImages, readIdxLabels } from "../cli/idx.ts";
import { idxSource, imageFolderSource } from "../cli/source.ts";
import { BENCH_MODELS, FMNIST_DIR } from "./fixtures.ts";

/** One model's native bench numbers. */
export interface NativeBenchRow {
  model: string;
  images: number;
  floatTop1: number;
  qdqTop1: number;
  nativeTop1: number;
  /** Mean per-sample cosine of the native output vs float. */
  nativeCosine: number;
  /** Images of the first 200 where the C runtime equals core/sim byte for byte. */
  bitExact: { equal: number; of: number };
  /** Milliseconds per single-image run. */
  latencyMs: { native: number; ortInt8: number; ortFp32: number };
  artifactBytes: number;
  arenaBytes: number;
  /** Mean SysTick cycles per inference of the mps2-an385 firmware in QEMU (10 images; equal outputs checked). */
  mps2?: { cycles: number; bitExact: boolean };
}

async function mps2Cycles(artifact: Uint8Array, inputs: Uint8Array[], expected: Uint8Array[]) {
  const board = await Mps2Board.boot(await buildFirmware());
  try {
    if (await board.load(artifact) !== 0) throw new Error("The board refused the artifact");
    let cycles = 0, bitExact = true;
    for (let i = 0; i < inputs.length; i++) {
      await board.setInput(inputs[i]!);
      const r = await board.run();
      cycles += r.cycles;
      bitExact &&= r.status === 0 && r.outputs.every((v, k) => v === expected[i]![k]);
    }
    return { cycles: cycles / inputs.length, bitExact };
  } finally {
    await board.close();
  }
}

async function ortLatency(bytes: Uint8Array, input: string, output: string, dims: number[], runs: number) {
  const exec = await createOrtExecutor(bytes, { threads: 1 });
  try {
    const feeds = { [input]: { data: new Float32Array(elementCount(dims)).fill(0.5), dims } };
    for (let i = 0; i < 50; i++) await exec.run(feeds, [output]);
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) await exec.run(feeds, [output]);
    return (performance.now() - t0) / runs;
  } finally {
    await exec.release();
  }
}

/**
 * Runs the native bench.
 *
 * @example
 * ```ts ignore
 * const rows = await nativeBench({ models: ["fmnist_resnet"], images: 1000, runs: 500 });
 * console.log(formatNativeBench(rows));
 * ```
 */
export async function nativeBench(
  options: { models?: string[]; images?: number; runs?: number } = {},
): Promise<NativeBenchRow[]> {
  const names = options.models ?? ["fmnist_resnet", "fmnist_mobilenet"];
  const count = options.images ?? 10000, runs = options.runs ?? 2000;
  const images = await readIdxImages(`${FMNIST_DIR}/t10k-images-idx3-ubyte.gz`);
  const labels = await readIdxLabels(`${FMNIST_DIR}/t10k-labels-idx1-ubyte.gz`);
  const runner = await buildRuntime("host");
  const rows: NativeBenchRow[] = [];
  for (const name of names) {
    const m = BENCH_MODELS.find((b) => b.name === name);
    if (!m) throw new Error(`Unknown bench model "${name}"`);
    const float = decodeModel(await Deno.readFile(m.path), m.path);
    const calib = await imageFolderSource(m.calib, m.input, m.spec, { batchSize: 8 });
    const result = await quantizeModel(float, calib.source, createOrtExecutor, DEFAULT_QUANTIZE_OPTIONS);
    const native = compileArtifact(result.quantized, { target: "host-native" });
    const program = native.program;
    const inT = program.tensors[program.inputs[0]!]!, outT = program.tensors[program.outputs[0]!]!;
    await Deno.mkdir("out/native", { recursive: true });
    const artifactPath = `out/native/${name}.qm`;
    await Deno.writeFile(artifactPath, native.bytes);

    const floatBytes = encodeModel(result.prepared);
    const floatExec = await createOrtExecutor(floatBytes, { threads: 1 });
    const qdqExec = await createOrtExecutor(result.quantizedBytes, { threads: 1 });
    const qdqMetrics = new OutputMetricsAccumulator(m.output), nativeMetrics = new OutputMetricsAccumulator(m.output);
    const bitExact = { equal: 0, of: 0 };
    const boardInputs: Uint8Array[] = [], boardExpected: Uint8Array[] = [];
    let floatTop1 = 0;
    try {
      for await (const batch of idxSource(images, labels, m.input, m.spec, { batchSize: 500, count })()) {
        const x = batch.feeds[m.input]!;
        const f = (await floatExec.run(batch.feeds, [m.output])).get(m.output)!;
        const q = (await qdqExec.run(batch.feeds, [m.output])).get(m.output)!;
        const per = elementCount(inT.shape);
        const inputs = Array.from({ length: batch.size }, (_, s) => {
          const qi = quantizeInput(x.data.subarray(s * per, (s + 1) * per), inT);
          return new Uint8Array(qi.buffer, qi.byteOffset, qi.byteLength);
        });
        const outputs = await runArtifact("host", runner, native.bytes, inputs);
        const nativeOut = new Float32Array(batch.size * elementCount(outT.shape));
        outputs.forEach((o, s) => {
          const typed = outT.dtype === "uint8" ? o : new Int8Array(o.buffer, o.byteOffset, o.length);
          nativeOut.set(dequantizeOutput(typed, outT), s * elementCount(outT.shape));
          if (bitExact.of < 200) {
            const sim = runProgram(program, [
              inT.dtype === "uint8" ? inputs[s]! : new Int8Array(inputs[s]!.buffer),
            ])[0]!;
            bitExact.of++;
            if (boardInputs.length < 10) {
              boardInputs.push(inputs[s]!);
              boardExpected.push(new Uint8Array(sim.buffer, sim.byteOffset, sim.byteLength).slice());
            }
            if (new Uint8Array(sim.buffer, sim.byteOffset, sim.byteLength).every((v, i) => v === o[i])) {
              bitExact.equal++;
            }
          }
        });
        qdqMetrics.add(f, q, batch.size, batch.labels);
        nativeMetrics.add(f, { data: nativeOut, dims: f.dims }, batch.size, batch.labels);
      }
    } finally {
      await floatExec.release();
      await qdqExec.release();
    }
    const qdq = qdqMetrics.result(), nat = nativeMetrics.result();
    floatTop1 = nat.floatAccuracy ?? NaN;
    const timed = await runRunner("host", runner, [artifactPath, "--time", String(runs)]);
    if (timed.code !== 0) throw new Error(`qm_run --time failed: ${timed.stderr}`);
    const dims = [1, m.spec.channels, m.spec.height, m.spec.width];
    rows.push({
      model: name,
      images: nat.samples,
      floatTop1,
      qdqTop1: qdq.int8Accuracy ?? NaN,
      nativeTop1: nat.int8Accuracy ?? NaN,
      nativeCosine: nat.cosine,
      bitExact,
      latencyMs: {
        native: Number(timed.stdout.trim()) / 1000,
        ortInt8: await ortLatency(result.quantizedBytes, m.input, m.output, dims, runs),
        ortFp32: await ortLatency(floatBytes, m.input, m.output, dims, runs),
      },
      artifactBytes: native.bytes.length,
      arenaBytes: program.arenaSize,
      mps2: await mps2Cycles(native.bytes, boardInputs, boardExpected),
    });
  }
  return rows;
}

/**
 * The bench rows as printed lines.
 *
 * @example
 * ```ts ignore
 * console.log(formatNativeBench(await nativeBench()));
 * ```
 */
export function formatNativeBench(rows: readonly NativeBenchRow[]): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
  const lines = [`Native artifact (C runtime, host build, 1 thread) — ${Deno.build.target}`];
  for (const r of rows) {
    const l = r.latencyMs;
    lines.push(
      `  ${r.model}: top-1 on ${r.images} t10k images float ${pct(r.floatTop1)}, ORT int8 ${pct(r.qdqTop1)}, ` +
        `native ${pct(r.nativeTop1)} (cosine vs float ${r.nativeCosine.toFixed(4)}); ` +
        `bit-exact with core/sim on ${r.bitExact.equal}/${r.bitExact.of}`,
      `  ${r.model}: latency per image native ${l.native.toFixed(3)} ms, ORT int8 (QDQ) ${l.ortInt8.toFixed(3)} ms, ` +
        `ORT fp32 ${l.ortFp32.toFixed(3)} ms — native/ORT int8 ${(l.native / l.ortInt8).toFixed(2)}×, ` +
        `native/ORT fp32 ${
          (l.native / l.ortFp32).toFixed(2)
        }×; artifact ${r.artifactBytes} bytes, arena ${r.arenaBytes} bytes`,
    );
    if (r.mps2) {
      lines.push(
        `  ${r.model}: mps2-an385 firmware (Cortex-M3 in QEMU): ${
          Math.round(r.mps2.cycles)
        } SysTick cycles per image ` +
          `(QEMU's virtual 25 MHz clock, not cycle-accurate); outputs ${
            r.mps2.bitExact ? "equal" : "DIFFER from"
          } core/sim on 10 images`,
      );
    }
  }
  return lines.join("\n");
}

/**
 * Runs scripts/native/fuzz.sh for `seconds` and returns its summary lines (libFuzzer's stats and how many
 * crashing inputs were kept in runtime/fuzz/regressions/).
 *
 * @example
 * ```ts ignore
 * console.log(await nativeFuzz(180));
 * ```
 */
export async function nativeFuzz(seconds: number): Promise<string> {
  const script = new URL("../scripts/native/fuzz.sh", import.meta.url).pathname;
  const r = await new Deno.Command(script, { args: [String(seconds)] }).output();
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  return `Native runtime fuzzing (libFuzzer + ASan/UBSan, exit ${r.code}):\n` +
    text.trim().split("\n").map((l) => `  ${l}`).join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      models: { type: "string" },
      images: { type: "string" },
      runs: { type: "string" },
      fuzz: { type: "string" },
    },
  });
  const rows = await nativeBench({
    ...(values.models ? { models: values.models.split(",") } : {}),
    ...(values.images ? { images: Number(values.images) } : {}),
    ...(values.runs ? { runs: Number(values.runs) } : {}),
  });
  console.log(formatNativeBench(rows));
  const fuzzSeconds = Number(values.fuzz ?? 180);
  if (fuzzSeconds > 0) console.log(await nativeFuzz(fuzzSeconds));
}
