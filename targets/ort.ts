/**
 * Host execution through ONNX Runtime (`onnxruntime-node`, CPU).
 *
 * @module
 */

import * as ort from "onnxruntime-node";
import type { Executor, HostTensor } from "../core/exec/executor.ts";

const INTEGER_TYPES = new Set(["int8", "uint8", "int16", "uint16", "int32"]);

/**
 * Loads ONNX bytes into an ONNX Runtime session on the CPU.
 *
 * @example
 * ```ts ignore
 * import { createOrtExecutor } from "./ort.ts";
 * const exec = await createOrtExecutor(await Deno.readFile("model.onnx"));
 * const out = await exec.run({ input: { data: new Float32Array(784), dims: [1, 1, 28, 28] } }, ["logits"]);
 * await exec.release();
 * ```
 */
export async function createOrtExecutor(
  modelBytes: Uint8Array,
  options: { threads?: number; optimize?: boolean } = {},
): Promise<Executor> {
  const session = await ort.InferenceSession.create(modelBytes, {
    executionProviders: ["cpu"],
    graphOptimizationLevel: options.optimize === false ? "disabled" : "all",
    ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
  });
  return {
    inputNames: session.inputNames,
    async run(feeds: Record<string, HostTensor>, outputs: readonly string[]): Promise<Map<string, HostTensor>> {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor("float32", t.data, t.dims);
      const result = await session.run(ortFeeds, outputs as string[]);
      const out = new Map<string, HostTensor>();
      for (const name of outputs) {
        const t = result[name];
        if (!t) throw new Error(`ONNX Runtime returned no output "${name}"`);
        // Integer outputs (a probe model's int8 tensors) are handed back as floats holding the integers.
        const data = t.type === "float32"
          ? t.data as Float32Array
          : INTEGER_TYPES.has(t.type)
          ? Float32Array.from(t.data as ArrayLike<number>)
          : undefined;
        if (!data) throw new Error(`Output "${name}" is ${t.type}, expected float32 or an 8/16/32-bit integer type`);
        out.set(name, { data, dims: t.dims.map(Number) });
      }
      return out;
    },
    async release() {
      await session.release();
    },
  };
}
