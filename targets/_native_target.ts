/**
 * What the native-qm targets share: the scheme features and ops the native runtime (runtime/, compiled
 * by targets/native/) runs. From targets/native/lower.ts and builder.ts: int8 and uint8 activations
 * with any zero point (no int16), int8 weights per tensor or per output channel with zero points
 * (no uint8 weights), the kernels of LOWERINGS, and only nodes that run quantized.
 *
 * @module
 */

import { checkNativeOps, checkSchemes } from "./_support.ts";
import { targetSpec } from "./native/targets.ts";
import type { QuantFeatures, SchemeFeature, Unsupported } from "./target.ts";

/** Scheme features of the native runtime. */
export const NATIVE_SCHEMES: ReadonlySet<SchemeFeature> = new Set<SchemeFeature>([
  "weights-per-tensor",
  "weights-per-channel",
  "weights-asymmetric",
  "activations-int8",
  "activations-uint8",
]);

/** Bit widths: weights are stored as int8 whatever their bits (MNN quant_bits 2..8). */
export const NATIVE_BITS = { min: 2, max: 8 } as const;

/**
 * Everything `features` needs that the native compiler target `nativeTarget` lacks, named as `name`.
 *
 * @example
 * ```ts
 * import { checkNative } from "./_native_target.ts";
 * const features = { nodes: [], schemes: new Map([["activations-int16", ["x"]]] as const) };
 * checkNative("cortex-m", "cortex-m", features)[0]?.what; // "int16 activations"
 * ```
 */
export function checkNative(name: string, nativeTarget: string, features: QuantFeatures): Unsupported[] {
  return [
    ...checkNativeOps(features.nodes, targetSpec(nativeTarget).ops, name),
    ...checkSchemes(NATIVE_SCHEMES, NATIVE_BITS, features),
  ];
}
