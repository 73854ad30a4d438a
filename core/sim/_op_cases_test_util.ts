/**
 * Single-op programs on odd shapes (1×1 kernels, stride 2, padding, dilation, groups, depthwise,
 * channel counts that are not multiples of 4, broadcasting, uint8 with zero points), each with
 * seeded random inputs and the float reference of its output quantized with round half away from
 * zero. core/sim/ops/ops_test.ts checks the interpreter against the references;
 * tests/native_kernels_test.ts checks the C kernels against the interpreter, byte for byte.
 *
 * @module
 */

import { mulberry32 } from "../calib/_test_rng.ts";
import { clamp, quantizeMultiplier, quantizeMultiplierPair, roundHalfAway } from "./fixed_point.ts";
import { softmaxParameters } from "./ops/softmax.ts";
import {
  type DTypeName,
  DTYPES,
  elementCount,
  type Program,
  type ProgramOp,
  type ProgramTensor,
  type TensorArray,
  tensorBytes,
} from "./program.ts";

/** One single-op test program. */
export interface OpCase {
  name: string;
  program: Program;
  /** Input data, one array per program input. */
  inputs: TensorArray[];
  /** The float reference quantized to the output's integers. */
  expected: number[];
  /** Elements whose float reference is within 1e-6 of a rounding tie (either neighbour is right). */
  nearTie: boolean[];
  /** Output steps the integer result may differ from the float reference by (approximating kernels). */
  tolerance?: number;
}

type Rng = () => number;

interface Act {
  dtype: DTypeName;
  scale: number;
  zeroPoint: number;
}

const INT8: Act = { dtype: "int8", scale: 0.05, zeroPoint: 0 };

function activation(name: string, shape: number[], a: Act): ProgramTensor {
  return { name, dtype: a.dtype, shape, scale: [a.scale], zeroPoint: [a.zeroPoint], axis: -1 };
}

function randomData(rng: Rng, shape: number[], a: Act): TensorArray {
  const { min, max } = DTYPES[a.dtype];
  const n = elementCount(shape);
  const out = a.dtype === "uint8" ? new Uint8Array(n) : new Int8Array(n);
  for (let i = 0; i < n; i++) out[i] = min + Math.floor(rng() * (max - min + 1));
  return out;
}

function dequantize(data: TensorArray, a: Act): number[] {
  return Array.from(data as ArrayLike<number>, (q) => (q - a.zeroPoint) * a.scale);
}

function quantize(values: readonly number[], a: Act, lo = DTYPES[a.dtype].min, hi = DTYPES[a.dtype].max): number[] {
  return values.map((v) => clamp(a.zeroPoint + roundHalfAway(v / a.scale), lo, hi));
}

/** Output quantization fitted to the float reference (about 1 % of values saturate). */
/** Marks values that lie within 1e-6 of a half-integer in output units. */
function nearTies(values: readonly number[], a: Act): boolean[] {
  return values.map((v) => {
    const u = Math.abs(v / a.scale);
    return Math.abs(u - Math.floor(u) - 0.5) < 1e-6;
  });
}

function fitOutput(values: readonly number[], dtype: DTypeName): Act {
  const sorted = values.map(Math.abs).sort((a, b) => a - b);
  const top = sorted[Math.floor(sorted.length * 0.99)] ?? 1;
  if (dtype === "uint8") {
    const lo = Math.min(0, ...values), hi = Math.max(...values);
    const scale = Math.max(hi - lo, 1e-3) / 255;
    return { dtype, scale, zeroPoint: clamp(roundHalfAway(-lo / scale), 0, 255) };
  }
  return { dtype, scale: Math.max(top, 1e-3) / 127, zeroPoint: 0 };
}

/** Lays activations out one after another (16-byte aligned): enough for single-op programs. */
function program(tensors: ProgramTensor[], op: ProgramOp, inputs: number[]): Program {
  let offset = 0;
  for (const t of tensors) {
    if (t.data) continue;
    t.arenaOffset = offset;
    offset += Math.ceil(tensorBytes(t) / 16) * 16;
  }
  return {
    version: 1,
    producer: "op-cases",
    target: "host-native",
    tensors,
    ops: [op],
    inputs,
    outputs: op.outputs,
    arenaSize: offset,
  };
}

interface ConvSpec {
  n?: number;
  c: number;
  h: number;
  w: number;
  oc: number;
  k: [number, number];
  stride?: [number, number];
  pads?: [number, number, number, number];
  dilation?: [number, number];
  group?: number;
  input?: Act;
  outDtype?: DTypeName;
  relu6?: boolean;
  weightZeroPoints?: boolean;
  /** Output height and width other than the windows' count (windows past the input read padding). */
  outSize?: [number, number];
}

function convCase(name: string, rng: Rng, s: ConvSpec): OpCase {
  const n = s.n ?? 1, group = s.group ?? 1, [kh, kw] = s.k;
  const [sh, sw] = s.stride ?? [1, 1], [dh, dw] = s.dilation ?? [1, 1];
  const [pt, pl, pb, pr] = s.pads ?? [0, 0, 0, 0];
  const input = s.input ?? INT8, cg = s.c / group, ocg = s.oc / group;
  const oh = s.outSize?.[0] ?? Math.floor((s.h + pt + pb - (dh * (kh - 1) + 1)) / sh) + 1;
  const ow = s.outSize?.[1] ?? Math.floor((s.w + pl + pr - (dw * (kw - 1) + 1)) / sw) + 1;
  const x = randomData(rng, [n, s.c, s.h, s.w], input);
  const wdata = Int8Array.from({ length: s.oc * cg * kh * kw }, () => Math.floor(rng() * 255) - 127);
  const wscale = Array.from({ length: s.oc }, () => 0.004 + rng() * 0.02);
  const wzp = Array.from({ length: s.oc }, () => (s.weightZeroPoints ? Math.floor(rng() * 21) - 10 : 0));
  const bias = Int32Array.from({ length: s.oc }, () => Math.floor(rng() * 4001) - 2000);
  const xf = dequantize(x, input);
  const yf: number[] = [];
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < s.oc; o++) {
      const g = Math.floor(o / ocg);
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          let acc = bias[o]! * input.scale * wscale[o]!;
          for (let ci = 0; ci < cg; ci++) {
            for (let ky = 0; ky < kh; ky++) {
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * sh - pt + ky * dh, ix = ox * sw - pl + kx * dw;
                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                const xv = xf[((b * s.c + g * cg + ci) * s.h + iy) * s.w + ix]!;
                const wv = (wdata[((o * cg + ci) * kh + ky) * kw + kx]! - wzp[o]!) * wscale[o]!;
                acc += xv * wv;
              }
            }
          }
          yf.push(s.relu6 ? Math.min(6, Math.max(0, acc)) : acc);
        }
      }
    }
  }
  const out = fitOutput(yf, s.outDtype ?? "int8");
  const range = DTYPES[out.dtype];
  const actMin = s.relu6 ? Math.max(range.min, out.zeroPoint) : range.min;
  const actMax = s.relu6 ? Math.min(range.max, out.zeroPoint + roundHalfAway(6 / out.scale)) : range.max;
  const fixed = wscale.map((ws) => quantizeMultiplier((input.scale * ws) / out.scale));
  const tensors: ProgramTensor[] = [
    activation("x", [n, s.c, s.h, s.w], input),
    { name: "w", dtype: "int8", shape: [s.oc, cg, kh, kw], scale: wscale, zeroPoint: wzp, axis: 0, data: wdata },
    { name: "b", dtype: "int32", shape: [s.oc], scale: [1], zeroPoint: [0], axis: -1, data: bias },
    activation("y", [n, s.oc, oh, ow], out),
  ];
  const op: ProgramOp = {
    kind: "Conv",
    name,
    inputs: [0, 1, 2],
    outputs: [3],
    kernel: [kh, kw],
    strides: [sh, sw],
    dilations: [dh, dw],
    pads: [pt, pl, pb, pr],
    group,
    multiplier: fixed.map((f) => f.multiplier),
    shift: fixed.map((f) => f.shift),
    actMin,
    actMax,
  };
  return {
    name,
    program: program(tensors, op, [0]),
    inputs: [x],
    expected: quantize(yf, out, actMin, actMax),
    nearTie: nearTies(yf, out),
  };
}

function fullyConnectedCase(name: string, rng: Rng, m: number, k: number, n: number): OpCase {
  const x = randomData(rng, [m, k], INT8);
  const wdata = Int8Array.from({ length: n * k }, () => Math.floor(rng() * 255) - 127);
  const wscale = Array.from({ length: n }, () => 0.004 + rng() * 0.02);
  const bias = Int32Array.from({ length: n }, () => Math.floor(rng() * 4001) - 2000);
  const xf = dequantize(x, INT8);
  const yf: number[] = [];
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < n; c++) {
      let acc = bias[c]! * INT8.scale * wscale[c]!;
      for (let i = 0; i < k; i++) acc += xf[r * k + i]! * wdata[c * k + i]! * wscale[c]!;
      yf.push(acc);
    }
  }
  const out = fitOutput(yf, "int8");
  const fixed = wscale.map((ws) => quantizeMultiplier((INT8.scale * ws) / out.scale));
  const tensors: ProgramTensor[] = [
    activation("x", [m, k], INT8),
    { name: "w", dtype: "int8", shape: [n, k], scale: wscale, zeroPoint: [0], axis: 0, data: wdata },
    { name: "b", dtype: "int32", shape: [n], scale: [1], zeroPoint: [0], axis: -1, data: bias },
    activation("y", [m, n], out),
  ];
  const op: ProgramOp = {
    kind: "FullyConnected",
    name,
    inputs: [0, 1, 2],
    outputs: [3],
    multiplier: fixed.map((f) => f.multiplier),
    shift: fixed.map((f) => f.shift),
    actMin: -128,
    actMax: 127,
  };
  return {
    name,
    program: program(tensors, op, [0]),
    inputs: [x],
    expected: quantize(yf, out),
    nearTie: nearTies(yf, out),
  };
}

function broadcastValues(
  a: number[],
  aShape: number[],
  b: number[],
  bShape: number[],
  outShape: number[],
  f: (x: number, y: number) => number,
): number[] {
  const rank = outShape.length;
  const index = (shape: number[], o: number) => {
    let flat = 0, rest = o, stride = 1;
    const pos: number[] = [];
    for (let i = rank - 1; i >= 0; i--) {
      pos[i] = rest % outShape[i]!;
      rest = Math.floor(rest / outShape[i]!);
    }
    for (let i = shape.length - 1; i >= 0; i--) {
      const p = shape[i] === 1 ? 0 : pos[i + rank - shape.length]!;
      flat += p * stride;
      stride *= shape[i]!;
    }
    return flat;
  };
  return Array.from({ length: elementCount(outShape) }, (_, o) => f(a[index(aShape, o)]!, b[index(bShape, o)]!));
}

function binaryCase(
  name: string,
  rng: Rng,
  kind: "Add" | "Mul",
  aShape: number[],
  bShape: number[],
  outShape: number[],
  qa: Act,
  qb: Act,
): OpCase {
  const a = randomData(rng, aShape, qa), b = randomData(rng, bShape, qb);
  const yf = broadcastValues(
    dequantize(a, qa),
    aShape,
    dequantize(b, qb),
    bShape,
    outShape,
    kind === "Add" ? (x, y) => x + y : (x, y) => x * y,
  );
  const out = fitOutput(yf, "int8");
  const tensors = [activation("a", aShape, qa), activation("b", bShape, qb), activation("y", outShape, out)];
  const base = { name, inputs: [0, 1], outputs: [2], actMin: -128, actMax: 127 };
  let op: ProgramOp;
  if (kind === "Add") op = { kind, ...base, ...quantizeMultiplierPair(qa.scale / out.scale, qb.scale / out.scale) };
  else op = { kind, ...base, ...quantizeMultiplier((qa.scale * qb.scale) / out.scale) };
  return {
    name,
    program: program(tensors, op, [0, 1]),
    inputs: [a, b],
    expected: quantize(yf, out),
    nearTie: nearTies(yf, out),
  };
}

function poolCase(
  name: string,
  rng: Rng,
  kind: "MaxPool" | "AveragePool",
  shape: [number, number, number, number],
  k: [number, number],
  stride: [number, number],
  pads: [number, number, number, number],
  countIncludePad = false,
): OpCase {
  const [n, c, h, w] = shape;
  const input: Act = { dtype: "uint8", scale: 0.03, zeroPoint: 100 };
  const x = randomData(rng, shape, input);
  const xf = dequantize(x, input);
  const oh = Math.floor((h + pads[0] + pads[2] - k[0]) / stride[0]) + 1;
  const ow = Math.floor((w + pads[1] + pads[3] - k[1]) / stride[1]) + 1;
  const yf: number[] = [];
  for (let p = 0; p < n * c; p++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let best = -Infinity, sum = 0, count = 0;
        for (let ky = 0; ky < k[0]; ky++) {
          for (let kx = 0; kx < k[1]; kx++) {
            const iy = oy * stride[0] - pads[0] + ky, ix = ox * stride[1] - pads[1] + kx;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const v = xf[(p * h + iy) * w + ix]!;
            best = Math.max(best, v);
            sum += v;
            count++;
          }
        }
        yf.push(kind === "MaxPool" ? best : sum / (countIncludePad ? k[0] * k[1] : count));
      }
    }
  }
  const out = kind === "MaxPool" ? input : { dtype: "uint8" as const, scale: 0.02, zeroPoint: 120 };
  const tensors = [activation("x", shape, input), activation("y", [n, c, oh, ow], out)];
  const base = { name, inputs: [0], outputs: [1], kernel: k, strides: stride, pads };
  const op: ProgramOp = kind === "MaxPool" ? { kind, ...base, dilations: [1, 1] } : (() => {
    const fixed = Array.from(
      { length: k[0] * k[1] },
      (_, i) => quantizeMultiplier(input.scale / (out.scale * (i + 1))),
    );
    return {
      kind,
      ...base,
      countIncludePad,
      multiplier: fixed.map((f) => f.multiplier),
      shift: fixed.map((f) => f.shift),
    };
  })();
  return {
    name,
    program: program(tensors, op, [0]),
    inputs: [x],
    expected: quantize(yf, out),
    nearTie: nearTies(yf, out),
  };
}

function globalAveragePoolCase(name: string, rng: Rng, shape: [number, number, number, number]): OpCase {
  const [n, c, h, w] = shape;
  const x = randomData(rng, shape, INT8);
  const xf = dequantize(x, INT8);
  const yf = Array.from(
    { length: n * c },
    (_, p) => xf.slice(p * h * w, (p + 1) * h * w).reduce((a, b) => a + b) / (h * w),
  );
  const out: Act = { dtype: "int8", scale: 0.004, zeroPoint: 3 };
  const fixed = quantizeMultiplier(INT8.scale / (out.scale * h * w));
  const tensors = [activation("x", shape, INT8), activation("y", [n, c, 1, 1], out)];
  const op: ProgramOp = { kind: "GlobalAveragePool", name, inputs: [0], outputs: [1], ...fixed };
  return {
    name,
    program: program(tensors, op, [0]),
    inputs: [x],
    expected: quantize(yf, out),
    nearTie: nearTies(yf, out),
  };
}

function lutCase(name: string, rng: Rng, shape: number[], f: (x: number) => number, input: Act, out: Act): OpCase {
  const x = randomData(rng, shape, input);
  const values = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    const v = f((i + DTYPES[input.dtype].min - input.zeroPoint) * input.scale);
    values[i] = quantize([v], out)[0]! & 0xff;
  }
  const yf = dequantize(x, input).map(f);
  const tensors = [activation("x", shape, input), activation("y", shape, out)];
  const op: ProgramOp = { kind: "Lut", name, inputs: [0], outputs: [1], values };
  return {
    name,
    program: program(tensors, op, [0]),
    inputs: [x],
    expected: quantize(yf, out),
    nearTie: nearTies(yf, out),
  };
}

function softmaxCase(name: string, rng: Rng, shape: number[], input: Act, out: Act): OpCase {
  const x = randomData(rng, shape, input);
  const xf = dequantize(x, input);
  const row = shape[shape.length - 1]!;
  const yf: number[] = [];
  for (let start = 0; start < xf.length; start += row) {
    const slice = xf.slice(start, start + row);
    const top = Math.max(...slice);
    const exps = slice.map((v) => Math.exp(v - top));
    const sum = exps.reduce((a, b) => a + b, 0);
    yf.push(...exps.map((e) => e / sum));
  }
  const tensors = [activation("x", shape, input), activation("y", shape, out)];
  const op: ProgramOp = {
    kind: "Softmax",
    name,
    inputs: [0],
    outputs: [1],
    ...softmaxParameters(input.scale, out.scale, row),
  };
  return {
    name,
    program: program(tensors, op, [0]),
    inputs: [x],
    expected: quantize(yf, out),
    nearTie: nearTies(yf, out),
    tolerance: 1,
  };
}

/**
 * A 1×1 conv whose channels hit the edges of requantization: int32 saturation of acc + bias, the largest and
 * smallest multipliers and shifts, outputs far beyond the clamp. Expected values come from the formula in
 * exact BigInt arithmetic.
 */
function requantizeEdgesCase(name: string, rng: Rng): OpCase {
  const pixels = 21, channels = 7;
  const x = Int8Array.from(
    { length: pixels },
    (_, i) => (i === 0 ? -128 : i === 1 ? 127 : Math.floor(rng() * 256) - 128),
  );
  const wdata = Int8Array.from([127, -128, 127, -128, 1, 0, 100]);
  const bias = Int32Array.from([2147483647 - 5000, -2147483648 + 5000, 2147483647, -2147483648, 0, 77, -12345]);
  const multiplier = [2147483647, 2147483647, 1, 1073741824, 2147483647, 0, 1518500250];
  const shift = [17, 62, 17, 62, 17, 31, 40];
  const out: Act = { dtype: "uint8", scale: 1, zeroPoint: 100 };
  const expected: number[] = [];
  for (let o = 0; o < channels; o++) {
    for (let p = 0; p < pixels; p++) {
      let acc = BigInt(x[p]!) * BigInt(wdata[o]!) + BigInt(bias[o]!);
      if (acc > 2147483647n) acc = 2147483647n;
      if (acc < -2147483648n) acc = -2147483648n;
      const product = acc * BigInt(multiplier[o]!), half = 1n << BigInt(shift[o]! - 1);
      const r = product >= 0n ? (product + half) >> BigInt(shift[o]!) : -((-product + half) >> BigInt(shift[o]!));
      expected.push(Number(r < -1000n ? -1000n : r > 1000n ? 1000n : r) + out.zeroPoint);
    }
  }
  const tensors: ProgramTensor[] = [
    activation("x", [1, 1, 3, 7], INT8),
    { name: "w", dtype: "int8", shape: [channels, 1, 1, 1], scale: [1], zeroPoint: [0], axis: 0, data: wdata },
    { name: "b", dtype: "int32", shape: [channels], scale: [1], zeroPoint: [0], axis: -1, data: bias },
    activation("y", [1, channels, 3, 7], out),
  ];
  const op: ProgramOp = {
    kind: "Conv",
    name,
    inputs: [0, 1, 2],
    outputs: [3],
    kernel: [1, 1],
    strides: [1, 1],
    dilations: [1, 1],
    pads: [0, 0, 0, 0],
    group: 1,
    multiplier,
    shift,
    actMin: 3,
    actMax: 250,
  };
  return {
    name,
    program: program(tensors, op, [0]),
    inputs: [x],
    expected: expected.map((v) => clamp(v, 3, 250)),
    nearTie: new Array<boolean>(expected.length).fill(false),
  };
}

function movementCase(
  name: string,
  rng: Rng,
  op: ProgramOp,
  shapes: number[][],
  outShape: number[],
  expect: (xs: number[][]) => number[],
): OpCase {
  const xs = shapes.map((s) => randomData(rng, s, INT8));
  const tensors = [...shapes.map((s, i) => activation(`x${i}`, s, INT8)), activation("y", outShape, INT8)];
  const inputs = shapes.map((_, i) => i);
  const full = { ...op, inputs, outputs: [shapes.length] } as ProgramOp;
  return {
    name,
    program: program(tensors, full, inputs),
    inputs: xs,
    expected: expect(xs.map((x) => Array.from(x as ArrayLike<number>))),
    nearTie: new Array<boolean>(elementCount(outShape)).fill(false),
  };
}

/**
 * Every single-op case, seeded.
 *
 * @example
 * ```ts
 * import { opCases } from "./_op_cases_test_util.ts";
 * opCases(1).length > 20; // true
 * ```
 */
export function opCases(seed: number): OpCase[] {
  const rng = mulberry32(seed);
  const u8: Act = { dtype: "uint8", scale: 0.04, zeroPoint: 37 };
  const m = (kind: string) => ({ kind, name: kind }) as unknown as ProgramOp;
  return [
    convCase("conv 1x1 c5→7", rng, { c: 5, h: 3, w: 4, oc: 7, k: [1, 1] }),
    convCase("conv 3x3 stride 2 pad 1 c3→6", rng, {
      c: 3,
      h: 9,
      w: 7,
      oc: 6,
      k: [3, 3],
      stride: [2, 2],
      pads: [1, 1, 1, 1],
    }),
    convCase("conv 1x1 input 1x1", rng, { c: 6, h: 1, w: 1, oc: 3, k: [1, 1] }),
    convCase("conv 3x2 asymmetric pads dilation 2", rng, {
      c: 2,
      h: 8,
      w: 9,
      oc: 5,
      k: [3, 2],
      pads: [2, 0, 1, 3],
      dilation: [2, 2],
    }),
    convCase("conv grouped 6→9 groups 3 stride (2,1)", rng, {
      c: 6,
      h: 5,
      w: 6,
      oc: 9,
      k: [3, 3],
      stride: [2, 1],
      group: 3,
      pads: [1, 1, 1, 1],
    }),
    convCase("conv depthwise 7 stride 2 relu6", rng, {
      c: 7,
      h: 6,
      w: 5,
      oc: 7,
      k: [3, 3],
      group: 7,
      stride: [2, 2],
      pads: [1, 1, 1, 1],
      relu6: true,
    }),
    convCase("conv uint8 in/out, asymmetric weights, batch 2", rng, {
      n: 2,
      c: 3,
      h: 5,
      w: 5,
      oc: 4,
      k: [3, 3],
      pads: [1, 1, 1, 1],
      input: u8,
      outDtype: "uint8",
      weightZeroPoints: true,
    }),
    convCase("conv 5x5 kernel larger than stride-3 input", rng, {
      c: 1,
      h: 4,
      w: 4,
      oc: 3,
      k: [5, 5],
      stride: [3, 3],
      pads: [2, 2, 2, 2],
    }),
    convCase("conv 9x8 kernel (more than 64 taps) pad 3 stride 2", rng, {
      c: 2,
      h: 10,
      w: 11,
      oc: 9,
      k: [9, 8],
      stride: [2, 2],
      pads: [3, 3, 3, 3],
    }),
    convCase("conv depthwise multiplier 2 (3→6, group 3) pointwise-sized 1x1", rng, {
      c: 3,
      h: 5,
      w: 7,
      oc: 6,
      k: [1, 1],
      group: 3,
    }),
    convCase("conv 1x1 pointwise on a 9x9 plane, 11 output channels", rng, { c: 4, h: 9, w: 9, oc: 11, k: [1, 1] }),
    convCase("conv depthwise 3x3 uint8 row wider than a tile (70)", rng, {
      c: 3,
      h: 3,
      w: 70,
      oc: 3,
      k: [3, 3],
      group: 3,
      pads: [1, 1, 1, 1],
      input: u8,
    }),
    fullyConnectedCase("fc 1x13→10", rng, 1, 13, 10),
    fullyConnectedCase("fc 3x7→5", rng, 3, 7, 5),
    binaryCase("add same shape", rng, "Add", [1, 5, 3, 3], [1, 5, 3, 3], [1, 5, 3, 3], INT8, {
      dtype: "int8",
      scale: 0.11,
      zeroPoint: 0,
    }),
    binaryCase("add broadcast channel", rng, "Add", [2, 3, 4, 5], [3, 1, 1], [2, 3, 4, 5], INT8, u8),
    binaryCase("add broadcast both", rng, "Add", [3, 1], [1, 4], [3, 4], u8, INT8),
    binaryCase("mul broadcast scalar", rng, "Mul", [1, 3, 2, 5], [1], [1, 3, 2, 5], INT8, u8),
    binaryCase("mul same shape", rng, "Mul", [7], [7], [7], INT8, INT8),
    poolCase("maxpool 2x2 stride 2", rng, "MaxPool", [1, 3, 5, 7], [2, 2], [2, 2], [0, 0, 0, 0]),
    poolCase("maxpool 3x3 stride 2 pad 1", rng, "MaxPool", [1, 2, 7, 6], [3, 3], [2, 2], [1, 1, 1, 1]),
    poolCase("avgpool 3x3 pad 1 exclude pad", rng, "AveragePool", [1, 3, 5, 5], [3, 3], [1, 1], [1, 1, 1, 1]),
    poolCase("avgpool 2x3 stride 2 include pad", rng, "AveragePool", [2, 2, 5, 6], [2, 3], [2, 2], [0, 1, 1, 1], true),
    globalAveragePoolCase("global average pool 7x5", rng, [1, 3, 7, 5]),
    globalAveragePoolCase("global average pool 1x1", rng, [2, 4, 1, 1]),
    lutCase("lut sigmoid int8", rng, [2, 3, 5], (x) => 1 / (1 + Math.exp(-x)), INT8, {
      dtype: "uint8",
      scale: 1 / 255,
      zeroPoint: 0,
    }),
    lutCase("lut hardswish uint8→int8", rng, [11], (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5)), u8, INT8),
    lutCase("lut tanh", rng, [1, 9], Math.tanh, INT8, { dtype: "int8", scale: 1 / 127, zeroPoint: 0 }),
    movementCase("reshape", rng, m("Reshape"), [[2, 3, 5]], [5, 6], (xs) => xs[0]!),
    movementCase("concat axis 1", rng, { ...m("Concat"), axis: 1 } as ProgramOp, [[2, 3, 2], [2, 1, 2], [2, 2, 2]], [
      2,
      6,
      2,
    ], (xs) => {
      const out: number[] = [];
      for (let o = 0; o < 2; o++) {
        for (const [x, rows] of [[xs[0]!, 3], [xs[1]!, 1], [xs[2]!, 2]] as const) {
          out.push(...x.slice(o * rows * 2, (o + 1) * rows * 2));
        }
      }
      return out;
    }),
    movementCase("transpose NCHW→NHWC", rng, { ...m("Transpose"), perm: [0, 2, 3, 1] } as ProgramOp, [[1, 3, 2, 5]], [
      1,
      2,
      5,
      3,
    ], (xs) => {
      const out: number[] = [];
      for (let y = 0; y < 2; y++) {
        for (let x = 0; x < 5; x++) for (let c = 0; c < 3; c++) out.push(xs[0]![(c * 2 + y) * 5 + x]!);
      }
      return out;
    }),
    movementCase(
      "pad",
      rng,
      { ...m("Pad"), pads: [0, 1, 2, 0, 0, 1], value: -7 } as ProgramOp,
      [[1, 2, 3]],
      [1, 3, 6],
      (xs) => {
        const out = new Array<number>(18).fill(-7);
        for (let c = 0; c < 2; c++) for (let i = 0; i < 3; i++) out[(c + 1) * 6 + i + 2] = xs[0]![c * 3 + i]!;
        return out;
      },
    ),
    movementCase(
      "resize nearest 2x3 → 5x4",
      rng,
      { ...m("Resize"), yIndex: [0, 0, 1, 1, 1], xIndex: [0, 1, 1, 2] } as ProgramOp,
      [[1, 2, 2, 3]],
      [1, 2, 5, 4],
      (xs) => {
        const out: number[] = [];
        for (let p = 0; p < 2; p++) {
          for (const yi of [0, 0, 1, 1, 1]) {
            for (const xi of [0, 1, 1, 2]) out.push(xs[0]![(p * 2 + yi) * 3 + xi]!);
          }
        }
        return out;
      },
    ),
    softmaxCase("softmax 1x10 int8 → uint8 1/256", rng, [1, 10], { dtype: "int8", scale: 0.08, zeroPoint: 0 }, {
      dtype: "uint8",
      scale: 1 / 256,
      zeroPoint: 0,
    }),
    softmaxCase("softmax 2x3x7 uint8 → int8 1/256 zp −128", rng, [2, 3, 7], {
      dtype: "uint8",
      scale: 0.05,
      zeroPoint: 131,
    }, {
      dtype: "int8",
      scale: 1 / 256,
      zeroPoint: -128,
    }),
    softmaxCase("softmax rows of 1", rng, [5, 1], INT8, { dtype: "uint8", scale: 1 / 256, zeroPoint: 0 }),
    softmaxCase(
      "softmax 3x1000 (long rows, coarse table)",
      rng,
      [3, 1000],
      { dtype: "int8", scale: 0.1, zeroPoint: 3 },
      {
        dtype: "uint8",
        scale: 1 / 255,
        zeroPoint: 0,
      },
    ),
    softmaxCase("softmax 4x13 near-uniform, fine output scale", rng, [4, 13], {
      dtype: "int8",
      scale: 0.004,
      zeroPoint: 0,
    }, {
      dtype: "uint8",
      scale: 0.125 / 255,
      zeroPoint: 0,
    }),
    // Shapes for the packed-GEMM conv of the SIMD runtimes (runtime/src/ops/conv.c): several reduction
    // chunks, more output channels than one tile keeps, tiles spanning many output rows, and a window too
    // large for the panel's bookkeeping (the portable kernel takes it).
    convCase("conv 3x3 uint8 70→5 asymmetric weights (two reduction chunks)", rng, {
      c: 70,
      h: 4,
      w: 5,
      oc: 5,
      k: [3, 3],
      pads: [1, 1, 1, 1],
      input: u8,
      weightZeroPoints: true,
    }),
    convCase("conv 3x3 60→130 (two chunks × two channel blocks)", rng, {
      c: 60,
      h: 4,
      w: 5,
      oc: 130,
      k: [3, 3],
      pads: [1, 1, 1, 1],
    }),
    convCase("conv 1x1 5→133 pointwise", rng, { c: 5, h: 3, w: 3, oc: 133, k: [1, 1] }),
    convCase("conv 3x3 stride (1,2) on a 9x3 plane (tiles over many rows)", rng, {
      c: 3,
      h: 9,
      w: 3,
      oc: 6,
      k: [3, 3],
      stride: [1, 2],
      pads: [1, 1, 1, 1],
    }),
    convCase("conv 7x7 on an 8x1 column", rng, { c: 2, h: 8, w: 1, oc: 3, k: [7, 7], pads: [3, 3, 3, 3] }),
    convCase("conv depthwise 3x3 dilation 2 stride (2,3) uint8 asymmetric weights", rng, {
      c: 5,
      h: 9,
      w: 11,
      oc: 5,
      k: [3, 3],
      group: 5,
      stride: [2, 3],
      dilation: [2, 2],
      pads: [2, 1, 1, 2],
      input: u8,
      weightZeroPoints: true,
    }),
    requantizeEdgesCase("conv 1x1 requantization edges (saturating bias, extreme multipliers)", rng),
    // Inputs larger than the SIMD conv's buffer of padded planes (it builds the panel from the input then).
    convCase("conv 3x3 pad 1 on a 95x90 plane", rng, { c: 3, h: 95, w: 90, oc: 4, k: [3, 3], pads: [1, 1, 1, 1] }),
    convCase("conv 3x3 stride 2 uint8 on a 101x93 plane", rng, {
      c: 3,
      h: 101,
      w: 93,
      oc: 5,
      k: [3, 3],
      stride: [2, 2],
      pads: [1, 0, 1, 1],
      input: u8,
    }),
    binaryCase("add same shape uint8 + int8 (43 elements)", rng, "Add", [43], [43], [43], u8, INT8),
    convCase("conv depthwise 3x3 on a 3x3 plane, 20 channels, uint8 asymmetric weights", rng, {
      c: 20,
      h: 3,
      w: 3,
      oc: 20,
      k: [3, 3],
      group: 20,
      pads: [1, 1, 1, 1],
      input: u8,
      weightZeroPoints: true,
    }),
    // What the fuzzer found (runtime/fuzz/regressions/crash-f2c2…): more outputs than windows inside the input.
    convCase("conv 3x3 stride 3 with a 4x5 output (windows past the padded input)", rng, {
      c: 3,
      h: 5,
      w: 5,
      oc: 4,
      k: [3, 3],
      stride: [3, 3],
      pads: [1, 1, 1, 1],
      outSize: [4, 5],
    }),
    convCase("conv depthwise 3x3 stride 2 with a 5x6 output (windows past the padded input)", rng, {
      c: 3,
      h: 6,
      w: 7,
      oc: 3,
      k: [3, 3],
      group: 3,
      stride: [2, 2],
      outSize: [5, 6],
    }),
  ];
}
