/**
 * Reads `.qm` bytes back into a native program with the flatc-generated TypeScript reader, checking
 * the file identifier, the format version and the weights' SHA-256.
 *
 * @module
 */

import { createHash } from "node:crypto";
import * as flatbuffers from "flatbuffers";
import {
  type DTypeName,
  DTYPES,
  elementCount,
  FORMAT_VERSION,
  OP_KINDS,
  type Program,
  type ProgramOp,
  type ProgramTensor,
  tensorArrayFromBytes,
} from "../../core/sim/program.ts";
import * as qm from "./qm_generated.ts";

/** Thrown for bytes that are not a usable artifact. */
export class ArtifactError extends Error {
  override name = "ArtifactError";
}

const DTYPE_NAMES: Record<number, DTypeName> = {
  [qm.DType.Int8]: "int8",
  [qm.DType.UInt8]: "uint8",
  [qm.DType.Int16]: "int16",
  [qm.DType.Int32]: "int32",
  [qm.DType.Float32]: "float32",
};

const list = (n: number, at: (i: number) => number | null) => Array.from({ length: n }, (_, i) => at(i) ?? 0);

function readOp(op: qm.Op): ProgramOp {
  const kind = OP_KINDS[op.optionsType() - 1];
  const base = {
    name: op.name() ?? "",
    inputs: list(op.inputsLength(), (i) => op.inputs(i)),
    outputs: list(op.outputsLength(), (i) => op.outputs(i)),
  };
  const pair = (n: number, at: (i: number) => number | null) => list(2, (i) => (i < n ? at(i) : 0)) as [number, number];
  const quad = (n: number, at: (i: number) => number | null) =>
    list(4, (i) => (i < n ? at(i) : 0)) as [number, number, number, number];
  switch (kind) {
    case "Conv": {
      const o = op.options(new qm.ConvOptions()) as qm.ConvOptions;
      return {
        kind,
        ...base,
        kernel: pair(o.kernelLength(), (i) => o.kernel(i)),
        strides: pair(o.stridesLength(), (i) => o.strides(i)),
        dilations: pair(o.dilationsLength(), (i) => o.dilations(i)),
        pads: quad(o.padsLength(), (i) => o.pads(i)),
        group: o.group(),
        multiplier: list(o.multiplierLength(), (i) => o.multiplier(i)),
        shift: list(o.shiftLength(), (i) => o.shift(i)),
        actMin: o.actMin(),
        actMax: o.actMax(),
      };
    }
    case "FullyConnected": {
      const o = op.options(new qm.FullyConnectedOptions()) as qm.FullyConnectedOptions;
      return {
        kind,
        ...base,
        multiplier: list(o.multiplierLength(), (i) => o.multiplier(i)),
        shift: list(o.shiftLength(), (i) => o.shift(i)),
        actMin: o.actMin(),
        actMax: o.actMax(),
      };
    }
    case "Add": {
      const o = op.options(new qm.AddOptions()) as qm.AddOptions;
      return {
        kind,
        ...base,
        multiplierA: o.multiplierA(),
        multiplierB: o.multiplierB(),
        shift: o.shift(),
        actMin: o.actMin(),
        actMax: o.actMax(),
      };
    }
    case "Mul": {
      const o = op.options(new qm.MulOptions()) as qm.MulOptions;
      return { kind, ...base, multiplier: o.multiplier(), shift: o.shift(), actMin: o.actMin(), actMax: o.actMax() };
    }
    case "MaxPool": {
      const o = op.options(new qm.MaxPoolOptions()) as qm.MaxPoolOptions;
      return {
        kind,
        ...base,
        kernel: pair(o.kernelLength(), (i) => o.kernel(i)),
        strides: pair(o.stridesLength(), (i) => o.strides(i)),
        dilations: pair(o.dilationsLength(), (i) => o.dilations(i)),
        pads: quad(o.padsLength(), (i) => o.pads(i)),
      };
    }
    case "AveragePool": {
      const o = op.options(new qm.AveragePoolOptions()) as qm.AveragePoolOptions;
      return {
        kind,
        ...base,
        kernel: pair(o.kernelLength(), (i) => o.kernel(i)),
        strides: pair(o.stridesLength(), (i) => o.strides(i)),
        pads: quad(o.padsLength(), (i) => o.pads(i)),
        countIncludePad: o.countIncludePad(),
        multiplier: list(o.multiplierLength(), (i) => o.multiplier(i)),
        shift: list(o.shiftLength(), (i) => o.shift(i)),
      };
    }
    case "GlobalAveragePool": {
      const o = op.options(new qm.GlobalAveragePoolOptions()) as qm.GlobalAveragePoolOptions;
      return { kind, ...base, multiplier: o.multiplier(), shift: o.shift() };
    }
    case "Lut": {
      const o = op.options(new qm.LutOptions()) as qm.LutOptions;
      return { kind, ...base, values: (o.valuesArray() ?? new Uint8Array()).slice() };
    }
    case "Reshape":
      return { kind, ...base };
    case "Concat": {
      const o = op.options(new qm.ConcatOptions()) as qm.ConcatOptions;
      return { kind, ...base, axis: o.axis() };
    }
    case "Transpose": {
      const o = op.options(new qm.TransposeOptions()) as qm.TransposeOptions;
      return { kind, ...base, perm: list(o.permLength(), (i) => o.perm(i)) };
    }
    case "Pad": {
      const o = op.options(new qm.PadOptions()) as qm.PadOptions;
      return { kind, ...base, pads: list(o.padsLength(), (i) => o.pads(i)), value: o.value() };
    }
    case "Resize": {
      const o = op.options(new qm.ResizeOptions()) as qm.ResizeOptions;
      return {
        kind,
        ...base,
        yIndex: list(o.yIndexLength(), (i) => o.yIndex(i)),
        xIndex: list(o.xIndexLength(), (i) => o.xIndex(i)),
      };
    }
    case "Softmax": {
      const o = op.options(new qm.SoftmaxOptions()) as qm.SoftmaxOptions;
      return {
        kind,
        ...base,
        expTable: list(o.expTableLength(), (i) => o.expTable(i)),
        multiplier: o.multiplier(),
        shift: o.shift(),
      };
    }
    default:
      throw new ArtifactError(`Op "${base.name}" has unknown options type ${op.optionsType()}`);
  }
}

/**
 * Decodes `.qm` bytes into a program; throws {@link ArtifactError} on a wrong identifier or version or a
 * weights hash mismatch.
 *
 * @example
 * ```ts
 * import { readArtifact } from "./reader.ts";
 * import { writeArtifact } from "./writer.ts";
 * const program = { version: 1, producer: "doc", target: "host-native", tensors: [], ops: [], inputs: [],
 *   outputs: [], arenaSize: 0 };
 * readArtifact(writeArtifact(program)).producer; // "doc"
 * ```
 */
export function readArtifact(bytes: Uint8Array): Program {
  if (bytes.length < 8) throw new ArtifactError(`An artifact of ${bytes.length} bytes is truncated`);
  const bb = new flatbuffers.ByteBuffer(bytes);
  if (!qm.Model.bufferHasIdentifier(bb)) throw new ArtifactError("Not a .qm artifact (file identifier is not QM01)");
  const model = qm.Model.getRootAsModel(bb);
  if (model.version() !== FORMAT_VERSION) {
    throw new ArtifactError(`Artifact format version ${model.version()}; this reader reads ${FORMAT_VERSION}`);
  }
  const weights = model.weightsArray() ?? new Uint8Array();
  const sha = model.weightsSha256Array() ?? new Uint8Array();
  const digest = createHash("sha256").update(weights).digest();
  if (sha.length !== 32 || !digest.equals(sha)) throw new ArtifactError("Weights do not match their SHA-256");
  const tensors: ProgramTensor[] = [];
  for (let i = 0; i < model.tensorsLength(); i++) {
    const t = model.tensors(i)!;
    const q = t.quant();
    const dtype = DTYPE_NAMES[t.dtype()];
    if (!dtype) throw new ArtifactError(`Tensor ${i} has unknown type ${t.dtype()}`);
    const shape = list(t.shapeLength(), (k) => t.shape(k));
    const tensor: ProgramTensor = {
      name: t.name() ?? "",
      dtype,
      shape,
      scale: q ? list(q.scaleLength(), (k) => q.scale(k)) : [],
      zeroPoint: q ? list(q.zeroPointLength(), (k) => q.zeroPoint(k)) : [],
      axis: q ? q.axis() : -1,
    };
    const size = elementCount(shape) * DTYPES[dtype].bytes;
    if (t.constant()) {
      if (t.offset() + size > weights.length) throw new ArtifactError(`Constant "${tensor.name}" is outside the blob`);
      tensor.data = tensorArrayFromBytes(dtype, weights.subarray(t.offset(), t.offset() + size), elementCount(shape));
    } else tensor.arenaOffset = t.offset();
    tensors.push(tensor);
  }
  const ops: ProgramOp[] = [];
  for (let i = 0; i < model.opsLength(); i++) ops.push(readOp(model.ops(i)!));
  return {
    version: model.version(),
    producer: model.producer() ?? "",
    target: model.target() ?? "",
    tensors,
    ops,
    inputs: list(model.inputsLength(), (i) => model.inputs(i)),
    outputs: list(model.outputsLength(), (i) => model.outputs(i)),
    arenaSize: model.arenaSize(),
  };
}
