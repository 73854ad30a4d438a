/**
 * The support checks the targets share: scheme features and bit widths, ONNX Runtime's CPU provider
 * (any op of the domains it implements), and the native runtime (its kernels, quantized nodes only).
 *
 * @module
 */

import { type NodeUse, type QuantFeatures, SCHEME_FEATURES, type SchemeFeature, type Unsupported } from "./target.ts";

/**
 * Each scheme feature `features` uses and `supported` lacks, and bits outside `bits`.
 *
 * @example
 * ```ts
 * import { checkSchemes } from "./_support.ts";
 * const lacks = checkSchemes(new Set(["activations-int8"]), { min: 2, max: 8 }, {
 *   nodes: [],
 *   schemes: new Map([["activations-int16", ["x"]]] as const),
 * });
 * lacks[0]?.what; // "int16 activations"
 * ```
 */
export function checkSchemes(
  supported: ReadonlySet<SchemeFeature>,
  bits: { readonly min: number; readonly max: number },
  features: QuantFeatures,
): Unsupported[] {
  const out: Unsupported[] = [];
  for (const [feature, where] of features.schemes) {
    if (!supported.has(feature)) {
      out.push({ kind: "scheme", what: SCHEME_FEATURES[feature], reason: "its runtime does not run them", where });
    }
  }
  if (features.bits !== undefined && (features.bits < bits.min || features.bits > bits.max)) {
    out.push({
      kind: "bits",
      what: `${features.bits}-bit quantization`,
      reason: `it takes ${bits.min} to ${bits.max} bits`,
      where: [],
    });
  }
  return out;
}

/** One {@link Unsupported} per (op, reason), listing its nodes, in first-seen order. */
function groupByOp(nodes: readonly { node: NodeUse; reason: string }[]): Unsupported[] {
  const byKey = new Map<string, Unsupported & { where: string[] }>();
  for (const { node, reason } of nodes) {
    const what = node.domain && node.domain !== "ai.onnx" ? `${node.domain}.${node.opType}` : node.opType;
    const key = `${what}\u0000${reason}`;
    let entry = byKey.get(key);
    if (!entry) byKey.set(key, entry = { kind: "op", what, reason, where: [] });
    entry.where.push(node.name);
  }
  return [...byKey.values()];
}

/** Domains ONNX Runtime's CPU execution provider implements. */
export const ORT_CPU_DOMAINS: ReadonlySet<string> = new Set(["", "ai.onnx", "ai.onnx.ml", "com.microsoft"]);

/**
 * ONNX Runtime CPU: every op of its domains runs (float or quantized); custom domains do not.
 *
 * @example
 * ```ts
 * import { checkOrtOps } from "./_support.ts";
 * const node = { name: "n", opType: "Foo", domain: "my.ops", quantized: false, producesFloat: true, constant: false };
 * checkOrtOps([node])[0]?.what; // "my.ops.Foo"
 * ```
 */
export function checkOrtOps(nodes: readonly NodeUse[]): Unsupported[] {
  return groupByOp(
    nodes.filter((n) => !ORT_CPU_DOMAINS.has(n.domain)).map((node) => ({
      node,
      reason: `domain "${node.domain}" has no ONNX Runtime CPU kernels`,
    })),
  );
}

/**
 * The native runtime: it runs quantized nodes of the ops it has kernels for. Constant nodes (the
 * bias-scale Mul of a QDQ model) and nodes that make no float tensor (int64 shape arithmetic) are
 * folded by the compiler and need no kernel; targets/native/compile.ts stays the final judge.
 *
 * @example
 * ```ts
 * import { checkNativeOps } from "./_support.ts";
 * const erf = { name: "e", opType: "Erf", domain: "", quantized: false, producesFloat: true, constant: false };
 * checkNativeOps([erf], new Set(["Conv"]), "cortex-m")[0]?.reason; // "no cortex-m kernel"
 * ```
 */
export function checkNativeOps(nodes: readonly NodeUse[], ops: ReadonlySet<string>, target: string): Unsupported[] {
  const bad: { node: NodeUse; reason: string }[] = [];
  for (const node of nodes) {
    const standard = node.domain === "" || node.domain === "ai.onnx";
    if (node.constant && standard) continue;
    if (!standard) bad.push({ node, reason: `no ${target} kernel` });
    else if (ops.has(node.opType)) {
      if (!node.quantized && node.producesFloat) {
        bad.push({ node, reason: "left in float; the native runtime runs quantized nodes only" });
      }
    } else if (node.producesFloat) bad.push({ node, reason: `no ${target} kernel` });
  }
  return groupByOp(bad);
}
