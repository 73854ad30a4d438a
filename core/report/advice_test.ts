import assert from "node:assert/strict";
import { adviseTensor, rankTensors } from "./advice.ts";
import { sampleTensor } from "./_report_test_util.ts";

const context = { allQuantized: { cosine: 0.99, top1Agreement: 1, accuracy: null } };
const actions = (t: Parameters<typeof adviseTensor>[0]) => adviseTensor(t, context).map((a) => a.action);

Deno.test("adviseTensor: a healthy tensor gets no advice", () => {
  assert.deepEqual(actions(sampleTensor(0)), []);
});

Deno.test("adviseTensor: clipping → switch method (and raise a lowered clamp)", () => {
  const t = sampleTensor(0, { saturationHigh: 0.2, overflowRate: 0.21, cosine: 0.9, qmax: 100, qmin: -100 });
  const advice = adviseTensor(t, context);
  assert.deepEqual(advice.map((a) => a.action), ["switch-method"]);
  assert.match(
    advice[0]!.message,
    /20\.0 % of values are clipped .* --method MINMAX .* raise --feature-clamp from 100 to 127/,
  );
});

Deno.test("adviseTensor: only-this output drop → skip with the node name", () => {
  const t = sampleTensor(0, {
    node: "relu_7",
    skip: ["conv_7", "relu_7"],
    sensitivity: {
      onlyThis: { cosine: 0.995, top1Agreement: 1, accuracy: null }, // half of the whole model's 0.01 drop
      allButThis: { cosine: 0.998, top1Agreement: 1, accuracy: null },
    },
  });
  const advice = adviseTensor(t, context);
  assert.deepEqual(advice.map((a) => a.action), ["skip"]);
  assert.match(advice[0]!.message, /--skip conv_7,relu_7$/);
  // A drop that is a small share of the whole model's is not singled out.
  const small = sampleTensor(0, {
    sensitivity: {
      onlyThis: { cosine: 0.9995, top1Agreement: 1, accuracy: null },
      allButThis: t.sensitivity!.allButThis,
    },
  });
  assert.deepEqual(actions(small), []);
});

Deno.test("adviseTensor: low cosine without clipping → finer step, tighter range, per-channel weights", () => {
  assert.deepEqual(actions(sampleTensor(0, { cosine: 0.95, roundedToZero: 0.4 })), ["more-bits"]);
  assert.deepEqual(actions(sampleTensor(0, { cosine: 0.95, thresholdRatio: 5 })), ["switch-method"]);
  assert.deepEqual(actions(sampleTensor(0, { cosine: 0.95, weightsPerChannel: false })), ["per-channel"]);
  assert.deepEqual(actions(sampleTensor(0, { op: "input", sqnrDb: 10 })), ["check-input"]);
});

Deno.test("rankTensors: by the only-this output drop when known, else by cosine", () => {
  const only = (cosine: number) => ({
    onlyThis: { cosine, top1Agreement: 1, accuracy: null },
    allButThis: { cosine: 1, top1Agreement: 1, accuracy: null },
  });
  const tensors = [
    { index: 0, cosine: 0.9, sensitivity: only(0.9999) }, // worst cosine, but harmless alone
    { index: 1, cosine: 0.99, sensitivity: only(0.99) },
    { index: 2, cosine: 0.999, sensitivity: only(0.999) },
  ];
  assert.deepEqual(rankTensors(tensors), { by: "sensitivity", order: [1, 2, 0] });
  assert.deepEqual(rankTensors(tensors.map((t) => ({ ...t, sensitivity: null }))), { by: "cosine", order: [0, 1, 2] });
});
