/**
 * Pass: fold an inference BatchNormalization into the Conv or Gemm before it,
 * so its scale lands in the weights before they are quantized per channel.
 *
 * @module
 */

import { attrFloat, attrInt, type Graph, type Node } from "../onnx/ir.ts";
import { DataType, makeTensor, type Tensor, toFloat32 } from "../onnx/tensor.ts";
import { addInitializer, isGraphOutput, pruneInitializers, renameTensor, useCount } from "./_graph_edit.ts";

function floatInit(graph: Graph, name: string | undefined): Float32Array | undefined {
  if (!name) return undefined;
  const t = graph.initializers.get(name);
  return t && (t.dataType === DataType.FLOAT || t.dataType === DataType.DOUBLE) ? toFloat32(t) : undefined;
}

/** Per-channel multiplier and shift of `y = a·x + b` that the BN computes. */
function bnAffine(graph: Graph, bn: Node): { a: Float64Array; b: Float64Array } | undefined {
  const [, scaleName, biasName, meanName, varName] = bn.inputs;
  const scale = floatInit(graph, scaleName), bias = floatInit(graph, biasName);
  const mean = floatInit(graph, meanName), variance = floatInit(graph, varName);
  if (!scale || !bias || !mean || !variance) return undefined;
  const eps = attrFloat(bn, "epsilon", 1e-5);
  const c = scale.length;
  if (bias.length !== c || mean.length !== c || variance.length !== c) return undefined;
  const a = new Float64Array(c), b = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    a[i] = scale[i]! / Math.sqrt(variance[i]! + eps);
    b[i] = bias[i]! - mean[i]! * a[i]!;
  }
  return { a, b };
}

/** Writes a new float initializer for `node.inputs[slot]` (never edits a shared tensor in place). */
function replaceInput(graph: Graph, node: Node, slot: number, base: string, dims: number[], data: Float32Array): void {
  const name = addInitializer(graph, base, makeTensor(base, DataType.FLOAT, dims, data) as Omit<Tensor, "name">);
  while (node.inputs.length <= slot) node.inputs.push("");
  node.inputs[slot] = name;
}

function foldIntoConv(graph: Graph, conv: Node, a: Float64Array, b: Float64Array): boolean {
  const w = graph.initializers.get(conv.inputs[1] ?? "");
  if (!w || w.dataType !== DataType.FLOAT || w.dims[0] !== a.length) return false;
  const outC = a.length;
  const per = w.data.length / outC;
  const src = toFloat32(w);
  const newW = new Float32Array(src.length);
  for (let o = 0; o < outC; o++) for (let k = 0; k < per; k++) newW[o * per + k] = src[o * per + k]! * a[o]!;
  const oldB = floatInit(graph, conv.inputs[2]);
  if (conv.inputs[2] && !oldB) return false;
  const newB = new Float32Array(outC);
  for (let o = 0; o < outC; o++) newB[o] = (oldB ? oldB[o]! : 0) * a[o]! + b[o]!;
  replaceInput(graph, conv, 1, `${conv.name}.weight_bnfold`, [...w.dims], newW);
  replaceInput(graph, conv, 2, `${conv.name}.bias_bnfold`, [outC], newB);
  return true;
}

function foldIntoGemm(graph: Graph, gemm: Node, a: Float64Array, b: Float64Array): boolean {
  const w = graph.initializers.get(gemm.inputs[1] ?? "");
  if (!w || w.dataType !== DataType.FLOAT || w.dims.length !== 2) return false;
  const transB = attrInt(gemm, "transB", 0) === 1;
  const alpha = attrFloat(gemm, "alpha", 1), beta = attrFloat(gemm, "beta", 1);
  const [rows, cols] = w.dims as [number, number];
  const n = transB ? rows : cols;
  if (n !== a.length) return false;
  const src = toFloat32(w);
  const newW = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) newW[r * cols + c] = src[r * cols + c]! * a[transB ? r : c]!;
  }
  const cName = gemm.inputs[2];
  const oldC = floatInit(graph, cName);
  if (cName && (!oldC || (oldC.length !== 1 && oldC.length !== n))) return false;
  // New C absorbs beta so the Gemm keeps beta = 1: y = alpha·A·B' + C'.
  const newC = new Float32Array(n);
  for (let o = 0; o < n; o++) {
    const c = oldC ? oldC[oldC.length === 1 ? 0 : o]! * beta : 0;
    newC[o] = c * a[o]! + b[o]!;
  }
  replaceInput(graph, gemm, 1, `${gemm.name}.weight_bnfold`, [...w.dims], newW);
  replaceInput(graph, gemm, 2, `${gemm.name}.bias_bnfold`, [n], newC);
  gemm.attributes.set("beta", { type: "float", value: 1 });
  gemm.attributes.set("alpha", { type: "float", value: alpha });
  return true;
}

/**
 * Folds every BatchNormalization that directly follows a Conv or Gemm with
 * constant weights and whose input nothing else reads. Unfoldable ones (BN
 * after an Add, training-mode BN with extra outputs) stay. Returns how many
 * were folded.
 *
 * @example
 * ```ts ignore
 * import { foldBatchNorms } from "./fold_batchnorm.ts";
 * const folded = foldBatchNorms(model.graph); // e.g. 35 for PaddleOCR's classifier
 * ```
 */
export function foldBatchNorms(graph: Graph): number {
  let folded = 0;
  const producers = graph.producers();
  for (const bn of [...graph.nodes]) {
    if (bn.opType !== "BatchNormalization" || bn.domain !== "" || bn.outputs.filter((o) => o).length !== 1) continue;
    const x = bn.inputs[0]!;
    const y = bn.outputs[0]!;
    const prev = producers.get(x);
    if (!prev || (prev.opType !== "Conv" && prev.opType !== "Gemm") || prev.outputs.length !== 1) continue;
    if (useCount(graph, x) !== 1 || isGraphOutput(graph, x)) continue;
    const affine = bnAffine(graph, bn);
    if (!affine) continue;
    const ok = prev.opType === "Conv"
      ? foldIntoConv(graph, prev, affine.a, affine.b)
      : foldIntoGemm(graph, prev, affine.a, affine.b);
    if (!ok) continue;
    graph.nodes = graph.nodes.filter((n) => n !== bn);
    graph.valueInfo.delete(x);
    renameTensor(graph, x, y);
    producers.set(y, prev);
    folded++;
  }
  pruneInitializers(graph);
  return folded;
}
