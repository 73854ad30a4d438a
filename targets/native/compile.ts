/**
 * The native compiler: a QDQ ONNX model (what core/pipeline.ts writes, or any QDQ model with per-tensor
 * activations) → a native program (core/sim/program.ts) → with targets/native/writer.ts, a `.qm` file.
 *
 * It works on the QDQ graph alone, by pattern: every compute node reads DequantizeLinear outputs and
 * its float output goes to a QuantizeLinear, directly or through one Relu/Clip (fused into the op's
 * output range). Constant arithmetic (the bias-scale Mul) is folded; weights keep their int8 values and
 * scales; every real multiplier becomes a fixed-point multiplier and shift. Activations stay NCHW.
 * Unsupported ops, and nodes left in float, are one error listing them all.
 *
 * @module
 */

import type { Model, Node } from "../../core/onnx/ir.ts";
import { DTYPES, FORMAT_VERSION, type Program, type ProgramTensor } from "../../core/sim/program.ts";
import { LoweringError, type OutputTarget, ProgramBuilder } from "./builder.ts";
import { roundHalfAway } from "../../core/sim/fixed_point.ts";
import { type LoweringContext, LOWERINGS } from "./lower.ts";
import { planMemory } from "./memory_plan.ts";
import { analyseQdq, foldConstant, type QdqGraph } from "./qdq_graph.ts";
import { targetSpec } from "./targets.ts";

/** Options of {@link compileQdqModel}. */
export interface CompileOptions {
  /** "host-native", "cortex-m", … (targets/native/targets.ts). */
  target: string;
  /** Batch size fixed for a dynamic first input dimension (default 1). */
  batch?: number;
  /** Written into the artifact's metadata. */
  producer?: string;
}

/** One node the target cannot run. */
export interface UnsupportedNode {
  name: string;
  opType: string;
  reason: string;
}

/** Thrown when nodes cannot be compiled; `nodes` lists every one. */
export class UnsupportedOpsError extends Error {
  override name = "UnsupportedOpsError";
  constructor(readonly target: string, readonly nodes: UnsupportedNode[]) {
    const ops = [...new Set(nodes.map((n) => n.opType))].sort();
    super(
      `The ${target} target cannot run ${nodes.length} node(s) of this model (ops: ${ops.join(", ")}):\n` +
        nodes.map((n) => `  ${n.opType} "${n.name}": ${n.reason}`).join("\n"),
    );
  }
}

function outputTarget(qdq: QdqGraph, node: Node): OutputTarget | string {
  const y = node.outputs[0];
  if (!y) return "has no output";
  if (qdq.graph.outputs.some((o) => o.name === y)) return `its output "${y}" is a float graph output`;
  const users = qdq.consumers.get(y) ?? [];
  if (users.length !== 1) return `its float output "${y}" is read by ${users.length} nodes, not one QuantizeLinear`;
  const user = users[0]!;
  if (user.opType === "QuantizeLinear") return { activation: qdq.quantized.get(user.outputs[0]!)! };
  if ((user.opType === "Relu" || user.opType === "Clip") && user.outputs[0]) {
    const after = qdq.consumers.get(user.outputs[0]) ?? [];
    if (after.length === 1 && after[0]!.opType === "QuantizeLinear") {
      let bounds: [number, number] = [0, Infinity];
      if (user.opType === "Clip") {
        const lo = user.inputs[1] ? qdq.constants.get(user.inputs[1])?.values[0] : -Infinity;
        const hi = user.inputs[2] ? qdq.constants.get(user.inputs[2])?.values[0] : Infinity;
        const attrLo = user.attributes.get("min"), attrHi = user.attributes.get("max");
        bounds = [
          attrLo?.type === "float" ? attrLo.value : lo ?? NaN,
          attrHi?.type === "float" ? attrHi.value : hi ?? NaN,
        ];
        if (bounds.some(Number.isNaN)) return `the Clip after it has computed bounds`;
      }
      return { activation: qdq.quantized.get(after[0]!.outputs[0]!)!, bounds, fusedNode: user };
    }
  }
  return `its float output "${y}" is not quantized (read by ${user.opType} "${user.name}")`;
}

/** The float-model name of a quantized activation: the DequantizeLinear output reading it. */
function displayName(qdq: QdqGraph, q: string): string {
  const dq = (qdq.consumers.get(q) ?? []).find((n) => n.opType === "DequantizeLinear");
  return dq?.outputs[0] ?? q;
}

function sameQuant(a: ProgramTensor, b: ProgramTensor): boolean {
  return a.dtype === b.dtype && a.scale[0] === b.scale[0] && a.zeroPoint[0] === b.zeroPoint[0];
}

/**
 * Compiles a QDQ model to a native program (memory planned, ready for the writer and the interpreter).
 *
 * @example
 * ```ts ignore
 * import { compileQdqModel } from "./compile.ts";
 * const program = compileQdqModel(result.quantized, { target: "host-native" });
 * ```
 */
export function compileQdqModel(model: Model, options: CompileOptions): Program {
  const spec = targetSpec(options.target);
  const graph = model.graph;
  const qdq = analyseQdq(graph);
  const opset = model.opsetImports.find((o) => o.domain === "" || o.domain === "ai.onnx")?.version ?? 13;
  const b = new ProgramBuilder(qdq, options.batch ?? 1, opset);
  const unsupported: UnsupportedNode[] = [];
  const inputs: number[] = [];
  for (const input of graph.realInputs()) {
    const q = (qdq.consumers.get(input.name) ?? []).find((n) => n.opType === "QuantizeLinear");
    if (!q) {
      unsupported.push({ name: input.name, opType: "Input", reason: "the graph input is not quantized" });
      continue;
    }
    const shape = (input.shape ?? []).map((d, i) => {
      if (typeof d === "number") return d;
      if (i === 0) return b.batch;
      throw new Error(`Input "${input.name}" has dynamic dimension ${i} (${d}); fix it (--input-shape)`);
    });
    if (!input.shape) throw new Error(`Input "${input.name}" has no known shape`);
    inputs.push(b.defineActivation(qdq.quantized.get(q.outputs[0]!)!, input.name, shape));
  }
  const fusedNodes = new Set<Node>();
  for (const node of graph.nodes) {
    if (qdq.consumed.has(node) || fusedNodes.has(node)) continue;
    // Static shapes: Shape of a known tensor, and the shape arithmetic after it, fold to constants.
    if (node.opType === "Shape" && node.domain === "") {
      const input = b.input(node, 0);
      const shape = input?.kind === "activation"
        ? input.tensor.shape
        : input?.kind === "constant"
        ? input.tensor.dims
        : input?.dims;
      if (shape) {
        qdq.constants.set(node.outputs[0]!, { dims: [shape.length], values: [...shape] });
        continue;
      }
    }
    const folded = foldConstant(node, qdq.constants);
    if (folded) {
      qdq.constants.set(node.outputs[0]!, folded);
      continue;
    }
    const lowering = node.domain === "" || node.domain === "ai.onnx" ? LOWERINGS[node.opType] : undefined;
    if (!lowering || !spec.ops.has(node.opType)) {
      unsupported.push({ name: node.name, opType: node.opType, reason: `no ${options.target} kernel` });
      continue;
    }
    const target = outputTarget(qdq, node);
    if (typeof target === "string") {
      unsupported.push({ name: node.name, opType: node.opType, reason: `runs in float: ${target}` });
      continue;
    }
    if (target.fusedNode) fusedNodes.add(target.fusedNode);
    let finish: (() => void) | undefined;
    const ctx: LoweringContext = {
      b,
      node,
      output(shape, opts = {}) {
        const final = b.defineActivation(target.activation, displayName(qdq, target.activation.q), shape);
        const out = b.tensors[final]!;
        const range = DTYPES[out.dtype];
        let actMin = range.min, actMax = range.max;
        const bounds = target.bounds;
        const clip = bounds ? (x: number) => Math.min(bounds[1], Math.max(bounds[0], x)) : undefined;
        const like = opts.sameQuantAs === undefined ? undefined : b.tensors[opts.sameQuantAs]!;
        if (like && (!sameQuant(like, out) || clip)) {
          const temp = b.temporary(`${out.name}:pre`, like, shape);
          finish = () => b.lut(`${node.name}:requantize`, temp, final, clip);
          return { index: temp, actMin: DTYPES[like.dtype].min, actMax: DTYPES[like.dtype].max };
        }
        if (bounds && opts.fusable) {
          const s = out.scale[0]!, z = out.zeroPoint[0]!;
          if (bounds[0] > -Infinity) actMin = Math.max(actMin, z + roundHalfAway(bounds[0] / s));
          if (bounds[1] < Infinity) actMax = Math.min(actMax, z + roundHalfAway(bounds[1] / s));
        } else if (clip) {
          const temp = b.temporary(`${out.name}:pre`, out, shape);
          finish = () => b.lut(`${node.name}:activation`, temp, final, clip);
          return { index: temp, actMin, actMax };
        }
        return { index: final, actMin, actMax };
      },
    };
    try {
      lowering(ctx);
      finish?.();
    } catch (e) {
      if (!(e instanceof LoweringError)) throw e;
      unsupported.push({ name: node.name, opType: node.opType, reason: e.message });
    }
  }
  const outputs: number[] = [];
  for (const o of graph.outputs) {
    const dq = qdq.dequantized.get(o.name);
    const index = dq?.kind === "activation" ? b.activationIndex(dq.activation) : undefined;
    if (index === undefined) {
      unsupported.push({ name: o.name, opType: "Output", reason: "the graph output is not a quantized tensor" });
    } else outputs.push(index);
  }
  if (unsupported.length > 0) throw new UnsupportedOpsError(options.target, unsupported);
  const program: Program = {
    version: FORMAT_VERSION,
    producer: options.producer ?? "int8-toolchain",
    target: options.target,
    tensors: b.tensors,
    ops: b.ops,
    inputs,
    outputs,
    arenaSize: 0,
  };
  planMemory(program);
  return program;
}
