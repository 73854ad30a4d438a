// Bad config input through `deno task quant --config`: one clear error line naming the file and the problem,
// a non-zero exit, and no output written.
import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeBinFile } from "../cli/binfile.ts";
import { listDir, runCli } from "./_cli.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const TWO_INPUT = join(ROOT, "calib-data/models/two_input.onnx");
const IMAGES = join(ROOT, "calib-data/configs/images");
const VECTOR = join(ROOT, "calib-data/configs/two_input/vector.bin");
const IMAGE_BIN = join(ROOT, "calib-data/configs/two_input/image.bin");

async function expectFailure(dir: string, config: string, text: string | undefined, pattern: RegExp): Promise<void> {
  const path = join(dir, config);
  if (text !== undefined) await Deno.writeTextFile(path, text);
  const out = join(dir, "out");
  const r = await runCli("cli/quant.ts", ["--config", path, "--model", TWO_INPUT, "--out", join(out, "m.onnx")]);
  assert.notEqual(r.code, 0, `expected failure, got success:\n${r.stdout}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `expected one error line, got:\n${r.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.deepEqual(await listDir(out), [], "no output file may be left behind");
}

const yaml = (image: string, vector = VECTOR) =>
  `inputs:\n  - name: image\n    tensors: ${image}\n  - name: vector\n    tensors: ${vector}\n`;

const prototxt = (imageBlock: string) =>
  `strategy: "Quant_INT8-8"\npreprocess_parameter {\n  input_type: IMAGE\n${imageBlock}  input_file_path: "${IMAGES}"\n}\n` +
  `preprocess_parameter {\n  input_type: BINARY\n  input_file_path: "${VECTOR}"\n}\n`;

Deno.test("quant --config: bad input fails with one line naming the file and the problem, and writes nothing", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "config_errors_" });
  try {
    const good = await Deno.readFile(IMAGE_BIN);
    await t.step("610 file with a wrong magic", async () => {
      const bad = good.slice();
      new DataView(bad.buffer).setInt32(0, 611, true);
      await Deno.writeFile(join(dir, "magic.bin"), bad);
      await expectFailure(dir, "q.yaml", yaml("magic.bin"), /error: .*magic\.bin has magic number 611, not 610 or 510/);
    });
    await t.step("610 file with truncated data", async () => {
      await Deno.writeFile(join(dir, "cut.bin"), good.subarray(0, good.length - 100));
      await expectFailure(
        dir,
        "q.yaml",
        yaml("cut.bin"),
        /error: .*cut\.bin is truncated: dims \[8, 3, 16, 16\] need 6144/,
      );
    });
    await t.step("610 dims not matching the model input", async () => {
      await Deno.writeFile(join(dir, "small.bin"), encodeBinFile(610, [8, 3, 8, 8], new Float32Array(8 * 3 * 64)));
      await expectFailure(
        dir,
        "q.yaml",
        yaml("small.bin"),
        /error: .*small\.bin \(BINARY 610, 8 samples of \[3, 8, 8\]\): samples are \[3, 8, 8\] but input "image" needs \[3, 16, 16\]/,
      );
    });
    await t.step("image that cannot be decoded", async () => {
      await Deno.mkdir(join(dir, "imgs"));
      await Deno.writeFile(join(dir, "imgs", "0_broken.png"), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
      await Deno.copyFile(join(IMAGES, "a_gradient.png"), join(dir, "imgs", "a.png"));
      await expectFailure(
        dir,
        "q.yaml",
        `inputs:\n  - images: imgs\n  - tensors: ${VECTOR}\ncalibration: { limit: 2 }\n`,
        /error: Cannot decode image .*0_broken\.png/,
      );
    });
    await t.step("mean_value count is not C", async () => {
      await expectFailure(
        dir,
        "config.prototxt",
        prototxt("  mean_value: 104\n  mean_value: 117\n"),
        /error: .*config\.prototxt line 5: preprocess_parameter\[0\]\.mean_value: has 2 values but the input's C is 3/,
      );
    });
    await t.step("negative standard_deviation", async () => {
      await expectFailure(
        dir,
        "config.prototxt",
        prototxt("  standard_deviation: -1\n"),
        /error: .*config\.prototxt line 4: preprocess_parameter\[0\]\.standard_deviation: must be ≥ 0, got -1/,
      );
    });
    await t.step("exclude_op naming an op that is not in the model", async () => {
      await expectFailure(
        dir,
        "config.prototxt",
        prototxt("") + 'exclude_op: "head.weight;conv99"\n',
        /error: .*config\.prototxt line 10: exclude_op: "conv99" is not a weight or an op of the model/,
      );
    });
    await t.step("YAML with a wrong type", async () => {
      await expectFailure(
        dir,
        "q.yaml",
        yaml(IMAGE_BIN) + "calibration:\n  batch_size: two\n",
        /error: .*q\.yaml line 7: calibration\.batch_size: expected a number, got "two"/,
      );
    });
    await t.step("prototxt syntax error, with its line", async () => {
      await expectFailure(
        dir,
        "config.prototxt",
        'strategy: "Quant_INT8-8"\npreprocess_parameter {\n  input_type: IMAGE\n  mean_value 104\n}\n',
        /error: .*config\.prototxt line 4: syntax error: expected ":" or "\{" after mean_value, got "104"/,
      );
    });
    await t.step("a config of no known dialect", async () => {
      await expectFailure(dir, "c.txt", "- just\n- a list\n", /error: .*c\.txt line 1: cannot tell the config dialect/);
    });
    await t.step("MNN json whose input count does not fit the model", async () => {
      await expectFailure(
        dir,
        "c.json",
        `{ "format": "RGB", "path": "${IMAGES}" }`,
        /error: .*c\.json line 1: the config describes 1 input but the model has 2 \(image, vector\)/,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("calib-pack writes a 610/510 file the BINARY path reads back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "calib_pack_" });
  try {
    const out = join(dir, "image.bin");
    const r = await runCli("cli/calib_pack.ts", [
      "--images",
      IMAGES,
      "--out",
      out,
      "--width",
      "16",
      "--height",
      "16",
      "--format",
      "RGB",
      "--mean",
      "123,117,104",
      "--std",
      "58",
      "--magic",
      "510",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /magic 510, dims \[8, 3, 16, 16\]/);
    const bytes = await Deno.readFile(out);
    assert.equal(new DataView(bytes.buffer).getInt32(0, true), 510);
    const q = await runCli("cli/quant.ts", [
      "--config",
      join(ROOT, "calib-data/configs/notrain/config.prototxt"),
      "--model",
      TWO_INPUT,
      "--out",
      join(dir, "m.onnx"),
      "--quiet",
    ]);
    assert.equal(q.code, 0, q.stderr);
    const bad = await runCli("cli/calib_pack.ts", [
      "--images",
      join(dir, "nope"),
      "--out",
      join(dir, "x.bin"),
      "--width",
      "4",
      "--height",
      "4",
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr.trim(), /^error: .*nope/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
