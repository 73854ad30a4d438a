/**
 * The native artifact on the Fashion-MNIST fixtures: top-1 and cosine of the C runtime (host build; bit-exact
 * with core/sim, checked here again on the first 200 images) on the t10k test set next to ONNX Runtime fp32
 * and int8 (QDQ), single-image latency of the three as ratios, and the SysTick cycles of the mps2-an385
 * firmware in QEMU (bench/mps2_cycles.ts, over serial://). Prints; never asserts a speed. `deno task bench`
 * runs it after its own tables (bench/main.ts); it also runs alone:
 *
 *   deno run -A bench/native_bench.ts [--models fmnist_resnet,…] [--images 10000] [--runs 2000] [--rounds 3]
 *                                     [--skip-mps2] [--fuzz-seconds 180]
 *
 * Latency: each of the three runs `runs` single-image inferences per round, round after round side by side
 * (so a busy machine slows all three alike), and the best round's mean counts. The C runtime loops inside
 * qm_run (`--time`); ONNX Runtime is called through onnxruntime-node, one `run` per image (its per-call
 * binding overhead included).
 *
 * Then fuzzes the loader and interpreter with libFuzzer (scripts/native/fuzz.sh; needs clang) for
 * --fuzz-seconds (default 180; 0 skips it); crashing inputs are kept in runtime/fuzz/regressions/, which
 * tests/native_loader_test.ts replays.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { decodeModel, encodeModel } from "../core/onnx/model.ts";
import { DEFAULT_QUANTIZE_OPTIONS, quantizeModel } from "../core/pipeline.ts";
import { OutputMetricsAccumulator } from "../core/metrics/accumulate.ts";
import type { Executor } from "../core/exec/executor.ts";
import type { BatchSource } from "../core/quant/calibrate.ts";
import { runProgram } from "../core/sim/interpreter.ts";
import { dequantizeOutput, quantizeInput } from "../core/sim/io.ts";
import { elementCount } from "../core/sim/program.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { compileArtifact } from "../targets/native/mod.ts";
import { buildRuntime, runArtifact, runRunner } from "../targets/native/runtime.ts";
import { readIdxImages, readIdxLabels } from "../cli/idx.ts";
import { idxSource, imageFolderSource } from "../cli/source.ts";
import { BENCH_MODELS, type BenchModel, FMNIST_DIR } from "./fixtures.ts";
import { t10kSource } from "./peers/data.ts";
import { formatTable } from "./table.ts";
import { mps2Cycles } from "./mps2_cycles.ts";

/** The bench models the native compiler takes (the others need float ops or dynamic shapes). */
export const NATIVE_BENCH_MODELS: readonly string[] = ["fmnist_resnet", "fmnist_mobilenet", "fmnist_mobilenetv2_tv"];

/** Options of {@link nativeBench}. */
export interface NativeBenchOptions {
  /** Bench model names (default {@link NATIVE_BENCH_MODELS}). */
  models?: string[];
  /** t10k images for accuracy (default 10 000). */
  images?: number;
  /** Single-image runs per latency round (default 2000). */
  runs?: number;
  /** Latency rounds; the best counts (default 3). */
  rounds?: number;
  /** Cycles of the mps2-an385 firmware in QEMU (default true). */
  mps2?: boolean;
}

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
  /** Milliseconds per single-image run (best round). */
  latencyMs: { native: number; ortInt8: number; ortFp32: number };
  artifactBytes: number;
  arenaBytes: number;
  /** Mean SysTick cycles per inference of the mps2-an385 firmware in QEMU (10 images; equal outputs checked). */
  mps2?: { cycles: number; bitExact: boolean } | { error: string };
}

/** What the native bench ran on. */
export interface NativeBenchResult {
  /** The C kernels the host runner was built with (`qm_run --kernels`). */
  kernels: string;
  runs: number;
  rounds: number;
  rows: NativeBenchRow[];
}

/** Mean milliseconds of `runs` single-image ONNX Runtime runs (after 50 warm-up runs). */
async function ortLatency(exec: Executor, m: BenchModel, dims: number[], runs: number): Promise<number> {
  const feeds = { [m.input]: { data: new Float32Array(elementCount(dims)).fill(0.5), dims } };
  for (let i = 0; i < 50; i++) await exec.run(feeds, [m.output]);
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await exec.run(feeds, [m.output]);
  return (performance.now() - t0) / runs;
}

/** Mean milliseconds of `runs` runs of the artifact inside qm_run (after `runs / 10` warm-up runs). */
async function nativeLatency(runner: string, artifactPath: string, runs: number): Promise<number> {
  await runRunner("host", runner, [artifactPath, "--time", String(Math.max(1, Math.floor(runs / 10)))]);
  const timed = await runRunner("host", runner, [artifactPath, "--time", String(runs)]);
  if (timed.code !== 0) throw new Error(`qm_run --time failed: ${timed.stderr}`);
  return Number(timed.stdout.trim()) / 1000;
}

/** The t10k images as the model takes them (stretched when the input is not 28×28). */
async function evaluationSource(m: BenchModel, count: number): Promise<BatchSource> {
  if (m.spec.width === 28 && m.spec.height === 28) {
    const images = await readIdxImages(`${FMNIST_DIR}/t10k-images-idx3-ubyte.gz`);
    const labels = await readIdxLabels(`${FMNIST_DIR}/t10k-labels-idx1-ubyte.gz`);
    return idxSource(images, labels, m.input, m.spec, { batchSize: 500, count });
  }
  return (await t10kSource(m, { batchSize: 500, count })).source;
}

/**
 * Runs the native bench.
 *
 * @example
 * ```ts ignore
 * const result = await nativeBench({ models: ["fmnist_resnet"], images: 1000, runs: 500 });
 * console.log(formatNativeBench(result));
 * ```
 */
export async function nativeBench(options: NativeBenchOptions = {}): Promise<NativeBenchResult> {
  const names = options.models ?? [...NATIVE_BENCH_MODELS];
  const count = options.images ?? 10000, runs = options.runs ?? 2000, rounds = options.rounds ?? 3;
  const runner = await buildRuntime("host");
  const kernels = (await runRunner("host", runner, ["--kernels"])).stdout.trim() || "unknown";
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
    const latencyMs = { native: Infinity, ortInt8: Infinity, ortFp32: Infinity };
    try {
      for await (const batch of (await evaluationSource(m, count))()) {
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
            const simBytes = new Uint8Array(sim.buffer, sim.byteOffset, sim.byteLength);
            bitExact.of++;
            if (boardInputs.length < 10) {
              boardInputs.push(inputs[s]!);
              boardExpected.push(simBytes.slice());
            }
            if (simBytes.every((v, i) => v === o[i])) bitExact.equal++;
          }
        });
        qdqMetrics.add(f, q, batch.size, batch.labels);
        nativeMetrics.add(f, { data: nativeOut, dims: f.dims }, batch.size, batch.labels);
      }
      const dims = [1, m.spec.channels, m.spec.height, m.spec.width];
      for (let r = 0; r < rounds; r++) {
        latencyMs.native = Math.min(latencyMs.native, await nativeLatency(runner, artifactPath, runs));
        latencyMs.ortInt8 = Math.min(latencyMs.ortInt8, await ortLatency(qdqExec, m, dims, runs));
        latencyMs.ortFp32 = Math.min(latencyMs.ortFp32, await ortLatency(floatExec, m, dims, runs));
      }
    } finally {
      await floatExec.release();
      await qdqExec.release();
    }
    const qdq = qdqMetrics.result(), nat = nativeMetrics.result();
    let mps2: NativeBenchRow["mps2"];
    if (options.mps2 ?? true) {
      try {
        mps2 = await mps2Cycles(native.bytes, boardInputs, boardExpected);
      } catch (e) {
        mps2 = { error: (e as Error).message.split("\n")[0]! };
      }
    }
    rows.push({
      model: name,
      images: nat.samples,
      floatTop1: nat.floatAccuracy ?? NaN,
      qdqTop1: qdq.int8Accuracy ?? NaN,
      nativeTop1: nat.int8Accuracy ?? NaN,
      nativeCosine: nat.cosine,
      bitExact,
      latencyMs,
      artifactBytes: native.bytes.length,
      arenaBytes: program.arenaSize,
      ...(mps2 ? { mps2 } : {}),
    });
  }
  return { kernels, runs, rounds, rows };
}

/**
 * The native bench as printed tables: latency with ratios, then accuracy, bit-exactness and sizes.
 *
 * @example
 * ```ts
 * import { formatNativeBench } from "./native_bench.ts";
 * formatNativeBench({ kernels: "avx2", runs: 10, rounds: 1, rows: [] }).startsWith("Native artifact"); // true
 * ```
 */
export function formatNativeBench(result: NativeBenchResult): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
  const ms = (x: number) => x.toFixed(3);
  const ratio = (x: number) => `${x.toFixed(2)}×`;
  const lines = [
    `Native artifact: the C runtime (host build, ${result.kernels} kernels, 1 thread) vs ONNX Runtime CPU (1 thread) ` +
    `on ${Deno.build.target}; single-image latency, best of ${result.rounds} rounds of ${result.runs} runs`,
    formatTable(
      ["model", "native ms", "ORT int8 (QDQ) ms", "ORT fp32 ms", "native / ORT int8", "native / ORT fp32"],
      result.rows.map((r) => [
        r.model,
        ms(r.latencyMs.native),
        ms(r.latencyMs.ortInt8),
        ms(r.latencyMs.ortFp32),
        ratio(r.latencyMs.native / r.latencyMs.ortInt8),
        ratio(r.latencyMs.native / r.latencyMs.ortFp32),
      ]),
    ),
    "",
    formatTable(
      [
        "model",
        "t10k images",
        "float top-1",
        "ORT int8 top-1",
        "native top-1",
        "native cosine",
        "bit-exact vs core/sim",
        "artifact B",
        "arena B",
        "mps2-an385 cycles/image",
      ],
      result.rows.map((r) => [
        r.model,
        String(r.images),
        pct(r.floatTop1),
        pct(r.qdqTop1),
        pct(r.nativeTop1),
        r.nativeCosine.toFixed(4),
        `${r.bitExact.equal}/${r.bitExact.of}`,
        String(r.artifactBytes),
        String(r.arenaBytes),
        !r.mps2
          ? "–"
          : "error" in r.mps2
          ? `not measured: ${r.mps2.error}`
          : `${Math.round(r.mps2.cycles)}${r.mps2.bitExact ? "" : " (outputs DIFFER)"}`,
      ]),
    ),
    "mps2-an385: Cortex-M3 firmware in QEMU, SysTick at QEMU's virtual 25 MHz (not cycle-accurate); " +
    "outputs checked against core/sim on 10 images.",
  ];
  return lines.join("\n");
}

/** One fuzzing run of the loader. */
export interface NativeFuzzResult {
  seconds: number;
  /** scripts/native/fuzz.sh's exit status (0: no crash). */
  code: number;
  /** Its summary lines (libFuzzer's final stats, crashing inputs kept). */
  summary: string[];
}

/**
 * Runs scripts/native/fuzz.sh for `seconds`: libFuzzer on the loader and interpreter under ASan/UBSan; crashing
 * inputs are kept in runtime/fuzz/regressions/.
 *
 * @example
 * ```ts ignore
 * console.log(formatNativeFuzz(await nativeFuzz(180)));
 * ```
 */
export async function nativeFuzz(seconds: number): Promise<NativeFuzzResult> {
  const script = new URL("../scripts/native/fuzz.sh", import.meta.url).pathname;
  const r = await new Deno.Command(script, { args: [String(seconds)] }).output();
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  return { seconds, code: r.code, summary: text.trim().split("\n").filter((l) => l.trim() !== "") };
}

/**
 * A fuzzing run as printed lines.
 *
 * @example
 * ```ts
 * import { formatNativeFuzz } from "./native_bench.ts";
 * formatNativeFuzz({ seconds: 1, code: 0, summary: ["fuzz: 1s, exit 0"] }).split("\n").length; // 2
 * ```
 */
export function formatNativeFuzz(result: NativeFuzzResult): string {
  return `Native loader fuzzing (libFuzzer + ASan/UBSan, ${result.seconds} s, exit ${result.code}):\n` +
    result.summary.map((l) => `  ${l}`).join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      models: { type: "string" },
      images: { type: "string" },
      runs: { type: "string" },
      rounds: { type: "string" },
      "skip-mps2": { type: "boolean" },
      "fuzz-seconds": { type: "string" },
    },
  });
  const result = await nativeBench({
    ...(values.models ? { models: values.models.split(",") } : {}),
    ...(values.images ? { images: Number(values.images) } : {}),
    ...(values.runs ? { runs: Number(values.runs) } : {}),
    ...(values.rounds ? { rounds: Number(values.rounds) } : {}),
    mps2: !values["skip-mps2"],
  });
  console.log(formatNativeBench(result));
  const fuzzSeconds = Number(values["fuzz-seconds"] ?? 180);
  if (fuzzSeconds > 0) console.log(formatNativeFuzz(await nativeFuzz(fuzzSeconds)));
}
