/**
 * Decodes an image file to 8-bit RGBA, upright, as MNN reads every image
 * (`stbi_load(…, 4)`), for the config preprocessing steps to convert from.
 *
 * PNG, JPEG, WebP and TIFF go through sharp (EXIF orientation applied, gray
 * replicated, CMYK converted to sRGB, 16-bit scaled to 8-bit); BMP/DIB and
 * Netpbm through the small decoders beside the image reader, chosen by the
 * file's first bytes.
 *
 * @module
 */

import sharp from "sharp";
import type { RawImage } from "../../core/preprocess.ts";
import { decodeBmp, isBmp } from "../bmp.ts";
import { DataError } from "../images.ts";
import { decodePnm, isPnm } from "../pnm.ts";

/**
 * Reads and decodes one image to RGBA; a file that cannot be read or decoded is a {@link DataError} naming it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import sharp from "sharp";
 * import { decodeImageRgba } from "./decode.ts";
 * const path = await Deno.makeTempFile({ suffix: ".png" });
 * await sharp(new Uint8Array([64, 64]), { raw: { width: 2, height: 1, channels: 1 } }).png().toFile(path);
 * const image = await decodeImageRgba(path);
 * assert.deepEqual(Array.from(image.data), [64, 64, 64, 255, 64, 64, 64, 255]);
 * await Deno.remove(path);
 * ```
 */
export async function decodeImageRgba(path: string): Promise<RawImage> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new DataError(`Cannot read image ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  try {
    let pipeline: sharp.Sharp;
    if (isBmp(bytes) || isPnm(bytes)) {
      const raw = isBmp(bytes) ? decodeBmp(bytes) : decodePnm(bytes);
      pipeline = sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels as 1 | 3 } });
    } else {
      pipeline = sharp(bytes).autoOrient();
    }
    const { data, info } = await pipeline.toColourspace("srgb").ensureAlpha().raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 4) throw new Error(`decoded to ${info.channels} channels, not RGBA`);
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
      channels: 4,
    };
  } catch (e) {
    throw new DataError(`Cannot decode image ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
