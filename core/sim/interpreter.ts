/**
 * The golden model: runs a native program with integers only, in one arena laid out by the program's
 * memory plan (so a wrong plan shows here as it would on the device). The C runtime must match its
 * outputs byte for byte.
 *
 * @module
 */

import { runOp } from "./ops/mod.ts";
import { DTYPES, elementCount, type Program, type ProgramOp, type TensorArray } from "./program.ts";

/** Per-op callback: the op and copies of its outputs (per-layer dumps). */
export type OpObserver = (op: ProgramOp, outputs: TensorArray[]) => void;

function view(arena: Uint8Array, dtype: string, offset: number, count: number): TensorArray {
  const b = arena.buffer, o = arena.byteOffset + offset;
  switch (dtype) {
    case "int8":
      return new Int8Array(b, o, count);
    case "uint8":
      return new Uint8Array(b, o, count);
    case "int16":
      return new Int16Array(b, o, count);
    case "int32":
      return new Int32Array(b, o, count);
    default:
      return new Float32Array(b, o, count);
  }
}

/**
 * Runs `program` on quantized inputs (one typed array per program input, in order) and returns copies
 * of its outputs.
 *
 * @example
 * ```ts
 * import { runProgram } from "./interpreter.ts";
 * import type { Program } from "./program.ts";
 * const tensor = (name: string, offset: number) =>
 *   ({ name, dtype: "int8" as const, shape: [2], scale: [1], zeroPoint: [0], axis: -1, arenaOffset: offset });
 * const program: Program = { version: 1, producer: "", target: "host-native", arenaSize: 32,
 *   tensors: [tensor("x", 0), tensor("y", 16)], inputs: [0], outputs: [1],
 *   ops: [{ kind: "Lut", name: "relu", inputs: [0], outputs: [1],
 *     values: new Uint8Array(256).map((_, i) => Math.max(0, i - 128)) }] };
 * runProgram(program, [new Int8Array([-3, 3])])[0]; // Int8Array [0, 3]
 * ```
 */
export function runProgram(program: Program, inputs: readonly TensorArray[], observe?: OpObserver): TensorArray[] {
  if (inputs.length !== program.inputs.length) {
    throw new Error(`The program has ${program.inputs.length} inputs, got ${inputs.length}`);
  }
  const arena = new Uint8Array(program.arenaSize);
  const arrays: TensorArray[] = program.tensors.map((t) => {
    if (t.data) return t.data;
    if (t.arenaOffset === undefined) throw new Error(`Tensor "${t.name}" has neither data nor an arena place`);
    if (t.arenaOffset % DTYPES[t.dtype].bytes !== 0) throw new Error(`Tensor "${t.name}" is misaligned`);
    return view(arena, t.dtype, t.arenaOffset, elementCount(t.shape));
  });
  program.inputs.forEach((index, k) => {
    const dst = arrays[index]!, src = inputs[k]!;
    if (src.length !== dst.length) {
      throw new Error(`Input ${k} ("${program.tensors[index]!.name}") needs ${dst.length} elements, got ${src.length}`);
    }
    dst.set(src as never);
  });
  const tensors = { tensor: (i: number) => program.tensors[i]!, array: (i: number) => arrays[i]! };
  for (const op of program.ops) {
    runOp(op, tensors);
    if (observe) observe(op, op.outputs.map((i) => arrays[i]!.slice()));
  }
  return program.outputs.map((i) => arrays[i]!.slice());
}
