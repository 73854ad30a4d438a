/**
 * Serializes a native program to `.qm` bytes (targets/native/qm.fbs) with the flatc-generated
 * TypeScript builder: constants go into one weights blob (each 16-byte aligned, the blob itself
 * 16-byte aligned in the file) whose SHA-256 the file carries.
 *
 * @module
 */

import { createHash } from "node:crypto";
import * as flatbuffers from "flatbuffers";
import { OP_KINDS, type Program, type ProgramOp, type ProgramTensor, tensorBytes } from "../../core/sim/program.ts";
import * as qm from "./qm_generated.ts";

const DTYPE_CODES: Record<ProgramTensor["dtype"], qm.DType> = {
  int8: qm.DType.Int8,
  uint8: qm.DType.UInt8,
  int16: qm.DType.Int16,
  int32: qm.DType.Int32,
  float32: qm.DType.Float32,
};

const BLOB_ALIGNMENT = 16;

/** The weights blob and each constant's place in it. */
function layoutBlob(tensors: readonly ProgramTensor[]): { blob: Uint8Array; offsets: Map<number, number> } {
  const offsets = new Map<number, number>();
  let size = 0;
  tensors.forEach((t, i) => {
    if (!t.data) return;
    size = Math.ceil(size / BLOB_ALIGNMENT) * BLOB_ALIGNMENT;
    offsets.set(i, size);
    size += t.data.byteLength;
  });
  const blob = new Uint8Array(Math.ceil(size / BLOB_ALIGNMENT) * BLOB_ALIGNMENT);
  tensors.forEach((t, i) => {
    if (t.data) blob.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), offsets.get(i)!);
  });
  return { blob, offsets };
}

function writeOptions(b: flatbuffers.Builder, op: ProgramOp): flatbuffers.Offset {
  const ints = (v: readonly number[]) => qm.ConvOptions.createKernelVector(b, [...v]);
  const bytes = (v: readonly number[]) => qm.ConvOptions.createShiftVector(b, [...v]);
  switch (op.kind) {
    case "Conv":
      return qm.ConvOptions.createConvOptions(
        b,
        ints(op.kernel),
        ints(op.strides),
        ints(op.dilations),
        ints(op.pads),
        op.group,
        ints(op.multiplier),
        bytes(op.shift),
        op.actMin,
        op.actMax,
      );
    case "FullyConnected":
      return qm.FullyConnectedOptions.createFullyConnectedOptions(
        b,
        ints(op.multiplier),
        bytes(op.shift),
        op.actMin,
        op.actMax,
      );
    case "Add":
      return qm.AddOptions.createAddOptions(b, op.multiplierA, op.multiplierB, op.shift, op.actMin, op.actMax);
    case "Mul":
      return qm.MulOptions.createMulOptions(b, op.multiplier, op.shift, op.actMin, op.actMax);
    case "MaxPool":
      return qm.MaxPoolOptions.createMaxPoolOptions(
        b,
        ints(op.kernel),
        ints(op.strides),
        ints(op.dilations),
        ints(op.pads),
      );
    case "AveragePool":
      return qm.AveragePoolOptions.createAveragePoolOptions(
        b,
        ints(op.kernel),
        ints(op.strides),
        ints(op.pads),
        op.countIncludePad,
        ints(op.multiplier),
        bytes(op.shift),
      );
    case "GlobalAveragePool":
      return qm.GlobalAveragePoolOptions.createGlobalAveragePoolOptions(b, op.multiplier, op.shift);
    case "Lut":
      return qm.LutOptions.createLutOptions(b, qm.LutOptions.createValuesVector(b, op.values));
    case "Reshape":
      return qm.ReshapeOptions.createReshapeOptions(b);
    case "Concat":
      return qm.ConcatOptions.createConcatOptions(b, op.axis);
    case "Transpose":
      return qm.TransposeOptions.createTransposeOptions(b, ints(op.perm));
    case "Pad":
      return qm.PadOptions.createPadOptions(b, ints(op.pads), op.value);
    case "Resize":
      return qm.ResizeOptions.createResizeOptions(b, ints(op.yIndex), ints(op.xIndex));
    case "Softmax":
      return qm.SoftmaxOptions.createSoftmaxOptions(b, ints(op.expTable), op.multiplier, op.shift);
  }
}

/**
 * The `.qm` bytes of a program (its activation tensors must be memory planned).
 *
 * @example
 * ```ts
 * import { writeArtifact } from "./writer.ts";
 * const bytes = writeArtifact({ version: 1, producer: "doc", target: "host-native", tensors: [], ops: [],
 *   inputs: [], outputs: [], arenaSize: 0 });
 * new TextDecoder().decode(bytes.subarray(4, 8)); // "QM01"
 * ```
 */
export function writeArtifact(program: Program): Uint8Array {
  const b = new flatbuffers.Builder(1024);
  const { blob, offsets } = layoutBlob(program.tensors);
  // The weights vector first, 16-byte aligned (flatc's TypeScript output ignores force_align).
  const raw = b as unknown as { bb: flatbuffers.ByteBuffer; space: number };
  b.startVector(1, blob.length, BLOB_ALIGNMENT);
  raw.space -= blob.length;
  raw.bb.setPosition(raw.space);
  raw.bb.bytes().set(blob, raw.space);
  const weights = b.endVector();
  const sha = qm.Model.createWeightsSha256Vector(b, createHash("sha256").update(blob).digest());
  const tensors = program.tensors.map((t, i) => {
    const name = b.createString(t.name);
    const shape = qm.Tensor.createShapeVector(b, t.shape);
    const quant = qm.Quantization.createQuantization(
      b,
      qm.Quantization.createScaleVector(b, t.scale),
      qm.Quantization.createZeroPointVector(b, t.zeroPoint),
      t.axis,
    );
    const constant = t.data !== undefined;
    if (!constant && t.arenaOffset === undefined) throw new Error(`Tensor "${t.name}" has no arena place`);
    const offset = constant ? offsets.get(i)! : t.arenaOffset!;
    qm.Tensor.startTensor(b);
    qm.Tensor.addName(b, name);
    qm.Tensor.addDtype(b, DTYPE_CODES[t.dtype]);
    qm.Tensor.addShape(b, shape);
    qm.Tensor.addQuant(b, quant);
    qm.Tensor.addConstant(b, constant);
    qm.Tensor.addOffset(b, offset);
    qm.Tensor.addSize(b, tensorBytes(t));
    return qm.Tensor.endTensor(b);
  });
  const ops = program.ops.map((op) => {
    const name = b.createString(op.name);
    const inputs = qm.Op.createInputsVector(b, op.inputs);
    const outputs = qm.Op.createOutputsVector(b, op.outputs);
    const options = writeOptions(b, op);
    return qm.Op.createOp(b, name, inputs, outputs, OP_KINDS.indexOf(op.kind) + 1, options);
  });
  const producer = b.createString(program.producer);
  const target = b.createString(program.target);
  const model = qm.Model.createModel(
    b,
    program.version,
    producer,
    target,
    qm.Model.createTensorsVector(b, tensors),
    qm.Model.createOpsVector(b, ops),
    qm.Model.createInputsVector(b, program.inputs),
    qm.Model.createOutputsVector(b, program.outputs),
    program.arenaSize,
    weights,
    sha,
  );
  qm.Model.finishModelBuffer(b, model);
  return b.asUint8Array().slice();
}
