/**
 * Output files are written atomically: to a temporary file in the same
 * folder, then renamed, so a failed run never leaves a partial file.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";

/** Thrown when an output path cannot be written; names the path. */
export class OutputError extends Error {
  override name = "OutputError";
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message.replace(/^.*?: /, "").replace(/, (open|rename|mkdir).*$/, "") : String(e);
}

/**
 * Checks early, before any long work, that `path` can be created: its folder
 * exists (or can be made) and accepts a file, and `path` is not a folder.
 *
 * @example
 * ```ts
 * import { assertWritable } from "./files.ts";
 * const dir = await Deno.makeTempDir();
 * await assertWritable(`${dir}/model.int8.onnx`);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function assertWritable(path: string): Promise<void> {
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) throw new OutputError(`Cannot write ${path}: it is a folder`);
  } catch (e) {
    if (e instanceof OutputError) throw e;
    if (!(e instanceof Deno.errors.NotFound)) throw new OutputError(`Cannot write ${path}: ${reason(e)}`);
  }
  const dir = dirname(path);
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = await Deno.makeTempFile({ dir, prefix: `.${basename(path)}.probe-` });
    await Deno.remove(probe);
  } catch (e) {
    throw new OutputError(`Cannot write ${path}: ${reason(e)}`);
  }
}

/**
 * Writes `data` to `path` through a temporary file and a rename.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./files.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.json`, "{}");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const dir = dirname(path);
  let tmp: string | undefined;
  try {
    await Deno.mkdir(dir, { recursive: true });
    tmp = await Deno.makeTempFile({ dir, prefix: `.${basename(path)}.tmp-` });
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
    tmp = undefined;
  } catch (e) {
    throw new OutputError(`Cannot write ${path}: ${reason(e)}`);
  } finally {
    if (tmp) await Deno.remove(tmp).catch(() => {});
  }
}

/**
 * The report path that goes with a model path: `m.int8.onnx` → `m.int8.report.json`.
 *
 * @example
 * ```ts
 * import { reportPathFor } from "./files.ts";
 * reportPathFor("out/m.int8.onnx"); // "out/m.int8.report.json"
 * ```
 */
export function reportPathFor(modelPath: string): string {
  const base = basename(modelPath).replace(/\.onnx$/i, "");
  return join(dirname(modelPath), `${base}.report.json`);
}
