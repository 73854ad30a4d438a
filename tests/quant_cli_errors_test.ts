// Bad input gets one clear error naming what is at fault, a non-zero exit, and no output file.
import assert from "node:assert/strict";
import sharp from "sharp";
import { listDir, runCli } from "./_cli.ts";

const PADDLE = "calib-data/models/ppocr_cls.onnx";
const PADDLE_ARGS = ["--input-shape", "1,3,48,192", "--mean", "0.5", "--std", "0.5", "--method", "minmax"];

async function expectFailure(args: string[], pattern: RegExp, outDir: string): Promise<void> {
  const r = await runCli("cli/quant.ts", args);
  assert.notEqual(r.code, 0, `expected failure, got success:\n${r.stdout}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `expected one error line, got:\n${r.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.deepEqual(await listDir(outDir), [], "no output file may be left behind");
}

Deno.test("quant CLI: bad inputs fail with one line naming the fault, and write nothing", async (t) => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/out`;
  const images = `${dir}/imgs`;
  await Deno.mkdir(images);
  for (let i = 0; i < 3; i++) {
    await sharp({ create: { width: 192, height: 48, channels: 3, background: { r: 200, g: 200, b: 200 } } })
      .png().toFile(`${images}/ok_${i}.png`);
  }
  try {
    await t.step("not an ONNX file", async () => {
      await Deno.writeTextFile(`${dir}/notes.onnx`, "this is not protobuf at all, just text\n");
      await expectFailure(
        ["--model", `${dir}/notes.onnx`, "--calib", images, "--out", `${out}/m.onnx`],
        /notes\.onnx is not (a valid )?(an )?ONNX model/,
        out,
      );
    });
    await t.step("truncated ONNX", async () => {
      const bytes = await Deno.readFile(PADDLE);
      await Deno.writeFile(`${dir}/cut.onnx`, bytes.subarray(0, Math.floor(bytes.length / 2)));
      await expectFailure(
        ["--model", `${dir}/cut.onnx`, "--calib", images, "--out", `${out}/m.onnx`, ...PADDLE_ARGS],
        /cut\.onnx is not a valid ONNX model \(truncated/,
        out,
      );
    });
    await t.step("model of 2 GiB or more (a sparse file: no disk used)", async () => {
      const big = await Deno.open(`${dir}/big.onnx`, { write: true, create: true });
      await big.truncate(2 ** 31 + 16);
      big.close();
      await expectFailure(
        ["--model", `${dir}/big.onnx`, "--calib", images, "--out", `${out}/m.onnx`],
        /big\.onnx is 2147483664 bytes; models of 2 GiB or more .* are out of scope/,
        out,
      );
      await Deno.remove(`${dir}/big.onnx`);
    });
    await t.step("model file missing", async () => {
      await expectFailure(
        ["--model", `${dir}/nope.onnx`, "--calib", images, "--out", `${out}/m.onnx`],
        /nope\.onnx/,
        out,
      );
    });
    await t.step("calibration folder missing", async () => {
      await expectFailure(
        ["--model", PADDLE, "--calib", `${dir}/missing`, "--out", `${out}/m.onnx`, ...PADDLE_ARGS],
        /Calibration folder not found: .*missing/,
        out,
      );
    });
    await t.step("calibration folder empty", async () => {
      await Deno.mkdir(`${dir}/empty`);
      await Deno.writeTextFile(`${dir}/empty/readme.txt`, "no images here");
      await expectFailure(
        ["--model", PADDLE, "--calib", `${dir}/empty`, "--out", `${out}/m.onnx`, ...PADDLE_ARGS],
        /No calibration images .* in .*empty/,
        out,
      );
    });
    await t.step("image of the wrong size for a fixed-shape input (--no-resize)", async () => {
      await sharp({ create: { width: 100, height: 48, channels: 3, background: "#808080" } }).png()
        .toFile(`${images}/wide.png`);
      await expectFailure(
        ["--model", PADDLE, "--calib", images, "--out", `${out}/m.onnx`, "--no-resize", ...PADDLE_ARGS],
        /wide\.png is 100×48 but the model input x needs 192×48/,
        out,
      );
      await Deno.remove(`${images}/wide.png`);
    });
    await t.step("image that cannot be decoded", async () => {
      await Deno.writeFile(`${images}/broken.png`, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
      await expectFailure(
        ["--model", PADDLE, "--calib", images, "--out", `${out}/m.onnx`, ...PADDLE_ARGS],
        /Cannot decode image .*broken\.png/,
        out,
      );
      await Deno.remove(`${images}/broken.png`);
    });
    await t.step("output path not writable (its folder is a file)", async () => {
      await Deno.writeTextFile(`${dir}/afile`, "x");
      const r = await runCli("cli/quant.ts", [
        "--model",
        PADDLE,
        "--calib",
        images,
        "--out",
        `${dir}/afile/m.onnx`,
        ...PADDLE_ARGS,
      ]);
      assert.equal(r.code, 1);
      assert.match(r.stderr.trim(), /^error: Cannot write .*afile\/m\.onnx: /);
      assert.equal(r.stderr.trim().split("\n").length, 1);
    });
    await t.step("dynamic input without --input-shape", async () => {
      await expectFailure(
        ["--model", PADDLE, "--calib", images, "--out", `${out}/m.onnx`],
        /Input "x" of .*ppocr_cls\.onnx has dynamic dimensions .* pass --input-shape/,
        out,
      );
    });
    await t.step("unknown flag and unknown method", async () => {
      const r = await runCli("cli/quant.ts", ["--modle", PADDLE]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /modle/);
      await expectFailure(
        ["--model", PADDLE, "--calib", images, "--out", `${out}/m.onnx`, ...PADDLE_ARGS, "--method", "median"],
        /Unknown calibration method "MEDIAN"/,
        out,
      );
    });
    await t.step("skip list naming an op that is not in the model", async () => {
      await expectFailure(
        ["--model", PADDLE, "--calib", images, "--out", `${out}/m.onnx`, ...PADDLE_ARGS, "--skip", "conv_99"],
        /Skip list names "conv_99"/,
        out,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
