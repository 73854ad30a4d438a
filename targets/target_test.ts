// checkSupport on real quantizations of fmnist_resnet (features from the float model and options before
// calibration, and from the finished QDQ model), checked against what the native compiler really does.
import assert from "node:assert/strict";
import { decodeModel } from "../core/onnx/model.ts";
import type { Model } from "../core/onnx/ir.ts";
import { DEFAULT_QUANTIZE_OPTIONS, quantizeModel, type QuantizeOptions } from "../core/pipeline.ts";
import { createOrtExecutor } from "./ort.ts";
import { compileQdqModel, UnsupportedOpsError } from "./native/compile.ts";
import {
  assertSupported,
  featuresOfFloatModel,
  featuresOfQdqModel,
  type QuantFeatures,
  TARGETS,
  TargetSupportError,
} from "./mod.ts";
import { imageFolderSource } from "../cli/source.ts";
import { BENCH_MODELS } from "../bench/fixtures.ts";
import { floatInfo, makeModel, node, randomFloats, rng } from "../tests/_ort_compare.ts";

const RESNET = BENCH_MODELS.find((b) => b.name === "fmnist_resnet")!;
const NATIVE = ["armv7", "cortex-m"];
const ORT = ["host", "arm64"];

async function floatResnet(): Promise<Model> {
  return decodeModel(await Deno.readFile(RESNET.path), RESNET.path);
}

/** Quantizes fmnist_resnet on 16 calibration images; returns the features both ways and the QDQ model. */
async function quantize(overrides: Partial<QuantizeOptions>) {
  const options = { ...DEFAULT_QUANTIZE_OPTIONS, ...overrides };
  const float = await floatResnet();
  const before = featuresOfFloatModel(float, options);
  const calib = await imageFolderSource(RESNET.calib, RESNET.input, RESNET.spec, { batchSize: 8, limit: 16 });
  const result = await quantizeModel(float, calib.source, createOrtExecutor, options);
  return { before, after: featuresOfQdqModel(result.quantized), quantized: result.quantized };
}

/** Whether the native compiler takes the model; its refusal (whatever the error) is what checkSupport predicts. */
function nativeCompiles(model: Model, target: string): boolean {
  try {
    compileQdqModel(model, { target });
    return true;
  } catch (e) {
    if (e instanceof UnsupportedOpsError) return false;
    // int16 activations: a consumer of a tensor the compiler refused throws a plain Error ("reads … before it is computed").
    if (e instanceof Error && /before it is computed/.test(e.message)) return false;
    throw e;
  }
}

const schemeNames = (f: QuantFeatures) => [...f.schemes.keys()].sort();

Deno.test("default int8 quantization: every target runs it, and the native compiler agrees", async () => {
  const { before, after, quantized } = await quantize({});
  assert.deepEqual(schemeNames(before), ["activations-int8", "weights-per-channel"]);
  assert.deepEqual(schemeNames(after), ["activations-int8", "weights-per-channel"]);
  assert.equal(before.bits, 8);
  assert.equal(after.bits, undefined);
  assert.ok(before.nodes.every((n) => n.quantized), "every prepared node is quantized");
  for (const target of Object.values(TARGETS)) {
    assert.deepEqual(target.checkSupport(before), [], target.name);
    assert.deepEqual(target.checkSupport(after), [], target.name);
  }
  assert.ok(nativeCompiles(quantized, "host-native"));
  assert.ok(nativeCompiles(quantized, "cortex-m"));
});

Deno.test("asymmetric uint8 activations, asymmetric per-tensor weights, 6 bits: every target runs them", async () => {
  const { before, after, quantized } = await quantize({
    scheme: "asymmetric-uint8",
    weightScheme: "asymmetric",
    perChannel: false,
    bits: 6,
  });
  const expected = ["activations-uint8", "weights-asymmetric", "weights-per-tensor"];
  assert.deepEqual(schemeNames(before), expected);
  assert.deepEqual(schemeNames(after), expected);
  for (const target of Object.values(TARGETS)) assert.deepEqual(target.checkSupport(after), [], target.name);
  assert.ok(nativeCompiles(quantized, "cortex-m"));
});

Deno.test("int16 activations: ONNX Runtime targets run them; native targets refuse, as the compiler does", async () => {
  const add = "/blocks/blocks.0/Add";
  const { before, after, quantized } = await quantize({ int16: [add] });
  for (const features of [before, after]) {
    assert.ok(features.schemes.get("activations-int16")!.length >= 2);
    for (const name of ORT) assert.deepEqual(TARGETS[name]!.checkSupport(features), [], name);
    for (const name of NATIVE) {
      const lacks = TARGETS[name]!.checkSupport(features);
      assert.deepEqual(lacks.map((u) => [u.kind, u.what]), [["scheme", "int16 activations"]], name);
    }
  }
  assert.equal(nativeCompiles(quantized, "cortex-m"), false);
  assert.throws(
    () => assertSupported(TARGETS["cortex-m"]!, after),
    (e: unknown) =>
      e instanceof TargetSupportError && e.target === "cortex-m" &&
      /cortex-m target cannot run this model:\n {2}scheme int16 activations: .*\("\/stem\/stem\.2\/Relu_output_0"/.test(
        e.message,
      ),
  );
});

Deno.test("a Conv left in float: native targets refuse it by name, as the compiler does; ONNX Runtime runs it", async () => {
  const conv = "/blocks/blocks.1/body/body.0/Conv";
  const { before, after, quantized } = await quantize({ skip: [conv] });
  for (const features of [before, after]) {
    for (const name of ORT) assert.deepEqual(TARGETS[name]!.checkSupport(features), [], name);
    for (const name of NATIVE) {
      // The Relu fused after it runs in float too.
      const lacks = TARGETS[name]!.checkSupport(features);
      assert.deepEqual(lacks.map((u) => [u.what, u.where]), [
        ["Conv", [conv]],
        ["Relu", ["/blocks/blocks.1/body/body.2/Relu"]],
      ]);
      assert.ok(lacks.every((u) => /left in float/.test(u.reason)));
    }
  }
  assert.equal(nativeCompiles(quantized, "host-native"), false);
});

Deno.test("ops: Sin has no native kernel; a custom-domain op has no ONNX Runtime kernel; one error lists all", () => {
  const random = rng(7);
  const frob = { ...node("Frobnicate", ["p"], ["y"]), domain: "my.ops" };
  const model = makeModel(
    [node("Conv", ["x", "w"], ["c"]), node("Sin", ["c"], ["p"]), frob],
    [randomFloats("w", [4, 1, 3, 3], random)],
    [floatInfo("x", [1, 1, 8, 8])],
    [floatInfo("y", [1, 4, 6, 6])],
  );
  const features = featuresOfFloatModel(model, { ...DEFAULT_QUANTIZE_OPTIONS });
  for (const name of ORT) {
    assert.deepEqual(
      TARGETS[name]!.checkSupport(features).map((u) => [u.what, u.where]),
      [["my.ops.Frobnicate", ["y_node"]]],
    );
  }
  for (const name of NATIVE) {
    const lacks = TARGETS[name]!.checkSupport(features);
    assert.deepEqual(lacks.map((u) => [u.what, u.reason]), [
      ["Sin", `no ${name} kernel`],
      ["my.ops.Frobnicate", `no ${name} kernel`],
    ]);
    assert.throws(
      () => assertSupported(TARGETS[name]!, features),
      new RegExp(`op Sin: no ${name} kernel \\("p_node"\\)\\n {2}op my\\.ops\\.Frobnicate`),
    );
  }
});
