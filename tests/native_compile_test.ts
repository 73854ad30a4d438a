// The native compiler on models built in code, quantized by the real pipeline: the compiled program in
// the integer interpreter against ONNX Runtime running the same QDQ model; the unsupported-op error; the
// memory plan; the writer/reader round trip.
import assert from "node:assert/strict";
import type { Model } from "../core/onnx/ir.ts";
import { DataType, makeTensor } from "../core/onnx/tensor.ts";
import { encodeModel } from "../core/onnx/model.ts";
import { DEFAULT_QUANTIZE_OPTIONS, quantizeModel } from "../core/pipeline.ts";
import type { BatchSource } from "../core/quant/calibrate.ts";
import { toyModel } from "../core/quant/_toy_test_util.ts";
import { runProgram } from "../core/sim/interpreter.ts";
import { dequantizeOutput, quantizeInput } from "../core/sim/io.ts";
import { type Program, tensorBytes } from "../core/sim/program.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { compileQdqModel, UnsupportedOpsError } from "../targets/native/compile.ts";
import { readArtifact } from "../targets/native/reader.ts";
import { writeArtifact } from "../targets/native/writer.ts";
import { floatInfo, makeModel, node, randomFloats, rng } from "./_ort_compare.ts";

function source(dims: number[], seed: number, batches: number): BatchSource {
  return async function* () {
    const r = rng(seed);
    for (let b = 0; b < batches; b++) {
      const data = Float32Array.from({ length: dims.reduce((p, q) => p * q, 1) }, () => r() * 2 - 1);
      yield { feeds: { x: { data, dims } }, size: 1 };
    }
  };
}

/** Conv → Sigmoid, MaxPool, Concat of both, nearest Resize ×2, AveragePool, Mul by a constant, Transpose,
 * Reshape, MatMul with constant weights, Add with a broadcast constant. */
function wideModel(): Model {
  const r = rng(5);
  return makeModel(
    [
      node("Conv", ["x", "w1", "b1"], ["c1"], { pads: [1, 1, 1, 1], strides: [2, 2] }, "conv"),
      node("Sigmoid", ["c1"], ["s1"], {}, "sigmoid"),
      node("MaxPool", ["c1"], ["m1"], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] }, "maxpool"),
      node("Concat", ["s1", "m1"], ["cat"], { axis: 1 }, "concat"),
      node("Resize", ["cat", "", "scales"], ["up"], { mode: "nearest" }, "resize"),
      node("AveragePool", ["up"], ["avg"], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, "avgpool"),
      node("Mul", ["avg", "half"], ["scaled"], {}, "mul"),
      node("Transpose", ["scaled"], ["t"], { perm: [0, 1, 3, 2] }, "transpose"),
      node("Reshape", ["t", "flat"], ["r"], {}, "reshape"),
      node("MatMul", ["r", "wm"], ["mm"], {}, "matmul"),
      node("Add", ["mm", "bias"], ["y"], {}, "add"),
    ],
    [
      randomFloats("w1", [5, 3, 3, 3], r),
      randomFloats("b1", [5], r, -0.2, 0.2),
      makeTensor("scales", DataType.FLOAT, [4], new Float32Array([1, 1, 2, 2])),
      makeTensor("half", DataType.FLOAT, [1], new Float32Array([0.5])),
      makeTensor("flat", DataType.INT64, [2], new BigInt64Array([1n, -1n])),
      randomFloats("wm", [10 * 6 * 6, 7], r, -0.1, 0.1),
      randomFloats("bias", [7], r, -0.5, 0.5),
    ],
    [floatInfo("x", [1, 3, 6, 6])],
    [floatInfo("y", [1, 7])],
  );
}

async function compareWithOrt(
  model: Model,
  dims: number[],
): Promise<{ program: Program; cosine: number; maxSteps: number }> {
  const options = { ...DEFAULT_QUANTIZE_OPTIONS, method: "MINMAX" };
  const result = await quantizeModel(model, source(dims, 1, 16), createOrtExecutor, options);
  const program = compileQdqModel(result.quantized, { target: "host-native" });
  const qdq = await createOrtExecutor(result.quantizedBytes);
  const out = program.tensors[program.outputs[0]!]!;
  let dot = 0, na = 0, nb = 0, maxSteps = 0;
  try {
    for await (const batch of source(dims, 99, 8)()) {
      const x = batch.feeds.x!;
      const ort = (await qdq.run(batch.feeds, [out.name])).get(out.name)!.data;
      const sim = dequantizeOutput(
        runProgram(program, [quantizeInput(x.data, program.tensors[program.inputs[0]!]!)])[0]!,
        out,
      );
      for (let i = 0; i < ort.length; i++) {
        dot += ort[i]! * sim[i]!;
        na += ort[i]! ** 2;
        nb += sim[i]! ** 2;
        maxSteps = Math.max(maxSteps, Math.round(Math.abs(ort[i]! - sim[i]!) / out.scale[0]!));
      }
    }
  } finally {
    await qdq.release();
  }
  return { program, cosine: dot / Math.sqrt(na * nb), maxSteps };
}

Deno.test("a toy CNN with a torch-style Shape→Gather→Concat→Reshape compiles and follows ONNX Runtime's QDQ run", async () => {
  const { program, cosine, maxSteps } = await compareWithOrt(toyModel(), [1, 1, 8, 8]);
  assert.deepEqual(program.ops.map((o) => o.kind), [
    "Conv",
    "MaxPool",
    "Conv",
    "Add",
    "GlobalAveragePool",
    "Reshape",
    "FullyConnected",
  ]);
  assert.ok(cosine > 0.9999, `cosine ${cosine}`);
  assert.ok(maxSteps <= 1, `largest difference ${maxSteps} output steps`);
});

Deno.test("Sigmoid, Concat, Resize, AveragePool, Mul, Transpose, Reshape, MatMul, Add compile and follow ONNX Runtime", async () => {
  const { program, cosine, maxSteps } = await compareWithOrt(wideModel(), [1, 3, 6, 6]);
  const kinds = new Set(program.ops.map((o) => o.kind));
  for (
    const k of [
      "Lut",
      "MaxPool",
      "Concat",
      "Resize",
      "AveragePool",
      "Mul",
      "Transpose",
      "Reshape",
      "FullyConnected",
      "Add",
    ]
  ) {
    assert.ok(kinds.has(k as never), `no ${k} op in ${[...kinds]}`);
  }
  assert.ok(cosine > 0.999, `cosine ${cosine}`);
  assert.ok(maxSteps <= 2, `largest difference ${maxSteps} output steps`);
});

Deno.test("ops the target cannot run are one error listing every one of them", async () => {
  const r = rng(3);
  const model = makeModel(
    [
      node("Conv", ["x", "w"], ["c"], {}, "conv"),
      node("Pad", ["c", "pads"], ["p"], { mode: "reflect" }, "reflect_pad"),
      node("Softmax", ["p"], ["y"], { axis: 1 }, "softmax"),
    ],
    [
      randomFloats("w", [2, 1, 1, 1], r),
      makeTensor("pads", DataType.INT64, [8], new BigInt64Array([0n, 0n, 1n, 1n, 0n, 0n, 1n, 1n])),
    ],
    [floatInfo("x", [1, 1, 4, 4])],
    [floatInfo("y", [1, 2, 6, 6])],
  );
  const result = await quantizeModel(model, source([1, 1, 4, 4], 1, 4), createOrtExecutor, DEFAULT_QUANTIZE_OPTIONS);
  let e: UnsupportedOpsError | undefined;
  try {
    compileQdqModel(result.quantized, { target: "cortex-m" });
  } catch (error) {
    if (error instanceof UnsupportedOpsError) e = error;
  }
  assert.ok(e, "no UnsupportedOpsError");
  assert.match(e.message, /cortex-m target cannot run/);
  assert.match(e.message, /Pad "reflect_pad"/);
  assert.match(e.message, /Softmax "softmax"/);
  assert.deepEqual(new Set(e.nodes.map((n) => n.opType)), new Set(["Pad", "Softmax", "Output"]));
  assert.throws(
    () => compileQdqModel(result.quantized, { target: "gpu" }),
    /Unknown native target "gpu"; known: host-native, cortex-m/,
  );
});

/** x → Q → DQ → Softmax → Q → DQ → y, hand-made as other quantizers write it (ORT: output scale 1/256). */
function qdqSoftmaxModel(shape: number[], axis: number | undefined, opset: number, outType: "int8" | "uint8"): Model {
  const out = outType === "int8"
    ? makeTensor("zy", DataType.INT8, [], new Int8Array([-128]))
    : makeTensor("zy", DataType.UINT8, [], new Uint8Array([0]));
  return makeModel(
    [
      node("QuantizeLinear", ["x", "sx", "zx"], ["xq"], {}, "x_q"),
      node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"], {}, "x_dq"),
      node("Softmax", ["xd"], ["p"], axis === undefined ? {} : { axis }, "softmax"),
      node("QuantizeLinear", ["p", "sy", "zy"], ["pq"], {}, "p_q"),
      node("DequantizeLinear", ["pq", "sy", "zy"], ["y"], {}, "p_dq"),
    ],
    [
      makeTensor("sx", DataType.FLOAT, [], new Float32Array([0.07])),
      makeTensor("zx", DataType.INT8, [], new Int8Array([3])),
      makeTensor("sy", DataType.FLOAT, [], new Float32Array([1 / 256])),
      out,
    ],
    [floatInfo("x", shape)],
    [floatInfo("y", shape)],
    opset,
  );
}

for (
  const [shape, axis, opset, outType] of [
    [[2, 3, 10], -1, 13, "int8"],
    [[4, 7], undefined, 11, "uint8"],
    [[1, 1, 1, 5], 3, 13, "uint8"],
  ] as const
) {
  Deno.test(`QDQ Softmax [${shape}] axis ${axis ?? "default"} (opset ${opset}, ${outType}) lowers to the integer Softmax and follows ONNX Runtime and float within one step`, async () => {
    const model = qdqSoftmaxModel([...shape], axis, opset, outType);
    const program = compileQdqModel(model, { target: "cortex-m" });
    assert.deepEqual(program.ops.map((o) => o.kind), ["Softmax"]);
    const qdq = await createOrtExecutor(encodeModel(model));
    const out = program.tensors[program.outputs[0]!]!, row = shape[shape.length - 1]!;
    let maxOrt = 0, maxFloat = 0;
    try {
      for await (const batch of source([...shape], 7, 8)()) {
        const x = batch.feeds.x!;
        const scaled = Float32Array.from(x.data, (v) => v * 6); // logits in about ±6
        const ort = (await qdq.run({ x: { data: scaled, dims: x.dims } }, ["y"])).get("y")!.data;
        const xq = quantizeInput(scaled, program.tensors[program.inputs[0]!]!);
        const sim = dequantizeOutput(runProgram(program, [xq])[0]!, out);
        const xs = dequantizeOutput(xq, program.tensors[program.inputs[0]!]!);
        for (let start = 0; start < xs.length; start += row) {
          const slice = Array.from(xs.subarray(start, start + row));
          const top = Math.max(...slice);
          const sum = slice.reduce((a, v) => a + Math.exp(v - top), 0);
          slice.forEach((v, i) => {
            const f = Math.exp(v - top) / sum;
            maxFloat = Math.max(maxFloat, Math.abs(f - sim[start + i]!) / out.scale[0]!);
            maxOrt = Math.max(maxOrt, Math.abs(ort[start + i]! - sim[start + i]!) / out.scale[0]!);
          });
        }
      }
    } finally {
      await qdq.release();
    }
    assert.ok(maxFloat <= 1, `largest difference from float ${maxFloat} output steps`);
    assert.ok(Math.round(maxOrt) <= 1, `largest difference from ONNX Runtime ${maxOrt} output steps`);
  });
}

Deno.test("a Softmax over another axis than the last is refused with the reason", () => {
  let e: UnsupportedOpsError | undefined;
  try {
    compileQdqModel(qdqSoftmaxModel([2, 3, 4], 1, 13, "uint8"), { target: "host-native" });
  } catch (error) {
    if (error instanceof UnsupportedOpsError) e = error;
  }
  assert.ok(e, "no UnsupportedOpsError");
  assert.match(e.message, /Softmax "softmax": axis 1 of a 3-D input is not the last axis/);
});

Deno.test("the memory plan never overlaps two live tensors and reuses memory", async () => {
  const { program } = await compareWithOrt(toyModel(), [1, 1, 8, 8]);
  const life = new Map<number, [number, number]>();
  const touch = (t: number, at: number) => {
    if (program.tensors[t]!.data) return;
    const [a, b] = life.get(t) ?? [at, at];
    life.set(t, [Math.min(a, at), Math.max(b, at)]);
  };
  program.inputs.forEach((t) => touch(t, -1));
  program.ops.forEach((op, i) => [...op.inputs, ...op.outputs].forEach((t) => touch(t, i)));
  program.outputs.forEach((t) => touch(t, program.ops.length));
  const live = [...life];
  let total = 0;
  for (const [t, [a, b]] of live) {
    const ta = program.tensors[t]!;
    total += tensorBytes(ta);
    assert.equal(ta.arenaOffset! % 16, 0);
    assert.ok(ta.arenaOffset! + tensorBytes(ta) <= program.arenaSize);
    for (const [u, [c, d]] of live) {
      if (u <= t || b < c || d < a) continue;
      const tu = program.tensors[u]!;
      const apart = ta.arenaOffset! + tensorBytes(ta) <= tu.arenaOffset! ||
        tu.arenaOffset! + tensorBytes(tu) <= ta.arenaOffset!;
      assert.ok(apart, `"${ta.name}" and "${tu.name}" live together and overlap`);
    }
  }
  assert.ok(program.arenaSize < total, `arena ${program.arenaSize} vs ${total} bytes of activations`);
});

Deno.test("an artifact reads back to the program it was written from", async () => {
  const { program } = await compareWithOrt(toyModel(), [1, 1, 8, 8]);
  const back = readArtifact(writeArtifact(program));
  const plain = (p: Program) =>
    JSON.parse(JSON.stringify(p, (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as Uint8Array) : v)));
  const expected = plain(program);
  // float32 storage of scales
  for (const t of expected.tensors) t.scale = t.scale.map((s: number) => Math.fround(s));
  assert.deepEqual(plain(back), expected);
});
