/**
 * The native targets: which ONNX ops each one's runtime runs (the compiler lists the others in one error).
 *
 * @module
 */

import { LOWERINGS } from "./lower.ts";

/** What a native target runs. */
export interface NativeTargetSpec {
  name: string;
  /** ONNX op types the runtime has kernels for. */
  ops: ReadonlySet<string>;
  description: string;
}

const ALL_OPS: ReadonlySet<string> = new Set(Object.keys(LOWERINGS));

/** Every native target, by name. */
export const NATIVE_TARGETS: Readonly<Record<string, NativeTargetSpec>> = {
  "host-native": { name: "host-native", ops: ALL_OPS, description: "the C runtime on x86-64 / aarch64 / armv7 Linux" },
  "cortex-m": {
    name: "cortex-m",
    ops: ALL_OPS,
    description: "the C runtime as Cortex-M firmware (no heap after init)",
  },
};

/**
 * The spec of a target, or an error listing the known ones.
 *
 * @example
 * ```ts
 * import { targetSpec } from "./targets.ts";
 * targetSpec("cortex-m").ops.has("Conv"); // true
 * ```
 */
export function targetSpec(name: string): NativeTargetSpec {
  const spec = NATIVE_TARGETS[name];
  if (!spec) throw new Error(`Unknown native target "${name}"; known: ${Object.keys(NATIVE_TARGETS).join(", ")}`);
  return spec;
}
