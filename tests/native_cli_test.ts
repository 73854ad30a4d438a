// deno task quant --target host-native|cortex-m --out m.qm writes the native artifact; the C runtime
// loads it; a model with ops the target cannot run fails with the list of them.
import assert from "node:assert/strict";
import { runCli } from "./_cli.ts";
import { encodeModel } from "../core/onnx/model.ts";
import { readArtifact } from "../targets/native/reader.ts";
import { buildRuntime, RUNNER_STATUS, runRunner } from "../targets/native/runtime.ts";
import { floatInfo, makeModel, node, randomFloats, rng } from "./_ort_compare.ts";

const dir = await Deno.makeTempDir({ prefix: "native_cli_" });

Deno.test("--target cortex-m --out m.qm writes an artifact the runtime loads", async () => {
  const out = `${dir}/m.qm`;
  const r = await runCli("cli/quant.ts", [
    "--model",
    "calib-data/models/fmnist_resnet.onnx",
    "--calib",
    "calib-data/fmnist",
    "--limit",
    "32",
    "--target",
    "cortex-m",
    "--out",
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Native cortex-m artifact: \d+ ops, arena \d+ bytes/);
  const program = readArtifact(await Deno.readFile(out));
  assert.equal(program.target, "cortex-m");
  assert.deepEqual(program.tensors[program.inputs[0]!]!.shape, [1, 1, 28, 28]);
  const runner = await buildRuntime("host");
  const info = await runRunner("host", runner, [out, "--info"]);
  assert.equal(info.code, RUNNER_STATUS.ok, info.stderr);
  assert.match(info.stdout, /input input int8 \[1,1,28,28\]/);
  assert.match(info.stdout, /output logits int8 \[1,10\]/);
});

Deno.test("an unknown target is a usage error; unsupported ops are listed", async () => {
  const bad = await runCli("cli/quant.ts", ["--target", "tpu", "--out", `${dir}/x.qm`]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--target is one of host, arm64, armv7, cortex-m, host-native, got "tpu"/);
  const model = makeModel(
    [node("Conv", ["input", "w"], ["c"], {}, "conv"), node("Softmax", ["c"], ["y"], { axis: 1 }, "softmax")],
    [randomFloats("w", [3, 1, 3, 3], rng(1))],
    [floatInfo("input", [1, 1, 28, 28])],
    [floatInfo("y", [1, 3, 26, 26])],
  );
  await Deno.writeFile(`${dir}/softmax.onnx`, encodeModel(model));
  const r = await runCli("cli/quant.ts", [
    "--model",
    `${dir}/softmax.onnx`,
    "--calib",
    "calib-data/fmnist",
    "--limit",
    "8",
    "--target",
    "host-native",
    "--out",
    `${dir}/softmax.qm`,
  ]);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /host-native target cannot run .*\n.*Softmax "softmax"/);
  await assert.rejects(Deno.stat(`${dir}/softmax.qm`), Deno.errors.NotFound);
});

Deno.test("cleanup", async () => {
  await Deno.remove(dir, { recursive: true });
});
