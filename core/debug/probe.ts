/**
 * Per-layer comparison on a device: the QDQ model with every quantized
 * activation's *integer* tensor (the QuantizeLinear output) added as a graph
 * output, so a device runtime that fuses Q/DQ pairs into integer kernels
 * still hands back the int8 values it computed; and the way back from those
 * integers to the dequantized tensors a {@link DebugSession} compares with
 * the float model.
 *
 * @module
 */

import type { HostTensor } from "../exec/executor.ts";
import type { Model, ValueInfo } from "../onnx/ir.ts";
import { DataType } from "../onnx/tensor.ts";
import type { QdqAnalysis } from "./qdq_graph.ts";

/** One probed tensor: the integer output the device returns and the dequantized name it stands for. */
export interface ProbePoint {
  /** QuantizeLinear output added as a graph output. */
  integer: string;
  /** The DequantizeLinear output (the name the debug session uses). */
  dequantized: string;
  /** ONNX element type of the integer tensor (INT8, UINT8, INT16, UINT16). */
  elemType: number;
  scale: number;
  zeroPoint: number;
}

/** The probe model and what each extra output means. */
export interface ProbeModel {
  model: Model;
  /** Graph outputs of the original model, in order (they come first in the probe model). */
  outputs: string[];
  points: ProbePoint[];
}

/**
 * The QDQ model with the integer tensors of `dequantized` (a subset of the analysed activations,
 * by DequantizeLinear output name) added as graph outputs, after the model's own outputs.
 * Activations whose QuantizeLinear output is already a graph output are probed there.
 *
 * @example
 * ```ts ignore
 * const analysis = analyzeQdqModel(qdq, { float });
 * const probe = buildProbeModel(qdq, analysis, session.quantNames);
 * // run probe.model on the device, then:
 * const tensors = dequantizeProbes(probe, deviceOutputs);
 * ```
 */
export function buildProbeModel(qdq: Model, analysis: QdqAnalysis, dequantized: readonly string[]): ProbeModel {
  const wanted = new Set(dequantized);
  const byNode = new Map(qdq.graph.nodes.map((n) => [n.name, n]));
  const points: ProbePoint[] = [];
  for (const a of analysis.activations) {
    if (!wanted.has(a.dequantized)) continue;
    const q = byNode.get(a.quantizeNode);
    const integer = q?.outputs[0];
    if (!q || !integer) continue;
    const zp = q.inputs[2] ? qdq.graph.initializers.get(q.inputs[2]) : undefined;
    points.push({
      integer,
      dequantized: a.dequantized,
      elemType: zp?.dataType ?? DataType.UINT8,
      scale: a.params.scale,
      zeroPoint: a.params.zeroPoint,
    });
  }
  const outputs = qdq.graph.outputs.map((o) => o.name);
  const present = new Set(outputs);
  const extra: ValueInfo[] = points.filter((p) => !present.has(p.integer))
    .map((p) => ({ name: p.integer, elemType: p.elemType, shape: undefined }));
  const g = qdq.graph;
  const graph = Object.assign(Object.create(Object.getPrototypeOf(g)), g, { outputs: [...g.outputs, ...extra] });
  return { model: { ...qdq, graph }, outputs, points };
}

/**
 * Turns the device's integer tensors (by probe-model output name, values as floats) into the
 * dequantized tensors, by DequantizeLinear output name: `(q − zero point) · scale`.
 *
 * @example
 * ```ts
 * import { dequantizeProbes } from "./probe.ts";
 * const probe = { model: {} as never, outputs: [], points: [
 *   { integer: "x_q", dequantized: "x_dq", elemType: 3, scale: 0.5, zeroPoint: 1 },
 * ] };
 * const out = dequantizeProbes(probe, new Map([["x_q", { data: new Float32Array([1, 3, -1]), dims: [3] }]]));
 * [...out.get("x_dq")!.data]; // [0, 1, -1]
 * ```
 */
export function dequantizeProbes(
  probe: ProbeModel,
  integers: ReadonlyMap<string, HostTensor>,
): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const p of probe.points) {
    const t = integers.get(p.integer);
    if (!t) continue;
    const data = new Float32Array(t.data.length);
    for (let i = 0; i < data.length; i++) data[i] = (t.data[i]! - p.zeroPoint) * p.scale;
    out.set(p.dequantized, { data, dims: t.dims });
  }
  return out;
}
