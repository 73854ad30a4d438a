/**
 * Bias correction (Nagel et al., "Data-Free Quantization Through Weight Equalization and Bias
 * Correction", ICCV 2019, §4.2), with the input means measured on the calibration data instead
 * of derived from BatchNorm: quantizing a layer's weights W to W̃ shifts the mean of its output
 * channel c by `Σ (W̃ − W)[c, ·] · E[x]`, and the layers after it read that shift as signal.
 * Subtracting it from the float bias (then quantizing the bias again) removes it.
 *
 * Each layer's correction covers its own weight error only, measured with the float model's
 * inputs, so corrections of successive layers do not add up. (Comparing whole-model float and
 * quantized output means per layer and correcting all layers at once — the shortcut of an
 * "empirical" correction without re-measuring after each layer — counts every upstream shift
 * again in every later layer: on the MobileNetV2-like fixture it lowered int8 top-1 from 90.09 %
 * to 89.92 % with KL and from 90.25 % to 89.25 % with MSE.) Zero padding is ignored: border
 * outputs of a padded conv see fewer inputs than the mean assumes.
 *
 * Pure logic: the pipeline runs the float model and feeds the inputs' channel means here.
 *
 * @module
 */

import type { HostTensor } from "../exec/executor.ts";
import { attrFloat, attrInt, type Graph } from "../onnx/ir.ts";
import { DataType, makeTensor, toFloat32 } from "../onnx/tensor.ts";
import type { QuantPlan } from "./plan.ts";

/** One layer whose bias gets corrected. */
export interface BiasCorrectionTarget {
  /** The Conv / Gemm node. */
  node: string;
  /** Its float bias initializer. */
  bias: string;
  /** Its float weight initializer. */
  weight: string;
  /** The activation input it reads (a tensor of the float graph). */
  input: string;
  /** Channels of that input (axis 1). */
  inputChannels: number;
  /** How the weight maps input channels to output channels. */
  layout:
    | { kind: "conv"; group: number }
    | { kind: "gemm"; transB: boolean; alpha: number; beta: number };
}

/**
 * The quantized Conv / Gemm layers with a float bias of one value per output channel.
 *
 * @example
 * ```ts ignore
 * const targets = biasCorrectionTargets(prepared.graph, plan);
 * ```
 */
export function biasCorrectionTargets(graph: Graph, plan: QuantPlan): BiasCorrectionTarget[] {
  const targets: BiasCorrectionTarget[] = [];
  for (const node of graph.nodes) {
    const marks = plan.marks.get(node.name);
    const b = marks?.bias;
    if (!b) continue;
    const bias = graph.initializers.get(node.inputs[b.slot] ?? "");
    const weight = graph.initializers.get(node.inputs[b.weightSlot] ?? "");
    const input = node.inputs[b.activationSlot];
    if (!bias || !weight || !input || bias.dataType !== DataType.FLOAT || weight.dataType !== DataType.FLOAT) continue;
    let layout: BiasCorrectionTarget["layout"];
    let inputChannels: number;
    if (node.opType === "Conv" && weight.dims.length >= 3) {
      const group = attrInt(node, "group", 1);
      layout = { kind: "conv", group };
      inputChannels = weight.dims[1]! * group;
      if (bias.data.length !== weight.dims[0]) continue;
    } else if (node.opType === "Gemm" && weight.dims.length === 2 && attrInt(node, "transA", 0) === 0) {
      const transB = attrInt(node, "transB", 0) === 1;
      layout = { kind: "gemm", transB, alpha: attrFloat(node, "alpha", 1), beta: attrFloat(node, "beta", 1) };
      inputChannels = transB ? weight.dims[1]! : weight.dims[0]!;
      if (bias.data.length !== (transB ? weight.dims[0] : weight.dims[1]) || layout.beta === 0) continue;
    } else continue;
    targets.push({ node: node.name, bias: bias.name, weight: weight.name, input, inputChannels, layout });
  }
  return targets;
}

/**
 * Running per-channel mean of tensors laid out [N, C, ...] (channel axis 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChannelMeans } from "./bias_correction.ts";
 * const means = new ChannelMeans(2);
 * means.add({ data: new Float32Array([1, 3, 10, 20]), dims: [1, 2, 2] }); // channel 0: 1, 3; channel 1: 10, 20
 * means.add({ data: new Float32Array([2, 30]), dims: [1, 2] });
 * assert.deepEqual([...means.means()], [2, 20]);
 * ```
 */
export class ChannelMeans {
  readonly #sums: Float64Array;
  readonly #counts: Float64Array;

  /** An accumulator for `channels` channels. */
  constructor(readonly channels: number) {
    this.#sums = new Float64Array(channels);
    this.#counts = new Float64Array(channels);
  }

  /** Adds one batch; throws when its channel dimension differs. */
  add(tensor: HostTensor): void {
    const [batch = 1, channels = 1] = tensor.dims;
    if (channels !== this.channels) {
      throw new Error(`Cannot average channels: tensor has ${channels} channels on axis 1, expected ${this.channels}`);
    }
    const inner = tensor.data.length / (batch * channels);
    const data = tensor.data;
    for (let n = 0; n < batch; n++) {
      for (let c = 0; c < channels; c++) {
        const base = (n * channels + c) * inner;
        let sum = 0;
        for (let i = 0; i < inner; i++) sum += data[base + i]!;
        this.#sums[c]! += sum;
        this.#counts[c]! += inner;
      }
    }
  }

  /** Mean per channel (0 where nothing was added). */
  means(): Float64Array {
    return this.#sums.map((s, c) => this.#counts[c]! > 0 ? s / this.#counts[c]! : 0);
  }
}

/**
 * The output-mean shift per output channel that quantizing the weights causes:
 * `Σ (quantized − float)[c, ·] · inputMeans` (times alpha for Gemm).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { weightErrorShift } from "./bias_correction.ts";
 * // 1x1 conv, 2 outputs × 2 inputs; the quantized weights differ by +0.1 at [0, 1] and −0.2 at [1, 0]
 * const float = new Float32Array([1, 1, 1, 1]);
 * const quantized = new Float32Array([1, 1.1, 0.8, 1]);
 * const shift = weightErrorShift({ kind: "conv", group: 1 }, [2, 2, 1, 1], float, quantized, new Float64Array([3, 5]));
 * assert.deepEqual([...shift].map((x) => Math.round(x * 1e6) / 1e6), [0.5, -0.6]);
 * ```
 */
export function weightErrorShift(
  layout: BiasCorrectionTarget["layout"],
  dims: readonly number[],
  float: Float32Array,
  quantized: Float32Array,
  inputMeans: Float64Array,
): Float64Array {
  if (layout.kind === "conv") {
    const out = dims[0]!, perGroupIn = dims[1]!;
    const kernel = float.length / (out * perGroupIn);
    const outPerGroup = out / layout.group;
    const shift = new Float64Array(out);
    for (let c = 0; c < out; c++) {
      const firstInput = Math.floor(c / outPerGroup) * perGroupIn;
      let s = 0;
      for (let i = 0; i < perGroupIn; i++) {
        const base = (c * perGroupIn + i) * kernel;
        let dw = 0;
        for (let k = 0; k < kernel; k++) dw += quantized[base + k]! - float[base + k]!;
        s += dw * inputMeans[firstInput + i]!;
      }
      shift[c] = s;
    }
    return shift;
  }
  const [rows, cols] = dims as [number, number];
  const outputs = layout.transB ? rows : cols, inputs = layout.transB ? cols : rows;
  const shift = new Float64Array(outputs);
  for (let n = 0; n < outputs; n++) {
    let s = 0;
    for (let k = 0; k < inputs; k++) {
      const at = layout.transB ? n * cols + k : k * cols + n;
      s += (quantized[at]! - float[at]!) * inputMeans[k]!;
    }
    shift[n] = layout.alpha * s;
  }
  return shift;
}

/**
 * Subtracts each target's output shift from its float bias in `graph` (a float graph, before
 * the QDQ rewrite). Returns the largest |shift| per layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Graph } from "../onnx/ir.ts";
 * import { DataType, makeTensor } from "../onnx/tensor.ts";
 * import { applyBiasCorrection } from "./bias_correction.ts";
 * const g = new Graph("g", [], new Map([["b", makeTensor("b", DataType.FLOAT, [2], new Float32Array([1, 1]))]]),
 *   [], [], new Map());
 * const target = { node: "conv", bias: "b", weight: "w", input: "x", inputChannels: 2, layout: { kind: "conv", group: 1 } } as const;
 * applyBiasCorrection(g, [target], new Map([["conv", new Float64Array([0.5, -0.25])]]));
 * assert.deepEqual([...(g.initializers.get("b")!.data as Float32Array)], [0.5, 1.25]);
 * ```
 */
export function applyBiasCorrection(
  graph: Graph,
  targets: readonly BiasCorrectionTarget[],
  shifts: ReadonlyMap<string, Float64Array>,
): Map<string, number> {
  const largest = new Map<string, number>();
  for (const t of targets) {
    const shift = shifts.get(t.node);
    const tensor = graph.initializers.get(t.bias);
    if (!shift || !tensor) continue;
    const bias = Float32Array.from(toFloat32(tensor));
    if (shift.length !== bias.length) {
      throw new Error(`Cannot correct bias "${t.bias}": ${shift.length} channel shifts for a bias of ${bias.length}`);
    }
    const beta = t.layout.kind === "gemm" ? t.layout.beta : 1;
    let top = 0;
    for (let c = 0; c < bias.length; c++) {
      bias[c]! -= shift[c]! / beta;
      top = Math.max(top, Math.abs(shift[c]!));
    }
    graph.initializers.set(t.bias, makeTensor(t.bias, DataType.FLOAT, [...tensor.dims], bias));
    largest.set(t.node, top);
  }
  return largest;
}
