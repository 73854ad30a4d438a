/**
 * Starts calibration workers for the host pipeline: Deno Workers running core's
 * `_calibration_worker_main.ts` (starting one reads that module, which is why core leaves it to
 * the CLI). Pass it to `quantizeModel` as `{ spawnCalibrationWorker }`.
 *
 * @module
 */

import { CALIBRATION_WORKER_MODULE, type CalibrationWorker } from "../core/quant/calibration_workers.ts";

/**
 * A new calibration worker (a module Worker with the parent's permissions).
 *
 * @example
 * ```ts ignore
 * import { spawnCalibrationWorker } from "./calibration_worker.ts";
 * const result = await quantizeModel(model, source, createOrtExecutor, options, undefined, { spawnCalibrationWorker });
 * ```
 */
export function spawnCalibrationWorker(): CalibrationWorker {
  return new Worker(CALIBRATION_WORKER_MODULE, { type: "module" });
}
