/**
 * The bench models and how each is fed and scored.
 *
 * @module
 */

import type { ImagePreprocess } from "../core/preprocess.ts";

/** Where Debian's dataset-fashion-mnist package puts the data. */
export const FMNIST_DIR = "/usr/share/datasets/fashion-mnist";

/** One bench model. */
export interface BenchModel {
  name: string;
  path: string;
  input: string;
  output: string;
  spec: ImagePreprocess;
  /** Calibration image folder. */
  calib: string;
  /** "fmnist-t10k": top-1 on the 10 000 test images; "folder": agreement/cosine on the calib folder. */
  evaluation: "fmnist-t10k" | "folder";
}

const FMNIST_SPEC: ImagePreprocess = { width: 28, height: 28, channels: 1, layout: "NCHW", mean: [0], std: [1] };

/** The fixture models, in bench order. */
export const BENCH_MODELS: BenchModel[] = [
  {
    name: "fmnist_resnet",
    path: "calib-data/models/fmnist_resnet.onnx",
    input: "input",
    output: "logits",
    spec: FMNIST_SPEC,
    calib: "calib-data/fmnist",
    evaluation: "fmnist-t10k",
  },
  {
    name: "fmnist_mobilenet",
    path: "calib-data/models/fmnist_mobilenet.onnx",
    input: "input",
    output: "logits",
    spec: FMNIST_SPEC,
    calib: "calib-data/fmnist",
    evaluation: "fmnist-t10k",
  },
  {
    name: "ppocr_cls",
    path: "calib-data/models/ppocr_cls.onnx",
    input: "x",
    output: "softmax_0.tmp_0",
    spec: { width: 192, height: 48, channels: 3, layout: "NCHW", mean: [0.5], std: [0.5] },
    calib: "calib-data/ocr-lines",
    evaluation: "folder",
  },
  {
    // torchvision's MobileNetV2 (width 0.5, 52 convs) at 32×32: scripts/fixtures/make_torchvision.py.
    // Calibration: the same 300 28×28 PNGs, stretched to 32×32 by the image reader (sharp fit "fill", lanczos3);
    // evaluation: the t10k images stretched the same way (bench/peers/data.ts t10kSource).
    name: "fmnist_mobilenetv2_tv",
    path: "calib-data/models/fmnist_mobilenetv2_tv.onnx",
    input: "input",
    output: "logits",
    spec: { ...FMNIST_SPEC, width: 32, height: 32 },
    calib: "calib-data/fmnist",
    evaluation: "fmnist-t10k",
  },
];
