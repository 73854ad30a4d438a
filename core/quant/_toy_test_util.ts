// A small CNN built in code for the quantizer tests: Conv+Relu, MaxPool, Conv+Clip(0,6), a residual
// Add, GlobalAveragePool, Flatten, Gemm, plus int64 shape arithmetic that must stay untouched.
import type { Model } from "../onnx/ir.ts";
import { DataType, makeTensor } from "../onnx/tensor.ts";
import { floatInfo, makeModel, node, randomFloats, rng } from "../../tests/_ort_compare.ts";

export function toyModel(seed = 11): Model {
  const r = rng(seed);
  return makeModel(
    [
      node("Conv", ["x", "w1", "b1"], ["c1"], { pads: [1, 1, 1, 1] }, "conv1"),
      node("Relu", ["c1"], ["r1"], {}, "relu1"),
      node("MaxPool", ["r1"], ["p1"], { kernel_shape: [2, 2], strides: [2, 2] }, "pool1"),
      node("Conv", ["p1", "w2", "b2"], ["c2"], { pads: [1, 1, 1, 1], group: 4 }, "dwconv"),
      node("Clip", ["c2", "zero", "six"], ["r2"], {}, "relu6"),
      node("Add", ["r2", "p1"], ["a"], {}, "residual"),
      node("GlobalAveragePool", ["a"], ["g"], {}, "gap"),
      node("Shape", ["g"], ["gs"], {}, "shape"),
      node("Gather", ["gs", "idx0"], ["n"], { axis: 0 }, "gather"),
      node("Concat", ["n", "minus1"], ["newshape"], { axis: 0 }, "concat_shape"),
      node("Reshape", ["g", "newshape"], ["f"], {}, "reshape"),
      node("Gemm", ["f", "wfc", "bfc"], ["logits"], { transB: 1 }, "fc"),
    ],
    [
      randomFloats("w1", [4, 1, 3, 3], r),
      randomFloats("b1", [4], r, -0.1, 0.1),
      randomFloats("w2", [4, 1, 3, 3], r),
      randomFloats("b2", [4], r, -0.1, 0.1),
      makeTensor("zero", DataType.FLOAT, [], new Float32Array([0])),
      makeTensor("six", DataType.FLOAT, [], new Float32Array([6])),
      makeTensor("idx0", DataType.INT64, [1], new BigInt64Array([0n])),
      makeTensor("minus1", DataType.INT64, [1], new BigInt64Array([-1n])),
      randomFloats("wfc", [3, 4], r),
      randomFloats("bfc", [3], r, -0.1, 0.1),
    ],
    [floatInfo("x", ["N", 1, 8, 8])],
    [floatInfo("logits", ["N", 3])],
  );
}

export function toyBatch(seed: number, n: number): { x: { data: Float32Array; dims: number[] } } {
  const r = rng(seed);
  const data = new Float32Array(n * 64);
  for (let i = 0; i < data.length; i++) data[i] = r();
  return { x: { data, dims: [n, 1, 8, 8] } };
}
