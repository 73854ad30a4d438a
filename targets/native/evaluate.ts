/**
 * A native program against the float model: the float model runs in an executor (ONNX Runtime), the
 * program in the integer interpreter (core/sim), sample by sample; the outputs are compared with the
 * same metrics as the QDQ evaluation (mean per-sample cosine, top-1 agreement and accuracy).
 *
 * @module
 */

import type { ExecutorFactory } from "../../core/exec/executor.ts";
import { type OutputMetrics, OutputMetricsAccumulator } from "../../core/metrics/accumulate.ts";
import type { BatchSource } from "../../core/quant/calibrate.ts";
import { runProgram } from "../../core/sim/interpreter.ts";
import { dequantizeOutput, quantizeInput } from "../../core/sim/io.ts";
import { elementCount, type Program } from "../../core/sim/program.ts";

/**
 * Evaluates a single-input, single-output program against the float model on `source`.
 *
 * @example
 * ```ts ignore
 * const metrics = await evaluateProgram(program, encodeModel(result.prepared), source, createOrtExecutor);
 * console.log(metrics.cosine, metrics.int8Accuracy);
 * ```
 */
export async function evaluateProgram(
  program: Program,
  floatModel: Uint8Array,
  source: BatchSource,
  createExecutor: ExecutorFactory,
): Promise<OutputMetrics> {
  if (program.inputs.length !== 1 || program.outputs.length !== 1) {
    throw new Error("evaluateProgram handles programs with one input and one output");
  }
  const input = program.tensors[program.inputs[0]!]!, output = program.tensors[program.outputs[0]!]!;
  const perSampleIn = elementCount(input.shape), perSampleOut = elementCount(output.shape);
  const exec = await createExecutor(floatModel, { threads: 1 });
  const outputName = output.name;
  const metrics = new OutputMetricsAccumulator(outputName);
  try {
    for await (const batch of source()) {
      const feeds = batch.feeds;
      const feed = feeds[input.name] ?? Object.values(feeds)[0];
      if (!feed) throw new Error("The batch has no input");
      const float = (await exec.run(feeds, [outputName])).get(outputName)!;
      const quant = new Float32Array(batch.size * perSampleOut);
      for (let s = 0; s < batch.size; s++) {
        const x = feed.data.subarray(s * perSampleIn, (s + 1) * perSampleIn);
        const y = runProgram(program, [quantizeInput(x, input)])[0]!;
        quant.set(dequantizeOutput(y, output), s * perSampleOut);
      }
      metrics.add(float, { data: quant, dims: float.dims }, batch.size, batch.labels);
    }
  } finally {
    await exec.release();
  }
  return metrics.result();
}
