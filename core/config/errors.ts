/**
 * The one error kind of config parsing and mapping: the message names the
 * file, the line when known, and the key at fault.
 *
 * @module
 */

import type { Spot } from "./types.ts";

/**
 * A problem with a config file. `message` reads `file line N: key: problem` (or `file: key: problem`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfigError } from "./errors.ts";
 * const e = ConfigError.at("quant.yaml", { key: "inputs[0].layout", line: 4 }, 'expected NCHW or NHWC, got "NCWH"');
 * assert.equal(e.message, 'quant.yaml line 4: inputs[0].layout: expected NCHW or NHWC, got "NCWH"');
 * assert.equal(e.line, 4);
 * ```
 */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** The config file. */
  readonly file: string;
  /** 1-based line, when known. */
  readonly line: number | undefined;
  /** The key at fault, when there is one. */
  readonly key: string | undefined;

  /** Creates the error; prefer {@link ConfigError.at}. */
  constructor(file: string, line: number | undefined, key: string | undefined, problem: string) {
    const where = line === undefined ? file : `${file} line ${line}`;
    super(key === undefined || key === "" ? `${where}: ${problem}` : `${where}: ${key}: ${problem}`);
    this.file = file;
    this.line = line;
    this.key = key;
  }

  /** The error for a value written at `spot`. */
  static at(file: string, spot: Spot, problem: string): ConfigError {
    return new ConfigError(file, spot.line, spot.key, problem);
  }
}
