/**
 * Operator lowering: one function per ONNX op type, from a QDQ node to native ops. An explicit table
 * (targets/native/targets.ts says which of these each target runs). Every real multiplier is encoded
 * here with core/sim/fixed_point.ts; the integer semantics live in core/sim/ops/.
 *
 * @module
 */

import { attrFloat, attrInt, attrInts, type Node } from "../../core/onnx/ir.ts";
import { DataType } from "../../core/onnx/tensor.ts";
import {
  quantizeMultiplier,
  quantizeMultiplierPair,
  roundHalfAway,
  saturateInt32,
} from "../../core/sim/fixed_point.ts";
import { DTYPES, elementCount, type ProgramTensor } from "../../core/sim/program.ts";
import { softmaxParameters } from "../../core/sim/ops/softmax.ts";
import { type ElementFunction, LoweringError, type ProgramBuilder } from "./builder.ts";

/** Longest dot product the int32 accumulator holds without overflow for int8/uint8 operands (255² · K < 2^31). */
export const MAX_ACCUMULATION = 32767;

/** What a lowering gets: the builder, the node, and its output tensor (created on demand). */
export interface LoweringContext {
  b: ProgramBuilder;
  node: Node;
  /**
   * Creates the node's output tensor with `shape`. `fusable`: the op clamps to actMin/actMax itself (a
   * fused Relu/Clip becomes that range). `sameQuantAs`: the op moves values only, so it writes a tensor
   * quantized like that input and the compiler requantizes afterwards when the output differs.
   */
  output(shape: number[], opts?: { fusable?: boolean; sameQuantAs?: number }): {
    index: number;
    actMin: number;
    actMax: number;
  };
}

/** A lowering. */
export type Lowering = (ctx: LoweringContext) => void;

function fail(message: string): never {
  throw new LoweringError(message);
}

function pair(values: number[], fallback: [number, number]): [number, number] {
  return values.length >= 2 ? [values[0]!, values[1]!] : fallback;
}

/** Pads [top, left, bottom, right] from ONNX pads / auto_pad. */
function convPads(
  node: Node,
  input: [number, number],
  kernel: [number, number],
  strides: [number, number],
  dilations: [number, number],
): [number, number, number, number] {
  const auto = node.attributes.get("auto_pad");
  const mode = auto?.type === "string" ? auto.value : "NOTSET";
  if (mode === "NOTSET") {
    const p = attrInts(node, "pads", [0, 0, 0, 0]);
    if (p.length !== 4) fail(`pads has ${p.length} values; only 2-D is supported`);
    return [p[0]!, p[1]!, p[2]!, p[3]!];
  }
  if (mode === "VALID") return [0, 0, 0, 0];
  const begin: number[] = [], end: number[] = [];
  for (let a = 0; a < 2; a++) {
    const out = Math.ceil(input[a]! / strides[a]!);
    const total = Math.max(0, (out - 1) * strides[a]! + (kernel[a]! - 1) * dilations[a]! + 1 - input[a]!);
    const small = Math.floor(total / 2);
    begin.push(mode === "SAME_LOWER" ? total - small : small);
    end.push(mode === "SAME_LOWER" ? small : total - small);
  }
  return [begin[0]!, begin[1]!, end[0]!, end[1]!];
}

function windowOutput(
  size: number,
  padBegin: number,
  padEnd: number,
  kernel: number,
  stride: number,
  dilation: number,
  ceil: boolean,
): number {
  const span = (kernel - 1) * dilation + 1;
  const room = size + padBegin + padEnd - span;
  if (room < 0) fail(`window of ${span} does not fit an input of ${size} with padding ${padBegin + padEnd}`);
  let out = (ceil ? Math.ceil(room / stride) : Math.floor(room / stride)) + 1;
  // ceil_mode: a last window starting in the end padding is dropped (ONNX / PyTorch).
  if (ceil && (out - 1) * stride >= size + padBegin) out--;
  return out;
}

function nchw(t: ProgramTensor, node: Node): [number, number, number, number] {
  if (t.shape.length !== 4) fail(`input of node "${node.name}" is ${t.shape.length}-D; NCHW (4-D) is required`);
  return t.shape as [number, number, number, number];
}

/** Per-channel int8 weights of a dequantized constant, as [channels, rest] with channel scales. */
function weightsOf(ctx: LoweringContext, slot: number, channelAxis: number) {
  const w = ctx.b.input(ctx.node, slot);
  if (w?.kind !== "constant" || w.tensor.dataType !== DataType.INT8) fail("its weights are not int8 constants");
  const channels = w.tensor.dims[channelAxis]!;
  if (w.axis !== -1 && w.axis !== channelAxis) fail(`its weights are quantized along axis ${w.axis}`);
  const scales = w.scales.length === 1 ? new Array<number>(channels).fill(w.scales[0]!) : w.scales;
  const zeroPoints = w.zeroPoints.length === 1 ? new Array<number>(channels).fill(w.zeroPoints[0]!) : w.zeroPoints;
  return { tensor: w.tensor, data: w.tensor.data as Int8Array, scales, zeroPoints };
}

/** int32 bias in the accumulator's scale sx · sw[c] (× beta), from a dequantized int32 or a float constant. */
function biasOf(ctx: LoweringContext, slot: number, sx: number, sw: number[], beta = 1): Int32Array | undefined {
  const bias = ctx.b.input(ctx.node, slot);
  if (!bias) return undefined;
  const n = sw.length;
  const out = new Int32Array(n);
  if (bias.kind === "constant") {
    if (bias.tensor.data.length !== n) fail(`its bias has ${bias.tensor.data.length} values for ${n} channels`);
    for (let c = 0; c < n; c++) {
      const q = Number(bias.tensor.data[c]!) - (bias.zeroPoints[bias.zeroPoints.length > 1 ? c : 0] ?? 0);
      const s = bias.scales[bias.scales.length > 1 ? c : 0]!;
      const target = sx * sw[c]!;
      out[c] = beta === 1 && Math.fround(target) === s && bias.tensor.dataType === DataType.INT32
        ? q
        : saturateInt32(roundHalfAway((q * s * beta) / target));
    }
    return out;
  }
  if (bias.kind === "float") {
    if (bias.values.length !== n && bias.values.length !== 1) fail(`its bias has ${bias.values.length} values`);
    for (let c = 0; c < n; c++) {
      out[c] = saturateInt32(roundHalfAway((bias.values[bias.values.length > 1 ? c : 0]! * beta) / (sx * sw[c]!)));
    }
    return out;
  }
  fail("its bias is a computed tensor");
}

function requantizers(real: number[]): { multiplier: number[]; shift: number[] } {
  const fixed = real.map((r) => {
    try {
      return quantizeMultiplier(r);
    } catch (e) {
      fail((e as Error).message);
    }
  });
  return { multiplier: fixed.map((f) => f.multiplier), shift: fixed.map((f) => f.shift) };
}

const conv: Lowering = (ctx) => {
  const { b, node } = ctx;
  const x = b.activationInput(node, 0);
  const [n, c, h, w] = nchw(x.tensor, node);
  const wq = weightsOf(ctx, 1, 0);
  if (wq.tensor.dims.length !== 4) fail(`only 2-D convolution is supported (weights are ${wq.tensor.dims.length}-D)`);
  const [oc, cg, kh, kw] = wq.tensor.dims as [number, number, number, number];
  const group = attrInt(node, "group", 1);
  if (cg * group !== c || oc % group !== 0) fail(`group ${group} does not divide ${c} → ${oc} channels`);
  if (cg * kh * kw > MAX_ACCUMULATION) {
    fail(`its dot products have ${cg * kh * kw} terms (at most ${MAX_ACCUMULATION})`);
  }
  const kernel = pair(attrInts(node, "kernel_shape", []), [kh, kw]);
  if (kernel[0] !== kh || kernel[1] !== kw) fail("kernel_shape differs from the weights");
  const strides = pair(attrInts(node, "strides", []), [1, 1]);
  const dilations = pair(attrInts(node, "dilations", []), [1, 1]);
  const pads = convPads(node, [h, w], kernel, strides, dilations);
  const oh = windowOutput(h, pads[0], pads[2], kh, strides[0], dilations[0], false);
  const ow = windowOutput(w, pads[1], pads[3], kw, strides[1], dilations[1], false);
  const out = ctx.output([n, oc, oh, ow], { fusable: true });
  const sx = x.tensor.scale[0]!, sy = b.tensors[out.index]!.scale[0]!;
  const bias = biasOf(ctx, 2, sx, wq.scales);
  const weights = b.constant(`${node.name}:weights`, "int8", [oc, cg, kh, kw], wq.data, {
    scale: wq.scales,
    zeroPoint: wq.zeroPoints,
    axis: 0,
  });
  const inputs = [x.index, weights];
  if (bias) inputs.push(b.constant(`${node.name}:bias`, "int32", [oc], bias));
  b.ops.push({
    kind: "Conv",
    name: node.name,
    inputs,
    outputs: [out.index],
    kernel,
    strides,
    dilations,
    pads,
    group,
    ...requantizers(wq.scales.map((s) => (sx * s) / sy)),
    actMin: out.actMin,
    actMax: out.actMax,
  });
};

const fullyConnected: Lowering = (ctx) => {
  const { b, node } = ctx;
  const x = b.activationInput(node, 0);
  if (x.tensor.shape.length !== 2) fail(`its input is ${x.tensor.shape.length}-D; only [M, K] inputs are supported`);
  const [m, k] = x.tensor.shape as [number, number];
  const isGemm = node.opType === "Gemm";
  if (isGemm && attrInt(node, "transA", 0) !== 0) fail("transA = 1 is not supported");
  const transB = isGemm && attrInt(node, "transB", 0) === 1;
  const wq = weightsOf(ctx, 1, transB ? 0 : 1);
  if (wq.tensor.dims.length !== 2) fail("its weights are not a matrix");
  const [n, kk] = transB ? wq.tensor.dims as [number, number] : [wq.tensor.dims[1]!, wq.tensor.dims[0]!];
  if (kk !== k) fail(`inner dimensions differ (${k} vs ${kk})`);
  if (k > MAX_ACCUMULATION) fail(`its dot products have ${k} terms (at most ${MAX_ACCUMULATION})`);
  let data = wq.data;
  if (!transB) {
    data = new Int8Array(n * k);
    for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) data[j * k + i] = wq.data[i * n + j]!;
  }
  const alpha = isGemm ? attrFloat(node, "alpha", 1) : 1, beta = isGemm ? attrFloat(node, "beta", 1) : 1;
  const out = ctx.output([m, n], { fusable: true });
  const sx = x.tensor.scale[0]!, sy = b.tensors[out.index]!.scale[0]!;
  const bias = isGemm ? biasOf(ctx, 2, sx * alpha, wq.scales, beta) : undefined;
  const weights = b.constant(`${node.name}:weights`, "int8", [n, k], data, {
    scale: wq.scales,
    zeroPoint: wq.zeroPoints,
    axis: 0,
  });
  const inputs = [x.index, weights];
  if (bias) inputs.push(b.constant(`${node.name}:bias`, "int32", [n], bias));
  b.ops.push({
    kind: "FullyConnected",
    name: node.name,
    inputs,
    outputs: [out.index],
    ...requantizers(wq.scales.map((s) => (alpha * sx * s) / sy)),
    actMin: out.actMin,
    actMax: out.actMax,
  });
};

/** An element-wise operand: an activation, or a constant stored as int8 (its own scale). */
function operand(ctx: LoweringContext, slot: number): number {
  const { b, node } = ctx;
  const i = b.input(node, slot);
  if (!i) fail(`input ${slot} is missing`);
  if (i.kind === "activation") return i.index;
  if (i.kind === "constant") {
    if (i.scales.length !== 1) fail(`constant input ${slot} is per-axis quantized`);
    const dtype = i.tensor.dataType === DataType.INT8 ? "int8" : i.tensor.dataType === DataType.UINT8 ? "uint8" : "";
    if (!dtype) fail(`constant input ${slot} is not int8 or uint8`);
    return b.constant(`${node.name}:operand${slot}`, dtype, [...i.tensor.dims], i.tensor.data as Int8Array, {
      scale: i.scales,
      zeroPoint: i.zeroPoints,
      axis: -1,
    });
  }
  const largest = Math.max(...i.values.map(Math.abs));
  const scale = largest > 0 ? largest / 127 : 1;
  const data = Int8Array.from(i.values, (v) => roundHalfAway(v / scale));
  return b.constant(`${node.name}:operand${slot}`, "int8", [...i.dims], data, {
    scale: [scale],
    zeroPoint: [0],
    axis: -1,
  });
}

function broadcastShape(a: number[], b: number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1, db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) fail(`shapes [${a}] and [${b}] do not broadcast`);
    out.push(Math.max(da, db));
  }
  return out;
}

const addOrMul: Lowering = (ctx) => {
  const { b, node } = ctx;
  const ia = operand(ctx, 0), ib = operand(ctx, 1);
  const ta = b.tensors[ia]!, tb = b.tensors[ib]!;
  const out = ctx.output(broadcastShape(ta.shape, tb.shape), { fusable: true });
  const sy = b.tensors[out.index]!.scale[0]!;
  const base = { name: node.name, inputs: [ia, ib], outputs: [out.index], actMin: out.actMin, actMax: out.actMax };
  if (node.opType === "Add") {
    let pairM;
    try {
      pairM = quantizeMultiplierPair(ta.scale[0]! / sy, tb.scale[0]! / sy);
    } catch (e) {
      fail((e as Error).message);
    }
    b.ops.push({ kind: "Add", ...base, ...pairM });
  } else {
    const r = requantizers([(ta.scale[0]! * tb.scale[0]!) / sy]);
    b.ops.push({ kind: "Mul", ...base, multiplier: r.multiplier[0]!, shift: r.shift[0]! });
  }
};

function poolGeometry(node: Node, h: number, w: number, withDilation: boolean) {
  const kernel = pair(attrInts(node, "kernel_shape", []), [0, 0]);
  if (kernel[0] < 1 || kernel[1] < 1) fail("kernel_shape must be 2-D");
  const strides = pair(attrInts(node, "strides", []), [1, 1]);
  const dilations = withDilation ? pair(attrInts(node, "dilations", []), [1, 1]) : [1, 1] as [number, number];
  const pads = convPads(node, [h, w], kernel, strides, dilations);
  const ceil = attrInt(node, "ceil_mode", 0) === 1;
  const oh = windowOutput(h, pads[0], pads[2], kernel[0], strides[0], dilations[0], ceil);
  const ow = windowOutput(w, pads[1], pads[3], kernel[1], strides[1], dilations[1], ceil);
  return { kernel, strides, dilations, pads, oh, ow };
}

const maxPool: Lowering = (ctx) => {
  const { b, node } = ctx;
  if (node.outputs.length > 1 && node.outputs[1]) fail("the Indices output is not supported");
  if (attrInt(node, "storage_order", 0) !== 0) fail("storage_order = 1 is not supported");
  const x = b.activationInput(node, 0);
  const [n, c, h, w] = nchw(x.tensor, node);
  const g = poolGeometry(node, h, w, true);
  const out = ctx.output([n, c, g.oh, g.ow], { sameQuantAs: x.index });
  b.ops.push({
    kind: "MaxPool",
    name: node.name,
    inputs: [x.index],
    outputs: [out.index],
    kernel: g.kernel,
    strides: g.strides,
    dilations: g.dilations,
    pads: g.pads,
  });
};

const averagePool: Lowering = (ctx) => {
  const { b, node } = ctx;
  const x = b.activationInput(node, 0);
  const [n, c, h, w] = nchw(x.tensor, node);
  const g = poolGeometry(node, h, w, false);
  const out = ctx.output([n, c, g.oh, g.ow]);
  const y = b.tensors[out.index]!;
  const ratio = x.tensor.scale[0]! / y.scale[0]!;
  const counts = Array.from({ length: g.kernel[0] * g.kernel[1] }, (_, i) => ratio / (i + 1));
  b.ops.push({
    kind: "AveragePool",
    name: node.name,
    inputs: [x.index],
    outputs: [out.index],
    kernel: g.kernel,
    strides: g.strides,
    pads: g.pads,
    countIncludePad: attrInt(node, "count_include_pad", 0) === 1,
    ...requantizers(counts),
  });
};

const globalAveragePool: Lowering = (ctx) => {
  const { b, node } = ctx;
  const x = b.activationInput(node, 0);
  const [n, c, h, w] = nchw(x.tensor, node);
  if (h * w * 255 > 2 ** 31 - 1) fail(`its ${h}×${w} sum may overflow int32`);
  const out = ctx.output([n, c, 1, 1]);
  const r = requantizers([x.tensor.scale[0]! / (b.tensors[out.index]!.scale[0]! * h * w)]);
  b.ops.push({
    kind: "GlobalAveragePool",
    name: node.name,
    inputs: [x.index],
    outputs: [out.index],
    multiplier: r.multiplier[0]!,
    shift: r.shift[0]!,
  });
};

function axesOf(ctx: LoweringContext, rank: number): number[] | undefined {
  const fromInput = ctx.b.floatConstant(ctx.node, 1);
  const axes = fromInput ?? (ctx.node.attributes.has("axes") ? attrInts(ctx.node, "axes", []) : undefined);
  return axes?.map((a) => (a < 0 ? a + rank : a));
}

function reshapedShape(ctx: LoweringContext, shape: number[]): number[] {
  const { node } = ctx;
  const total = elementCount(shape);
  switch (node.opType) {
    case "Flatten": {
      const raw = attrInt(node, "axis", 1);
      const axis = raw < 0 ? raw + shape.length : raw;
      return [elementCount(shape.slice(0, axis)), elementCount(shape.slice(axis))];
    }
    case "Squeeze": {
      const axes = axesOf(ctx, shape.length);
      return shape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
    }
    case "Unsqueeze": {
      const axes = axesOf(
        ctx,
        shape.length + (ctx.b.floatConstant(node, 1)?.length ?? attrInts(node, "axes", []).length),
      );
      if (!axes) fail("no axes");
      const out = [...shape];
      for (const a of [...axes].sort((p, q) => p - q)) out.splice(a, 0, 1);
      return out;
    }
    case "Reshape": {
      const target = ctx.b.floatConstant(node, 1);
      if (!target) fail("its shape is not a constant");
      const allowZero = attrInt(node, "allowzero", 0) === 1;
      const out = target.map((d, i) => (d === 0 && !allowZero ? shape[i]! : d));
      const known = out.filter((d) => d !== -1).reduce((p, q) => p * q, 1);
      return out.map((d) => (d === -1 ? total / known : d));
    }
    default:
      return shape;
  }
}

const reshape: Lowering = (ctx) => {
  const { b, node } = ctx;
  const x = b.activationInput(node, 0);
  const shape = reshapedShape(ctx, x.tensor.shape);
  if (elementCount(shape) !== elementCount(x.tensor.shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    fail(`cannot reshape [${x.tensor.shape}] to [${shape}]`);
  }
  const out = ctx.output(shape, { sameQuantAs: x.index });
  b.ops.push({ kind: "Reshape", name: node.name, inputs: [x.index], outputs: [out.index] });
};

const transpose: Lowering = (ctx) => {
  const { b, node } = ctx;
  const x = b.activationInput(node, 0);
  const rank = x.tensor.shape.length;
  const perm = attrInts(node, "perm", Array.from({ length: rank }, (_, i) => rank - 1 - i));
  if ([...perm].sort().join() !== Array.from({ length: rank }, (_, i) => i).join()) fail(`perm [${perm}] is invalid`);
  const out = ctx.output(perm.map((p) => x.tensor.shape[p]!), { sameQuantAs: x.index });
  b.ops.push({ kind: "Transpose", name: node.name, inputs: [x.index], outputs: [out.index], perm });
};

const concat: Lowering = (ctx) => {
  const { b, node } = ctx;
  const parts = node.inputs.map((_, slot) => operand(ctx, slot));
  const first = b.tensors[parts[0]!]!;
  const rank = first.shape.length;
  const raw = attrInt(node, "axis", 0);
  const axis = raw < 0 ? raw + rank : raw;
  const shape = [...first.shape];
  shape[axis] = parts.reduce((sum, p) => sum + b.tensors[p]!.shape[axis]!, 0);
  for (const p of parts) {
    const s = b.tensors[p]!.shape;
    if (s.length !== rank || s.some((d, i) => i !== axis && d !== first.shape[i])) fail("input shapes differ");
  }
  const out = ctx.output(shape);
  const y = b.tensors[out.index]!;
  const inputs = parts.map((p, k) => {
    const t = b.tensors[p]!;
    if (t.dtype === y.dtype && t.scale[0] === y.scale[0] && t.zeroPoint[0] === y.zeroPoint[0]) return p;
    const temp = b.temporary(`${node.name}:input${k}`, y, t.shape);
    b.lut(`${node.name}:requantize${k}`, p, temp);
    return temp;
  });
  b.ops.push({ kind: "Concat", name: node.name, inputs, outputs: [out.index], axis });
};

const pad: Lowering = (ctx) => {
  const { b, node } = ctx;
  const mode = node.attributes.get("mode");
  if (mode?.type === "string" && mode.value !== "constant") fail(`mode "${mode.value}" is not supported`);
  const x = b.activationInput(node, 0);
  const rank = x.tensor.shape.length;
  const pads = b.floatConstant(node, 1) ?? attrInts(node, "pads", []);
  if (pads.length !== 2 * rank || pads.some((p) => p < 0)) {
    fail(`pads [${pads}] are not ${2 * rank} non-negative values`);
  }
  const value = b.floatConstant(node, 2)?.[0] ?? attrFloat(node, "value", 0);
  const shape = x.tensor.shape.map((d, i) => d + pads[i]! + pads[i + rank]!);
  const out = ctx.output(shape, { sameQuantAs: x.index });
  const range = DTYPES[x.tensor.dtype];
  const q = Math.min(
    range.max,
    Math.max(range.min, x.tensor.zeroPoint[0]! + roundHalfAway(value / x.tensor.scale[0]!)),
  );
  b.ops.push({ kind: "Pad", name: node.name, inputs: [x.index], outputs: [out.index], pads, value: q });
};

/** Source index of output coordinate `i` (ONNX Resize, nearest). */
function nearestIndex(node: Node, i: number, inSize: number, outSize: number, scale: number): number {
  const attr = (name: string, fallback: string) => {
    const a = node.attributes.get(name);
    return a?.type === "string" ? a.value : fallback;
  };
  const transform = attr("coordinate_transformation_mode", "half_pixel");
  let x: number;
  switch (transform) {
    case "half_pixel":
      x = (i + 0.5) / scale - 0.5;
      break;
    case "pytorch_half_pixel":
      x = outSize > 1 ? (i + 0.5) / scale - 0.5 : 0;
      break;
    case "align_corners":
      x = outSize === 1 ? 0 : (i * (inSize - 1)) / (outSize - 1);
      break;
    case "asymmetric":
      x = i / scale;
      break;
    case "tf_half_pixel_for_nn":
      x = (i + 0.5) / scale;
      break;
    default:
      fail(`coordinate_transformation_mode "${transform}" is not supported`);
  }
  const mode = attr("nearest_mode", "round_prefer_floor");
  const f = Math.floor(x);
  const r = mode === "floor"
    ? f
    : mode === "ceil"
    ? Math.ceil(x)
    : x - f === 0.5
    ? (mode === "round_prefer_ceil" ? f + 1 : f)
    : Math.round(x);
  return Math.min(inSize - 1, Math.max(0, r));
}

const resize: Lowering = (ctx) => {
  const { b, node } = ctx;
  const mode = node.attributes.get("mode");
  if (mode?.type === "string" && mode.value !== "nearest") fail(`mode "${mode.value}" is not supported (nearest only)`);
  const x = b.activationInput(node, 0);
  const shape = x.tensor.shape;
  const rank = shape.length;
  const scales = node.inputs.length > 2 ? b.floatConstant(node, 2) : b.floatConstant(node, 1);
  const sizes = b.floatConstant(node, 3);
  const outShape = sizes && sizes.length === rank ? sizes : shape.map((d, i) => Math.floor(d * (scales?.[i] ?? 1)));
  const scaleOf = (i: number) => sizes && sizes.length === rank ? outShape[i]! / shape[i]! : scales?.[i] ?? 1;
  for (let i = 0; i < rank - 2; i++) if (outShape[i] !== shape[i]) fail("only the last two axes may be resized");
  const [h, w] = [shape[rank - 2]!, shape[rank - 1]!], [oh, ow] = [outShape[rank - 2]!, outShape[rank - 1]!];
  const yIndex = Array.from({ length: oh }, (_, i) => nearestIndex(node, i, h, oh, scaleOf(rank - 2)));
  const xIndex = Array.from({ length: ow }, (_, i) => nearestIndex(node, i, w, ow, scaleOf(rank - 1)));
  const out = ctx.output(outShape, { sameQuantAs: x.index });
  b.ops.push({ kind: "Resize", name: node.name, inputs: [x.index], outputs: [out.index], yIndex, xIndex });
};

const softmax: Lowering = (ctx) => {
  const { b, node } = ctx;
  const x = b.activationInput(node, 0);
  const shape = x.tensor.shape, rank = shape.length;
  if (rank < 1) fail("its input is a scalar");
  // Opset 13 made -1 the default; before it, axis 1 (with the input flattened to 2-D there).
  const raw = attrInt(node, "axis", b.opset >= 13 ? -1 : 1);
  const axis = raw < 0 ? raw + rank : raw;
  if (axis !== rank - 1) fail(`axis ${raw} of a ${rank}-D input is not the last axis (only the last is supported)`);
  const out = ctx.output([...shape]);
  let parameters;
  try {
    parameters = softmaxParameters(x.tensor.scale[0]!, b.tensors[out.index]!.scale[0]!, shape[rank - 1]!);
  } catch (e) {
    fail((e as Error).message);
  }
  b.ops.push({ kind: "Softmax", name: node.name, inputs: [x.index], outputs: [out.index], ...parameters });
};

function elementwise(f: (node: Node, ctx: LoweringContext) => ElementFunction): Lowering {
  return (ctx) => {
    const { b, node } = ctx;
    const x = b.activationInput(node, 0);
    const out = ctx.output([...x.tensor.shape]);
    b.lut(node.name, x.index, out.index, f(node, ctx));
  };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** ONNX op type → lowering. */
export const LOWERINGS: Readonly<Record<string, Lowering>> = {
  Conv: conv,
  Gemm: fullyConnected,
  MatMul: fullyConnected,
  Add: addOrMul,
  Mul: addOrMul,
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
  Flatten: reshape,
  Reshape: reshape,
  Squeeze: reshape,
  Unsqueeze: reshape,
  Identity: reshape,
  Transpose: transpose,
  Concat: concat,
  Pad: pad,
  Resize: resize,
  Softmax: softmax,
  Relu: elementwise(() => (x) => Math.max(0, x)),
  Clip: elementwise((node, ctx) => {
    const lo = ctx.b.floatConstant(node, 1)?.[0] ?? attrFloat(node, "min", -Infinity);
    const hi = ctx.b.floatConstant(node, 2)?.[0] ?? attrFloat(node, "max", Infinity);
    return (x) => Math.min(hi, Math.max(lo, x));
  }),
  LeakyRelu: elementwise((node) => {
    const alpha = attrFloat(node, "alpha", 0.01);
    return (x) => (x < 0 ? alpha * x : x);
  }),
  Sigmoid: elementwise(() => sigmoid),
  Tanh: elementwise(() => Math.tanh),
  HardSigmoid: elementwise((node) => {
    const alpha = attrFloat(node, "alpha", 0.2), beta = attrFloat(node, "beta", 0.5);
    return (x) => Math.max(0, Math.min(1, alpha * x + beta));
  }),
  HardSwish: elementwise(() => (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5))),
};
