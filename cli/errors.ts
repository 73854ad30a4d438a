/**
 * How the commands fail: one clear line on stderr naming what is at fault,
 * exit code 2 for wrong usage and 1 for everything else; a stack trace only
 * for bugs (errors that are not ours).
 *
 * @module
 */

import { DataError } from "./images.ts";
import { OutputError } from "./files.ts";
import { OnnxFormatError } from "../core/onnx/model.ts";
import { CalibrationError } from "../core/quant/calibrate.ts";
import { ConfigError } from "../core/config/errors.ts";
import { DeviceError } from "../devices/transport.ts";
import { TargetSupportError } from "../targets/target.ts";
import { UnsupportedOpsError } from "../targets/native/compile.ts";

/** Wrong flags or arguments. */
export class UsageError extends Error {
  override name = "UsageError";
}

const USER_ERRORS = [
  UsageError,
  DataError,
  OutputError,
  OnnxFormatError,
  CalibrationError,
  ConfigError,
  DeviceError,
  TargetSupportError,
  UnsupportedOpsError,
];

/**
 * Runs a command's main function and turns failures into one line and an exit code.
 *
 * @example
 * ```ts ignore
 * if (import.meta.main) await runMain(() => quantMain(Deno.args));
 * ```
 */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    const err = e as Error;
    const code = err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") ? 2 : 1;
    console.error(`error: ${err.message}`);
    // Our own error kinds are the whole story; anything else may be a bug worth a trace.
    if (!USER_ERRORS.some((k) => err instanceof k) && Deno.env.get("INT8_DEBUG")) console.error(err.stack);
    Deno.exit(code);
  }
}
