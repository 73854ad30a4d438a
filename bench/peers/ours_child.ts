/**
 * Child process of the side-by-side bench: quantizes one model with this
 * project's pipeline from the bench's calibration tensors (.npy, batch 1),
 * writes the int8 model and a JSON result. Run alone under GNU time so its
 * wall time and peak RSS are measured exactly like the peers'.
 *
 *   deno run -A bench/peers/ours_child.ts <model.onnx> <calib.npy> <input> <method> <out.onnx> <result.json>
 *
 * @module
 */

import { decodeModel } from "../../core/onnx/model.ts";
import { DEFAULT_QUANTIZE_OPTIONS, quantizeModel } from "../../core/pipeline.ts";
import type { BatchSource } from "../../core/quant/calibrate.ts";
import { createOrtExecutor } from "../../targets/ort.ts";
import { decodeNpy } from "./npy.ts";

const [modelPath, calibPath, input, method, outPath, resultPath] = Deno.args;
if (!resultPath) {
  console.error("usage: ours_child.ts <model.onnx> <calib.npy> <input> <method> <out.onnx> <result.json>");
  Deno.exit(2);
}
const calib = decodeNpy(await Deno.readFile(calibPath!), calibPath!);
const [count, ...sampleDims] = calib.shape;
const per = sampleDims.reduce((a, b) => a * b, 1);
const source: BatchSource = async function* () {
  for (let i = 0; i < count!; i++) {
    yield {
      feeds: { [input!]: { data: calib.data.subarray(i * per, (i + 1) * per), dims: [1, ...sampleDims] } },
      size: 1,
    };
  }
};

const t0 = performance.now();
const model = decodeModel(await Deno.readFile(modelPath!), modelPath!);
const options = { ...DEFAULT_QUANTIZE_OPTIONS, method: method! };
const result = await quantizeModel(model, source, createOrtExecutor, options);
await Deno.writeFile(outPath!, result.quantizedBytes);
const seconds = (performance.now() - t0) / 1000;
await Deno.writeTextFile(
  resultPath!,
  JSON.stringify(
    {
      tool: "ours",
      method: options.method,
      calibrationSamples: result.calibrationSamples,
      calibrationPasses: result.calibrationPasses,
      calibrateSeconds: result.timings.calibrate / 1000,
      totalSeconds: seconds,
      threads: options.threads,
      settings: `DEFAULT_QUANTIZE_OPTIONS, method ${options.method}: ${options.scheme}, ` +
        `${
          options.perChannel ? "per-channel" : "per-tensor"
        } ${options.weightMethod} weights, clamp ${options.featureClamp}`,
    },
    null,
    2,
  ) + "\n",
);
