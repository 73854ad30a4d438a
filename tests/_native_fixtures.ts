// Shared by the native tests: the Fashion-MNIST fixtures quantized with the defaults (KL, symmetric int8,
// per-channel weights) and compiled to native programs, once per test process.
import { decodeModel } from "../core/onnx/model.ts";
import { DEFAULT_QUANTIZE_OPTIONS, quantizeModel, type QuantizeResult } from "../core/pipeline.ts";
import type { Program } from "../core/sim/program.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { imageFolderSource } from "../cli/source.ts";
import { BENCH_MODELS, type BenchModel, FMNIST_DIR } from "../bench/fixtures.ts";
import { readIdxImages, readIdxLabels } from "../cli/idx.ts";
import { idxSource } from "../cli/source.ts";
import { runProgram } from "../core/sim/interpreter.ts";
import { quantizeInput } from "../core/sim/io.ts";
import { readArtifact } from "../targets/native/reader.ts";
import { compileQdqModel } from "../targets/native/compile.ts";
import { writeArtifact } from "../targets/native/writer.ts";

export interface NativeFixture {
  model: BenchModel;
  result: QuantizeResult;
  program: Program;
  artifact: Uint8Array;
}

const cache = new Map<string, Promise<NativeFixture>>();

export const NATIVE_FIXTURES = ["fmnist_resnet", "fmnist_mobilenet"];

export function nativeFixture(name: string): Promise<NativeFixture> {
  let entry = cache.get(name);
  if (!entry) {
    entry = (async () => {
      const model = BENCH_MODELS.find((b) => b.name === name)!;
      const float = decodeModel(await Deno.readFile(model.path), model.path);
      const calib = await imageFolderSource(model.calib, model.input, model.spec, { batchSize: 8 });
      const result = await quantizeModel(float, calib.source, createOrtExecutor, DEFAULT_QUANTIZE_OPTIONS);
      const program = compileQdqModel(result.quantized, { target: "host-native" });
      return { model, result, program, artifact: writeArtifact(program) };
    })();
    cache.set(name, entry);
  }
  return entry;
}

export interface GoldenSamples {
  artifact: Uint8Array;
  /** Quantized input bytes per sample. */
  inputs: Uint8Array[];
  /** The interpreter's output bytes per sample. */
  outputs: Uint8Array[];
}

const golden = new Map<string, Promise<GoldenSamples>>();

/** 100 quantized test inputs (t10k 9000–9099, none of them calibration images) and the interpreter's outputs. */
export function goldenSamples(name: string): Promise<GoldenSamples> {
  let entry = golden.get(name);
  if (!entry) {
    entry = (async () => {
      const f = await nativeFixture(name);
      const images = await readIdxImages(`${FMNIST_DIR}/t10k-images-idx3-ubyte.gz`);
      const labels = await readIdxLabels(`${FMNIST_DIR}/t10k-labels-idx1-ubyte.gz`);
      const program = readArtifact(f.artifact);
      const input = program.tensors[program.inputs[0]!]!;
      const inputs: Uint8Array[] = [], outputs: Uint8Array[] = [];
      const source = idxSource(images, labels, f.model.input, f.model.spec, { batchSize: 1, start: 9000, count: 100 });
      for await (const batch of source()) {
        const q = quantizeInput(batch.feeds[f.model.input]!.data, input);
        const y = runProgram(program, [q])[0]!;
        inputs.push(new Uint8Array(q.buffer, q.byteOffset, q.byteLength));
        outputs.push(new Uint8Array(y.buffer, y.byteOffset, y.byteLength));
      }
      return { artifact: f.artifact, inputs, outputs };
    })();
    golden.set(name, entry);
  }
  return entry;
}
