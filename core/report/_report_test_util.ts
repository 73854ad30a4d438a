// A small, valid debug report for the report module's tests.
import { rankTensors } from "./advice.ts";
import { DEBUG_REPORT_SCHEMA, type DebugReport, type TensorEntry } from "./schema.ts";

export function sampleTensor(index: number, overrides: Partial<TensorEntry> = {}): TensorEntry {
  return {
    index,
    tensor: `t${index}`,
    quantizedName: `t${index}`,
    op: "Conv",
    node: `conv${index}`,
    skip: [`conv${index}`],
    scale: 0.01,
    zeroPoint: 0,
    qmin: -127,
    qmax: 127,
    clipMin: -1.27,
    clipMax: 1.27,
    observedMin: 0,
    observedMax: 1.2,
    thresholdRatio: 1.27 / 1.2,
    cosine: 0.999,
    minCosine: 0.998,
    overflowRate: 0,
    euclidean: 0.97,
    sqnrDb: 35,
    saturationLow: 0,
    saturationHigh: 0,
    roundedToZero: 0.01,
    samples: 4,
    weightsPerChannel: true,
    sensitivity: {
      onlyThis: { cosine: 0.99999, top1Agreement: 1, accuracy: null },
      allButThis: { cosine: 0.999, top1Agreement: 1, accuracy: null },
    },
    advice: [],
    histogram: { min: 0, max: 1.2, counts: [5, 3, 0, 1] },
    scatter: { float: [0, 0.5, 1.2], quantized: [0, 0.5, 1.2] },
    ...overrides,
  };
}

export function sampleReport(tensors: TensorEntry[] = [0, 1, 2].map((i) => sampleTensor(i))): DebugReport {
  return {
    schema: DEBUG_REPORT_SCHEMA,
    model: "m.onnx",
    quantized: "m.int8.onnx",
    runtime: "test",
    data: { source: "imgs/", samples: 4, labelled: false },
    outputs: [{
      output: "logits",
      cosine: 0.999,
      top1Agreement: 1,
      floatAccuracy: null,
      int8Accuracy: null,
      samples: 4,
    }],
    tensors,
    ranking: rankTensors(tensors),
    sensitivity: {
      output: "logits",
      samples: 2,
      float: { cosine: 1, top1Agreement: 1, accuracy: null },
      allQuantized: { cosine: 0.999, top1Agreement: 1, accuracy: null },
      segments: 1,
      runs: 6,
    },
    unmatched: [],
    notes: ["a note"],
    timings: { statsMs: 1, sensitivityMs: 1, totalMs: 2 },
  };
}
