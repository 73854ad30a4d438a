// The toy CNN of the quantizer tests, quantized, for the debug module's tests.
import { DEFAULT_QUANTIZE_OPTIONS, quantizeModel, type QuantizeResult } from "../pipeline.ts";
import type { BatchSource } from "../quant/calibrate.ts";
import { createOrtExecutor } from "../../targets/ort.ts";
import { toyBatch, toyModel } from "../quant/_toy_test_util.ts";

export const toySource = (batches: number, size: number, seed = 100): BatchSource =>
  async function* () {
    for (let i = 0; i < batches; i++) yield { feeds: toyBatch(seed + i, size), size };
  };

export async function quantizedToy(): Promise<QuantizeResult> {
  return await quantizeModel(toyModel(), toySource(4, 8), createOrtExecutor, {
    ...DEFAULT_QUANTIZE_OPTIONS,
    method: "MINMAX",
  });
}
