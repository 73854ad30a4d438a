/**
 * The arm64 target: aarch64 Linux boards (and Android devices with a glibc userland, such as the ADB
 * test rig) running the QDQ ONNX model through ONNX Runtime's CPU provider, with the arm64 build of
 * the on-device runner (int8-runner + onnxruntime-node's linux/arm64 libonnxruntime.so.1).
 * Stock Android (bionic libc) cannot load these glibc binaries: that needs an NDK build of the runner
 * against onnxruntime-android's library, which this target does not provide yet.
 *
 * @module
 */

import { ortTarget } from "./_ort_runner.ts";
import type { Target } from "./target.ts";

/**
 * aarch64 Linux, ONNX Runtime CPU.
 *
 * @example
 * ```ts
 * import { ARM64 } from "./arm64.ts";
 * ARM64.arch; // ["aarch64", "arm64"]
 * ```
 */
export const ARM64: Target = ortTarget({
  name: "arm64",
  description: "aarch64 Linux boards and phones: the QDQ ONNX model on ONNX Runtime 1.30 (CPU) through int8-runner",
  // `uname -m` says aarch64 on Linux; some Android userlands say arm64.
  arch: ["aarch64", "arm64"],
  runnerArch: "arm64",
});
