/**
 * Graph preparation before calibration: each pass is its own file and keeps
 * the float model's outputs unchanged. `prepareModel` runs them in order.
 *
 * @module
 */

import type { Model } from "../onnx/ir.ts";
import { constantsToInitializers } from "./constant_to_initializer.ts";
import { foldBatchNorms } from "./fold_batchnorm.ts";
import { type ActivationFusion, findActivationFusions } from "./fuse_activation.ts";
import { removeIdentities } from "./remove_identity.ts";
import { upgradeToQdqOpset } from "./upgrade_opset.ts";

export { constantsToInitializers } from "./constant_to_initializer.ts";
export { foldBatchNorms } from "./fold_batchnorm.ts";
export { type ActivationFusion, clipBounds, findActivationFusions } from "./fuse_activation.ts";
export { removeIdentities } from "./remove_identity.ts";
export { QDQ_OPSET, upgradeToQdqOpset } from "./upgrade_opset.ts";

/** What the preparation passes did, for the report. */
export interface PrepareReport {
  constantsConverted: number;
  identitiesRemoved: number;
  opsetBefore: number;
  batchNormsFolded: number;
  fusions: ActivationFusion[];
}

/**
 * Runs every preparation pass on the model, in place.
 *
 * @example
 * ```ts ignore
 * import { prepareModel } from "./mod.ts";
 * const report = prepareModel(model);
 * console.log(report.batchNormsFolded);
 * ```
 */
export function prepareModel(model: Model): PrepareReport {
  const graph = model.graph;
  const constantsConverted = constantsToInitializers(graph);
  const identitiesRemoved = removeIdentities(graph);
  const opsetBefore = upgradeToQdqOpset(model);
  const batchNormsFolded = foldBatchNorms(graph);
  graph.sortTopologically();
  const fusions = findActivationFusions(graph);
  return { constantsConverted, identitiesRemoved, opsetBefore, batchNormsFolded, fusions };
}
