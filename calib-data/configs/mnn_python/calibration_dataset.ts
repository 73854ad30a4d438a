/**
 * The TypeScript twin of MNN's calibration_dataset.py for calib-data/models/two_input.onnx: samples keyed by input
 * name, without a batch axis (the quant command stacks them by --batch). The values are those of
 * scripts/fixtures/make_two_input.py's sample_value(), so this module and the two 610 files in ../two_input/ hold
 * the same data.
 *
 * @module
 */

const SAMPLES = 8;

function sampleValue(which: "image" | "vector", sample: number, index: number): number {
  return which === "image" ? ((sample * 7 + index * 13) % 17) / 8 - 1 : ((sample * 5 + index * 3) % 11) / 8 - 0.5;
}

/** A generator function: each call starts from the first sample. */
export function* calibrationDataset(): Generator<Record<string, { data: Float32Array; dims: number[] }>> {
  for (let s = 0; s < SAMPLES; s++) {
    yield {
      image: { data: Float32Array.from({ length: 3 * 16 * 16 }, (_, i) => sampleValue("image", s, i)), dims: [3, 16, 16] },
      vector: { data: Float32Array.from({ length: 4 }, (_, i) => sampleValue("vector", s, i)), dims: [4] },
    };
  }
}
