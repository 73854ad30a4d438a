/**
 * The native target: QDQ model → `.qm` artifact (compiler, writer, reader, runtime runner).
 *
 * @module
 */

import type { Model } from "../../core/onnx/ir.ts";
import type { Program } from "../../core/sim/program.ts";
import { type CompileOptions, compileQdqModel } from "./compile.ts";
import { writeArtifact } from "./writer.ts";

export { type CompileOptions, compileQdqModel, type UnsupportedNode, UnsupportedOpsError } from "./compile.ts";
export { writeArtifact } from "./writer.ts";
export { ArtifactError, readArtifact } from "./reader.ts";
export { NATIVE_TARGETS, type NativeTargetSpec, targetSpec } from "./targets.ts";

/** A compiled artifact. */
export interface NativeArtifact {
  program: Program;
  bytes: Uint8Array;
  /** Bytes of constants (weights, biases) in the artifact. */
  weightBytes: number;
}

/**
 * Compiles a QDQ model and serializes it.
 *
 * @example
 * ```ts ignore
 * import { compileArtifact } from "./mod.ts";
 * const { bytes } = compileArtifact(result.quantized, { target: "cortex-m" });
 * await Deno.writeFile("m.qm", bytes);
 * ```
 */
export function compileArtifact(model: Model, options: CompileOptions): NativeArtifact {
  const program = compileQdqModel(model, options);
  const weightBytes = program.tensors.reduce((n, t) => n + (t.data?.byteLength ?? 0), 0);
  return { program, bytes: writeArtifact(program), weightBytes };
}
