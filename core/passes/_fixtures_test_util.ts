// Shared inputs for the pass tests: the real PaddleOCR classifier and a feed for it.
import { decodeModel } from "../onnx/model.ts";
import type { Model } from "../onnx/ir.ts";
import { rng } from "../../tests/_ort_compare.ts";

export const PADDLE_CLS = new URL("../../calib-data/models/ppocr_cls.onnx", import.meta.url);
export const PADDLE_OUT = "softmax_0.tmp_0";

export function loadPaddle(): { bytes: Uint8Array; model: Model } {
  const bytes = Deno.readFileSync(PADDLE_CLS);
  return { bytes, model: decodeModel(bytes, PADDLE_CLS.pathname) };
}

export function paddleFeed(seed = 1): Record<string, { data: Float32Array; dims: number[] }> {
  const r = rng(seed);
  const data = new Float32Array(2 * 3 * 48 * 192);
  for (let i = 0; i < data.length; i++) data[i] = r() * 2 - 1;
  return { x: { data, dims: [2, 3, 48, 192] } };
}
