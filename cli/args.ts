/**
 * Flag-value parsing shared by the commands.
 *
 * @module
 */

import { UsageError } from "./errors.ts";

/**
 * Parses a comma-separated list of numbers given to `--flag`; undefined when the flag is absent.
 *
 * @example
 * ```ts
 * import { numberList } from "./args.ts";
 * numberList("mean", "0.5,0.5,0.5"); // [0.5, 0.5, 0.5]
 * ```
 */
export function numberList(flag: string, value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const list = value.split(",").map((v) => Number(v.trim()));
  if (list.length === 0 || list.some((v) => !Number.isFinite(v))) {
    throw new UsageError(`--${flag} takes comma-separated numbers, got "${value}"`);
  }
  return list;
}
