/**
 * Pass: move a model from opset 9–12 to opset 13, the first opset whose
 * DequantizeLinear takes per-channel (axis) parameters. Only the operators
 * whose signature changed between those opsets are rewritten; one that cannot
 * be rewritten safely is an error naming it.
 *
 * @module
 */

import { attrFloat, attrInt, attrInts, type Graph, type Model, type Node } from "../onnx/ir.ts";
import { opsetVersion } from "../onnx/model.ts";
import { addFloatScalar, addInt64s } from "./_graph_edit.ts";

/** Opset the quantizer writes: per-axis QuantizeLinear/DequantizeLinear exist from 13 on. */
export const QDQ_OPSET = 13;

// Operators changed between opset 9 and 13 in ways this pass does not rewrite, with the opset that changed them.
const UNSUPPORTED: Record<string, number> = { Upsample: 10, Scatter: 11, Resize: 11 };

function dropAttrs(node: Node, ...names: string[]): void {
  for (const n of names) node.attributes.delete(n);
}

function upgradeClip(graph: Graph, node: Node, from: number): void {
  if (from >= 11) return;
  const hasMin = node.attributes.has("min"), hasMax = node.attributes.has("max");
  const min = hasMin ? addFloatScalar(graph, `${node.name}.min`, attrFloat(node, "min", 0)) : "";
  const max = hasMax ? addFloatScalar(graph, `${node.name}.max`, attrFloat(node, "max", 0)) : "";
  node.inputs = [node.inputs[0]!, min, max];
  while (node.inputs.length > 1 && node.inputs[node.inputs.length - 1] === "") node.inputs.pop();
  dropAttrs(node, "min", "max");
}

function upgradeSlice(graph: Graph, node: Node, from: number): void {
  if (from >= 10) return;
  const starts = attrInts(node, "starts", []), ends = attrInts(node, "ends", []);
  const inputs = [
    node.inputs[0]!,
    addInt64s(graph, `${node.name}.starts`, starts),
    addInt64s(graph, `${node.name}.ends`, ends),
  ];
  if (node.attributes.has("axes")) inputs.push(addInt64s(graph, `${node.name}.axes`, attrInts(node, "axes", [])));
  node.inputs = inputs;
  dropAttrs(node, "starts", "ends", "axes");
}

function axesToInput(graph: Graph, node: Node): void {
  if (!node.attributes.has("axes")) return;
  node.inputs = [node.inputs[0]!, addInt64s(graph, `${node.name}.axes`, attrInts(node, "axes", []))];
  dropAttrs(node, "axes");
}

/**
 * Softmax-like ops before 13 flatten to 2-D at `axis`; from 13 they work on one
 * axis. Flatten → Softmax(last) → Reshape(original shape) is exact for any rank.
 */
function upgradeSoftmax(graph: Graph, node: Node): Node[] {
  const axis = attrInt(node, "axis", 1);
  const x = node.inputs[0]!;
  const rank = graph.shapeOf(x)?.length;
  if (axis === -1 || (rank !== undefined && (axis === rank - 1 || axis === -1))) {
    node.attributes.set("axis", { type: "int", value: -1 });
    return [node];
  }
  const y = node.outputs[0]!;
  const shape = graph.uniqueName(`${x}_shape`);
  const flat = graph.uniqueName(`${x}_flat2d`);
  const soft = graph.uniqueName(`${y}_flat2d`);
  const before: Node[] = [
    {
      name: graph.uniqueName(`${node.name}_shape`),
      opType: "Shape",
      domain: "",
      inputs: [x],
      outputs: [shape],
      attributes: new Map(),
    },
    {
      name: graph.uniqueName(`${node.name}_flatten`),
      opType: "Flatten",
      domain: "",
      inputs: [x],
      outputs: [flat],
      attributes: new Map([["axis", { type: "int", value: axis }]]),
    },
  ];
  node.inputs = [flat];
  node.outputs = [soft];
  node.attributes.set("axis", { type: "int", value: -1 });
  const after: Node = {
    name: graph.uniqueName(`${node.name}_reshape`),
    opType: "Reshape",
    domain: "",
    inputs: [soft, shape],
    outputs: [y],
    attributes: new Map(),
  };
  return [...before, node, after];
}

/**
 * Rewrites the model in place to opset 13 when it is older; returns the opset
 * it had. Models already at 13 or newer are untouched.
 *
 * @example
 * ```ts ignore
 * import { upgradeToQdqOpset } from "./upgrade_opset.ts";
 * upgradeToQdqOpset(paddleCls); // 9; the model now imports opset 13
 * ```
 */
export function upgradeToQdqOpset(model: Model): number {
  const from = opsetVersion(model);
  if (from >= QDQ_OPSET) return from;
  if (from < 9) throw new Error(`Model opset ${from} is older than 9, the oldest this tool reads`);
  const graph = model.graph;
  const blockers = graph.nodes.filter((n) => n.domain === "" && from < (UNSUPPORTED[n.opType] ?? 0));
  if (blockers.length > 0) {
    const names = blockers.map((n) => `${n.name} (${n.opType})`).join(", ");
    throw new Error(`Cannot move opset ${from} model to opset ${QDQ_OPSET} for per-channel QDQ: ${names}`);
  }
  const nodes: Node[] = [];
  for (const node of graph.nodes) {
    if (node.domain !== "") {
      nodes.push(node);
      continue;
    }
    switch (node.opType) {
      case "Clip":
        upgradeClip(graph, node, from);
        break;
      case "Slice":
        upgradeSlice(graph, node, from);
        break;
      case "Squeeze":
      case "Unsqueeze":
      case "ReduceSum":
        axesToInput(graph, node);
        break;
      case "Split":
        if (node.attributes.has("split")) {
          node.inputs = [node.inputs[0]!, addInt64s(graph, `${node.name}.split`, attrInts(node, "split", []))];
          dropAttrs(node, "split");
        }
        break;
      case "Pad":
        if (from < 11) {
          const pads = addInt64s(graph, `${node.name}.pads`, attrInts(node, "pads", []));
          node.inputs = [
            node.inputs[0]!,
            pads,
            addFloatScalar(graph, `${node.name}.value`, attrFloat(node, "value", 0)),
          ];
          dropAttrs(node, "pads", "value");
        }
        break;
      case "TopK":
        if (from < 10) {
          node.inputs = [node.inputs[0]!, addInt64s(graph, `${node.name}.k`, [attrInt(node, "k", 1)])];
          dropAttrs(node, "k");
        }
        break;
      case "Softmax":
      case "LogSoftmax":
      case "Hardmax":
        nodes.push(...upgradeSoftmax(graph, node));
        continue;
      case "BatchNormalization":
        dropAttrs(node, "spatial", "momentum");
        break;
    }
    nodes.push(node);
  }
  graph.nodes = nodes;
  model.opsetImports = model.opsetImports.map((o) =>
    o.domain === "" || o.domain === "ai.onnx" ? { domain: o.domain, version: QDQ_OPSET } : o
  );
  model.irVersion = Math.max(model.irVersion, 7);
  return from;
}
