/**
 * Reads a config file of any dialect; paths inside it resolve relative to
 * the file's folder.
 *
 * @module
 */

import { dirname } from "node:path";
import { parseConfig, type QuantConfig } from "../../core/config/mod.ts";
import { DataError } from "../images.ts";

/**
 * A config read from disk, with the folder its relative paths start from.
 *
 * @example
 * ```ts ignore
 * import type { LoadedConfig } from "./load.ts";
 * const { config, dir }: LoadedConfig = await loadConfigFile("calib/quant.yaml"); // dir: "calib"
 * ```
 */
export interface LoadedConfig {
  readonly config: QuantConfig;
  readonly dir: string;
}

/**
 * Reads and parses `path`; a missing or unreadable file is a {@link DataError}, a bad config a
 * `ConfigError` naming the line and key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadConfigFile } from "./load.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/q.yaml`, "inputs:\n  - tensors: data.npy\n");
 * const { config, dir: base } = await loadConfigFile(`${dir}/q.yaml`);
 * assert.equal(config.dialect, "quant-yaml");
 * assert.equal(base, dir);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadConfigFile(path: string): Promise<LoadedConfig> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new DataError(`Config file not found: ${path}`);
    if (e instanceof Deno.errors.IsADirectory) throw new DataError(`Config path is a folder: ${path}`);
    throw new DataError(`Cannot read config ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new DataError(`${path} is not a text file (invalid UTF-8); expected a config file`);
  }
  return { config: parseConfig(text, path), dir: dirname(path) };
}
