/**
 * `deno task calib-pack`: preprocessed calibration images → one BINARY file
 * (magic 610 or 510) for the no-training quantizer's `input_type: BINARY`, as
 * its bin_data_preprocessing.py does (seed 004).
 *
 * Preprocessing comes from flags — images read as BGR (the seed's default),
 * converted to `--format`, resized to `--width`×`--height` with OpenCV's
 * bilinear sampling, then `(image − mean) / std` on 0..255 values — or from
 * one input of a config file (`--config`, any dialect).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { isAbsolute, join } from "node:path";
import {
  COLOR_CHANNELS,
  finalColorOrder,
  fixedOutputSize,
  type ImagePipeline,
  type ImageStep,
} from "../core/config/mod.ts";
import type { ImageLayout } from "../core/preprocess.ts";
import { encodeBinFile } from "./binfile.ts";
import { runMain, UsageError } from "./errors.ts";
import { assertWritable, writeFileAtomic } from "./files.ts";
import { loadConfigFile } from "./config/load.ts";
import { imageFiles, imageSource } from "./config/samples.ts";
import { createProgress } from "./progress.ts";

const HELP = `Usage: deno task calib-pack --images DIR|LIST.txt --out FILE.bin [options]

Preprocesses calibration images into one BINARY file for the no-training quantizer (seed 004):
magic 610 (rank + dims + float32, the default) or 510 (N, C, H, W + float32).

  --images PATH         folder of images, or an ImageList.txt (one path per line)
  --out PATH            file to write
  --magic 610|510       header kind (default 610). 510 data is always N,C,H,W
  --width W --height H  size to resize to (bilinear, pixel centres aligned as OpenCV)
  --format BGR|RGB|GRAY channel order (default BGR, as the quantizer reads images)
  --mean a[,b,c]        per-channel mean on 0..255 (default 0)
  --std a[,b,c]         per-channel standard deviation (default 1): (image - mean) / std
  --layout NCHW|NHWC    610 only: sample layout (default NCHW)
  --config PATH         take the preprocessing of one image input of a config file instead
  --input NAME          which input of --config (default: its only image input)
  --limit N             only the first N images
  --quiet               print nothing but errors
  -h, --help            this text
`;

function numbers(flag: string, value: string | undefined, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  const list = value.split(",").map((v) => Number(v.trim()));
  if (list.some((v) => !Number.isFinite(v))) {
    throw new UsageError(`--${flag} takes comma-separated numbers, got "${value}"`);
  }
  return list;
}

function positive(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} takes a positive integer, got "${value}"`);
  return n;
}

/**
 * Runs calib-pack with the given arguments.
 *
 * @example
 * ```ts ignore
 * await calibPackMain(["--images", "imgs/", "--out", "calib.bin", "--width", "224", "--height", "224"]);
 * ```
 */
export async function calibPackMain(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      images: { type: "string" },
      out: { type: "string" },
      magic: { type: "string" },
      width: { type: "string" },
      height: { type: "string" },
      format: { type: "string" },
      mean: { type: "string" },
      std: { type: "string" },
      layout: { type: "string" },
      config: { type: "string" },
      input: { type: "string" },
      limit: { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (!values.out) throw new UsageError("--out FILE is required");
  const magic = Number(values.magic ?? 610);
  if (magic !== 610 && magic !== 510) throw new UsageError(`--magic is 610 or 510, got "${values.magic}"`);
  const layout = (values.layout ?? "NCHW").toUpperCase() as ImageLayout;
  if (layout !== "NCHW" && layout !== "NHWC") throw new UsageError(`--layout is NCHW or NHWC, got "${values.layout}"`);
  if (magic === 510 && layout === "NHWC") {
    throw new UsageError("510 files are N,C,H,W by definition; the quantizer transposes them for NHWC models");
  }
  let width = positive("width", values.width);
  let height = positive("height", values.height);
  let pipeline: ImagePipeline;
  let imagesPath = values.images;
  if (values.config) {
    const { config, dir } = await loadConfigFile(values.config);
    const candidates = config.inputs.filter((i) => i.image && (!values.input || i.name?.value === values.input));
    if (candidates.length !== 1) {
      throw new UsageError(
        `${values.config} has ${candidates.length} matching image inputs; ${
          values.input ? "check --input" : "name one with --input"
        }`,
      );
    }
    const input = candidates[0]!;
    pipeline = input.image!.pipeline;
    const size = input.image!.size?.value ?? fixedOutputSize(pipeline.steps);
    width ??= size?.width;
    height ??= size?.height;
    if (!imagesPath && input.source) {
      const p = input.source.path.value;
      imagesPath = isAbsolute(p) ? p : join(dir, p);
    }
  } else {
    const format = (values.format ?? "BGR").toUpperCase();
    if (format !== "BGR" && format !== "RGB" && format !== "GRAY") {
      throw new UsageError(`--format is BGR, RGB or GRAY, got "${values.format}"`);
    }
    const std = numbers("std", values.std, [1]);
    if (std.some((s) => !(s > 0))) throw new UsageError(`--std values must be > 0, got "${values.std}"`);
    const steps: ImageStep[] = [
      { op: "color", to: format },
      { op: "affine", mean: numbers("mean", values.mean, [0]), scale: std.map((s) => 1 / s) },
    ];
    pipeline = { steps, fit: "half-pixel" };
  }
  if (!imagesPath) throw new UsageError("--images PATH is required");
  if (!width || !height) throw new UsageError("--width and --height are required (the preprocessing fixes no size)");
  let order;
  try {
    order = finalColorOrder(pipeline.steps, "RGBA");
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const channels = COLOR_CHANNELS[order];

  await assertWritable(values.out);
  const all = await imageFiles(imagesPath);
  const limit = positive("limit", values.limit);
  const files = limit ? all.slice(0, limit) : all;
  const source = imageSource(files, pipeline, { width, height, channels }, magic === 510 ? "NCHW" : layout);
  const sampleSize = channels * width * height;
  const data = new Float32Array(files.length * sampleSize);
  const progress = values.quiet ? undefined : createProgress({ total: files.length, label: "packing" });
  for (let i = 0; i < files.length; i++) {
    data.set((await source.read(i)).data, i * sampleSize);
    progress?.update(0, 1, i + 1);
  }
  progress?.done();
  const dims = [files.length, ...source.sampleDims!];
  await writeFileAtomic(values.out, encodeBinFile(magic, dims, data));
  if (!values.quiet) console.log(`Wrote ${values.out}: magic ${magic}, dims [${dims.join(", ")}] (${order})`);
}

if (import.meta.main) await runMain(() => calibPackMain(Deno.args));
