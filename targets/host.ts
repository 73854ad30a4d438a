/**
 * The host target: x86-64 Linux running the QDQ ONNX model through ONNX Runtime's CPU provider, with
 * the x64 build of the on-device runner (int8-runner + libonnxruntime.so.1 from onnxruntime-node).
 *
 * @module
 */

import { ortTarget } from "./_ort_runner.ts";
import type { Target } from "./target.ts";

/**
 * x86-64 Linux, ONNX Runtime CPU.
 *
 * @example
 * ```ts
 * import { HOST } from "./host.ts";
 * HOST.checkSupport({ nodes: [], schemes: new Map([["activations-int16", ["x"]]] as const) }); // []
 * ```
 */
export const HOST: Target = ortTarget({
  name: "host",
  description: "x86-64 Linux: the QDQ ONNX model on ONNX Runtime 1.30 (CPU) through int8-runner",
  arch: ["x86_64"],
  runnerArch: "x64",
});
